"""A small `requests` client for the Edge Impulse Studio API (the parts Anomaly Lens needs).

Own client rather than the official `edgeimpulse-api` package: that one fails to parse any
threshold value and so crashes on every metadata answer with a non-empty `thresholds` list.
The API key is sent only in the `x-api-key` header and is scrubbed from every error message.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from .constants import DEFAULT_BASE_URL
from .errors import ApiError, AuthError, MetadataError, NotFoundError
from .metadata import feature_names_from_config, parse_metadata
from .model import AnomalyModel

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnBlock:
    id: int
    name: str
    title: str
    type: str


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
    """Read-only access to projects, impulses and anomaly blocks."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 15.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 20.0,
    ) -> None:
        if not api_key or not api_key.strip():
            raise AuthError("no API key: enter one in the sidebar, st.secrets or EI_API_KEY")
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(f"the base URL must look like {DEFAULT_BASE_URL}")
        self._key = api_key.strip()
        self.base_url = base_url.strip().rstrip("/")
        self.timeout, self.max_retries, self.backoff, self.max_wait = timeout, max_retries, backoff, max_wait
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"EdgeImpulseClient(base_url={self.base_url!r}, api_key='***')"

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        host = urlsplit(url).netloc
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._session.request(
                    method,
                    url,
                    headers={"x-api-key": self._key, "Accept": "application/json"},
                    timeout=self.timeout,
                    **kwargs,
                )
            except requests.RequestException as exc:
                if attempt > self.max_retries:
                    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                    raise ApiError(
                        f"API: {kind} to {host} after {attempt} attempts; check the network and base URL"
                    ) from None
                self._wait(attempt, None, f"{type(exc).__name__}")
                continue
            if resp.status_code in RETRY_STATUSES and attempt <= self.max_retries:
                self._wait(attempt, _retry_after_seconds(resp.headers.get("Retry-After")), f"HTTP {resp.status_code}")
                continue
            return self._decode(resp, path)

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        delay = min(delay, self.max_wait)
        log.info("Edge Impulse API: %s, retrying in %.1f s", why, delay)
        time.sleep(delay)

    def _decode(self, resp: requests.Response, path: str) -> dict[str, Any]:
        status = resp.status_code
        try:
            body = resp.json()
        except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, nesting past ~1,000 levels
            body = None
        error = self._scrub(str(body.get("error"))) if isinstance(body, dict) and body.get("error") else None
        if status in (401, 403):
            raise AuthError(
                f"API: the API key was rejected (HTTP {status}{': ' + error if error else ''}); "
                "check it in Studio under Dashboard > Keys",
                status,
            )
        if status == 404:
            raise NotFoundError(
                f"API: not found (HTTP 404{': ' + error if error else ''}); check the project and block IDs", status
            )
        if status == 429:
            raise ApiError("API: rate limited (HTTP 429) even after retries; wait a minute and refresh", status)
        if status >= 400:
            raise ApiError(
                f"API: the server answered HTTP {status}{': ' + error if error else ''}; try again later", status
            )
        if not isinstance(body, dict):
            ctype = resp.headers.get("Content-Type", "unknown type")
            raise ApiError(f"API: the answer to {path} was not JSON ({ctype}); is the base URL right?", status)
        if body.get("success") is False:
            raise ApiError(f"API: {error or 'the request failed without a reason'}", status)
        return body

    def list_projects(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/api/projects").get("projects") or [])

    def list_anomaly_blocks(self, project_id: int) -> list[LearnBlock]:
        """The project's K-means anomaly learn blocks (GMM and other blocks are left out)."""
        impulse = self._request("GET", f"/api/{int(project_id)}/impulse").get("impulse") or {}
        blocks = []
        for b in impulse.get("learnBlocks") or []:
            if isinstance(b, dict) and b.get("type") == "anomaly" and isinstance(b.get("id"), int):
                blocks.append(LearnBlock(b["id"], str(b.get("name", "")), str(b.get("title", "")), "anomaly"))
        return blocks

    def get_anomaly_config(self, project_id: int, learn_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}")

    def get_metadata(self, project_id: int, learn_id: int) -> dict[str, Any]:
        return self._request("GET", f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}/metadata")

    def get_model(self, project_id: int, learn_id: int) -> AnomalyModel:
        """Validated metadata plus axis labels from the block config (labels are optional)."""
        meta = parse_metadata(self.get_metadata(project_id, learn_id))
        try:
            names = feature_names_from_config(self.get_anomaly_config(project_id, learn_id))
        except (ApiError, MetadataError):
            names = {}
        return AnomalyModel(meta, names)

    def get_trained_features(self, project_id: int, learn_id: int, ax1: int, ax2: int) -> dict[str, Any]:
        return self._request(
            "GET",
            f"/api/{int(project_id)}/training/anomaly/{int(learn_id)}/features/get-graph",
            params={"featureAx1": int(ax1), "featureAx2": int(ax2)},
        )
