"""A small client for the Edge Impulse Studio API (the parts Anomaly Lens needs).

Own client rather than the official `edgeimpulse-api` package: that one fails to parse any
threshold value and so crashes on every metadata answer with a non-empty `thresholds` list.

The client forms requests (method, path, query, JSON body, the `x-api-key` header) and decodes the
answers (status codes to `ApiError`s, `success: false`, non-JSON, the size bound); a `Transport`
(`ei_anomaly.transport`) carries each attempt: `HttpTransport` by default, the local API's
in-memory one in tests. Retries live here, over any transport: 429 and 5xx answers and failed
connections are retried with exponential backoff (or the answer's Retry-After), all within one
wall-clock deadline per call; the transport keeps that deadline inside each attempt. The API key is
sent only in the `x-api-key` header, never on a redirect, and is scrubbed from every error message
(plain, URL-encoded or JSON-escaped).
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .constants import DEFAULT_BASE_URL, MAX_RESPONSE_BYTES
from .errors import ApiError, AuthError, NotFoundError, UsageError
from .redact import redact, url_without_credentials
from .transport import (
    AnswerTooLargeError,
    DeadlineError,
    HttpTransport,
    NoAnswerError,
    Request,
    Response,
    Transport,
)

__all__ = [
    "ANOMALY_BLOCK_TYPES",
    "FLOAT32_MODEL_DOWNLOAD_ID",
    "RETRY_STATUSES",
    "EdgeImpulseClient",
    "LearnBlock",
    "ThresholdsSaved",
    "header_safe",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ANOMALY_BLOCK_TYPES = ("anomaly", "anomaly-gmm")  # K-means, GMM (`LearnBlockType` in the API models)
FLOAT32_MODEL_DOWNLOAD_ID = "tflite-float"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnBlock:
    id: int
    name: str
    title: str
    type: str


REGENERATION_WORDS = {
    "not_regenerated": "Model-testing results were not regenerated (there were none, or this kind of test set "
    "cannot be regenerated quickly); run Model testing again in Studio.",
    "regenerated": "Studio regenerated the model-testing results with the new threshold.",
    "started_job": "Studio started a job to regenerate the model-testing results",
    "requires_job": "Model-testing results are out of date and need a job to regenerate them; start it in Studio "
    "(Model testing), or save again allowing Studio to start it.",
}


@dataclass(frozen=True)
class ThresholdsSaved:
    """What `set-thresholds` answered (official model `SetImpulseThresholdsResponse`)."""

    had_model_testing_results: bool
    regenerate_model_testing_status: str
    regenerate_job_id: int | None = None

    def describe(self) -> str:
        """The regeneration status in words."""
        words = REGENERATION_WORDS.get(
            self.regenerate_model_testing_status,
            f"Model-testing regeneration status: {self.regenerate_model_testing_status}.",
        )
        if self.regenerate_job_id is not None:
            words += f" (job {self.regenerate_job_id})."
        elif self.regenerate_model_testing_status == "started_job":
            words += "."
        return words


def header_safe(key: str) -> bool:
    """Whether `key` can travel in the `x-api-key` header as it is: ASCII text (non-Latin-1 text
    cannot be encoded at all), no control characters (a line break would start a new header)."""
    return bool(key) and key.isascii() and key.isprintable()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class EdgeImpulseClient:
    """Projects, impulses, anomaly blocks and model-testing results; writes only thresholds."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        transport: Transport | None = None,
        *,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 20.0,
        deadline: float = 60.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`transport` carries each attempt (default: a new `HttpTransport`). `timeout` bounds each
        connect/read; `deadline` bounds a whole call (retries, waits and a slowly trickled answer
        included); `max_bytes` bounds the (decoded) size of one answer. `clock` (seconds, monotonic)
        and `sleep` time the retries: a test can pass a fake pair so that no retry really waits."""
        if not api_key or not api_key.strip():
            raise AuthError("no API key: enter one in the sidebar, st.secrets or EI_API_KEY")
        if not header_safe(api_key.strip()):
            raise UsageError(
                "the API key has characters an HTTP header cannot carry (a key is ASCII text without control "
                "characters): copy it again from Studio (Dashboard > Keys)"
            )
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(f"the base URL must look like {DEFAULT_BASE_URL}")
        self._key = api_key.strip()
        self.base_url = base_url.strip().rstrip("/")
        self.timeout, self.max_retries, self.backoff, self.max_wait = timeout, max_retries, backoff, max_wait
        self.deadline, self.max_bytes = deadline, max_bytes
        self._transport: Transport = transport if transport is not None else HttpTransport()
        self._clock, self._sleep = clock, sleep

    def __repr__(self) -> str:
        return f"EdgeImpulseClient(base_url={url_without_credentials(self.base_url)!r}, api_key='***')"

    def _scrub(self, text: str) -> str:
        """The text with the key replaced in every spelling an echo could use."""
        return redact(text, (self._key,))

    def _request(
        self, method: str, path: str, params: dict[str, Any] | None = None, json_body: Any = None
    ) -> dict[str, Any]:
        return self._decode(self._exchange(method, path, params, json_body), path)

    def _form(self, method: str, path: str, params: dict[str, Any] | None, json_body: Any) -> Request:
        """The request as it travels: the key in its header only, the query encoded, the body JSON."""
        query = f"?{urlencode(params, doseq=True)}" if params else ""
        headers = {"x-api-key": self._key, "Accept": "application/json"}
        body = None
        if json_body is not None:
            try:
                body = json.dumps(json_body, allow_nan=False).encode()
            except ValueError:
                raise UsageError("the request holds a number JSON cannot carry (NaN or infinity)") from None
            headers["Content-Type"] = "application/json"
        return Request(method, f"{self.base_url}{path}{query}", headers, body, max_bytes=self.max_bytes)

    def _too_big(self, status: int) -> ApiError:
        return ApiError(f"the answer is larger than {self.max_bytes / 2**20:g} MiB; refusing to read it", status)

    def _exchange(
        self, method: str, path: str, params: dict[str, Any] | None = None, json_body: Any = None
    ) -> Response:
        """The answer to one call: attempts through the transport, retried (429, 5xx, no answer)
        with backoff or Retry-After until `max_retries` or the call's deadline."""
        request = self._form(method, path, params, json_body)
        host = urlsplit(url_without_credentials(self.base_url)).netloc
        give_up_at = self._clock() + self.deadline
        timed_out = ApiError(f"{host} did not answer within {self.deadline:g} s; check the network and base URL")
        attempt = 0
        while True:
            attempt += 1
            left = give_up_at - self._clock()
            if left <= 0:
                raise timed_out
            retry = attempt <= self.max_retries  # whether a failure of this attempt may be retried
            try:
                resp = self._transport.handle_request(
                    replace(
                        request,
                        timeout=min(self.timeout, left),
                        deadline=left,
                        skip_body_on=RETRY_STATUSES if retry else frozenset(),
                    )
                )
            except DeadlineError:
                raise timed_out from None
            except AnswerTooLargeError as exc:
                raise self._too_big(exc.status) from None
            except NoAnswerError as exc:
                if self._clock() >= give_up_at:
                    raise timed_out from None
                if not retry:
                    kind = "timed out" if exc.timed_out else "could not connect"
                    raise ApiError(
                        f"{kind} to {host} after {attempt} attempts; check the network and base URL"
                    ) from None
                self._wait(attempt, None, str(exc), give_up_at, timed_out)
                continue
            if 300 <= resp.status < 400:
                raise ApiError(
                    f"{host} answered with a redirect (HTTP {resp.status}); the key is never "
                    "sent on to another address. Check the base URL (it should end in /v1)",
                    resp.status,
                )
            if retry and resp.status in RETRY_STATUSES:
                retry_after = _retry_after_seconds(resp.header("Retry-After"))
                self._wait(attempt, retry_after, f"HTTP {resp.status}", give_up_at, timed_out)
                continue
            if len(resp.body) > self.max_bytes:  # whatever the transport, the bound holds
                raise self._too_big(resp.status)
            return resp

    def _wait(self, attempt: int, retry_after: float | None, why: str, give_up_at: float, timed_out: ApiError) -> None:
        delay = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        delay = min(delay, self.max_wait)
        if self._clock() + delay >= give_up_at:
            raise timed_out
        log.info("Edge Impulse API: %s, retrying in %.1f s", why, delay)
        self._sleep(delay)

    def _decode(self, resp: Response, path: str) -> dict[str, Any]:
        status = resp.status
        try:
            body = json.loads(resp.body)
        except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, nesting past ~1,000 levels
            body = None
        error = self._scrub(str(body.get("error"))) if isinstance(body, dict) and body.get("error") else None
        if status in (401, 403):
            raise AuthError(
                f"the API key was rejected (HTTP {status}{': ' + error if error else ''}); "
                "check it in Studio under Dashboard > Keys",
                status,
            )
        if status == 404:
            raise NotFoundError(
                f"not found (HTTP 404{': ' + error if error else ''}); check the project and block IDs", status
            )
        if status == 429:
            raise ApiError("rate limited (HTTP 429) even after retries; wait a minute and refresh", status)
        if status >= 400:
            raise ApiError(f"the server answered HTTP {status}{': ' + error if error else ''}; try again later", status)
        if not isinstance(body, dict):
            ctype = self._scrub(resp.header("Content-Type") or "unknown type")[:100]
            raise ApiError(f"the answer to {path} was not JSON ({ctype}); is the base URL right?", status)
        if body.get("success") is False:
            raise ApiError(f"{error or 'the request failed without a reason'}", status)
        return body

    def list_projects(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/api/projects").get("projects") or [])

    def list_anomaly_blocks(self, project_id: int) -> list[LearnBlock]:
        """The project's anomaly learn blocks, K-means (`anomaly`) and GMM (`anomaly-gmm`); `type` says which."""
        impulse = self._request("GET", f"/api/{int(project_id)}/impulse").get("impulse") or {}
        blocks = []
        for b in impulse.get("learnBlocks") or []:
            if isinstance(b, dict) and b.get("type") in ANOMALY_BLOCK_TYPES and isinstance(b.get("id"), int):
                blocks.append(LearnBlock(b["id"], str(b.get("name", "")), str(b.get("title", "")), str(b["type"])))
        return blocks

    def get_gmm_metadata(self, project_id: int, learn_id: int) -> dict[str, Any]:
        """A GMM block's mixture (`AnomalyGmmMetadataResponse`: means, covariances, weights)."""
        return self._request("GET", f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}/gmm/metadata")

    def list_downloads(self, project_id: int) -> list[dict[str, Any]]:
        """The project's downloads (`ProjectDownloadsResponse`: id, name, type, link, ...)."""
        downloads = self._request("GET", f"/api/{int(project_id)}/downloads").get("downloads")
        return [d for d in downloads or [] if isinstance(d, dict)]

    def float32_model_download_id(self, project_id: int, learn_id: int) -> str:
        """The download id of the block's float32 TFLite file: the `downloads` entry under
        `learn-data/{learnId}/model/` that says float32, else `tflite-float` (see docs/gmm.md)."""
        prefix = f"/learn-data/{int(learn_id)}/model/"
        for d in self.list_downloads(project_id):
            link, words = str(d.get("link", "")), f"{d.get('name', '')} {d.get('type', '')}".lower()
            if prefix in link and "float32" in words and ("tflite" in words or "tensorflow lite" in words):
                return link.rsplit("/", 1)[-1].split("?")[0]
        return FLOAT32_MODEL_DOWNLOAD_ID

    def download_learn_model(self, project_id: int, learn_id: int, download_id: str) -> bytes:
        """A learn block's model file, as downloaded (`GET /api/{projectId}/learn-data/{learnId}/model/{id}`)."""
        path = f"/api/{int(project_id)}/learn-data/{int(learn_id)}/model/{quote(download_id, safe='')}"
        resp = self._exchange("GET", path)
        if resp.status >= 300 or resp.body[:1] == b"{":  # an error answer: JSON, decoded to its message
            self._decode(resp, path)
            raise ApiError(f"the answer to {path} was JSON, not a model file", resp.status)
        return resp.body

    def get_dsp_config(self, project_id: int, dsp_id: int) -> dict[str, Any]:
        """A DSP block's config (`DSPConfigResponse`): `dsp.normalizeData` says whether Studio
        standardises its output (`none` or `normalize-channel-standard-scaler`)."""
        return self._request("GET", f"/api/{int(project_id)}/dsp/{int(dsp_id)}")

    def learn_block_dsp_ids(self, project_id: int, learn_id: int) -> list[int]:
        """The DSP blocks feeding a learn block (`impulse.learnBlocks[].dsp`), in order."""
        impulse = self._request("GET", f"/api/{int(project_id)}/impulse").get("impulse") or {}
        for b in impulse.get("learnBlocks") or []:
            if isinstance(b, dict) and b.get("id") == int(learn_id):
                return [i for i in b.get("dsp") or [] if isinstance(i, int) and not isinstance(i, bool)]
        return []

    def get_anomaly_config(self, project_id: int, learn_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}")

    def get_metadata(self, project_id: int, learn_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}/metadata")

    def get_trained_features(self, project_id: int, learn_id: int, ax1: int, ax2: int) -> dict[str, Any]:
        return self._request(
            "GET",
            f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}/features/get-graph",
            params={"featureAx1": int(ax1), "featureAx2": int(ax2)},
        )

    def list_impulses(self, project_id: int) -> list[dict[str, Any]]:
        """Every impulse of the project (`GET /api/{projectId}/impulses`), each with `id` and `learnBlocks`."""
        impulses = self._request("GET", f"/api/{int(project_id)}/impulses").get("impulses")
        return [i for i in impulses or [] if isinstance(i, dict)]

    def find_impulse_for_block(self, project_id: int, learn_id: int) -> int:
        """The id of the impulse whose learn blocks hold `learn_id` (set-thresholds needs it)."""
        for impulse in self.list_impulses(project_id):
            blocks = impulse.get("learnBlocks") or []
            if any(isinstance(b, dict) and b.get("id") == int(learn_id) for b in blocks):
                impulse_id = impulse.get("id")
                if isinstance(impulse_id, int) and not isinstance(impulse_id, bool):
                    return impulse_id
        raise NotFoundError(f"no impulse of project {int(project_id)} holds learn block {int(learn_id)}")

    def set_thresholds(
        self,
        project_id: int,
        impulse_id: int,
        thresholds: list[tuple[int, str, float | str]],
        allow_regenerate: bool,
    ) -> ThresholdsSaved:
        """Write (learnId, key, value) thresholds. Needs an admin key: 401/403 raise AuthError saying so."""
        body = {
            "thresholds": [{"blockId": int(b), "key": str(k), "value": v} for b, k, v in thresholds],
            "allowCreatingRegenerateModelTestingJobs": bool(allow_regenerate),
        }
        path = f"/api/{int(project_id)}/impulse/{int(impulse_id)}/set-thresholds"
        try:
            answer = self._request("POST", path, json_body=body)
        except AuthError as exc:
            raise AuthError(
                f"this key may not change thresholds (HTTP {exc.status}): writing needs an admin key "
                "(Studio: Dashboard > Keys); nothing was changed",
                exc.status,
            ) from None
        status = answer.get("regenerateModelTestingStatus")
        job = answer.get("regenerateModelTestingResultsJobId")
        return ThresholdsSaved(
            bool(answer.get("hadModelTestingResults")),
            str(status) if status else "not_regenerated",
            job if isinstance(job, int) and not isinstance(job, bool) else None,
        )

    def get_model_testing_results(self, project_id: int, impulse_id: int | None = None) -> dict[str, Any]:
        """Studio's model-testing results (`ClassifyJobResponse`); see `ei_anomaly.model_testing`."""
        params = {"impulseId": int(impulse_id)} if impulse_id is not None else None
        return self._request("GET", f"/api/{int(project_id)}/classify/all/result", params=params)
