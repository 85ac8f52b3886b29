"""The local API's state and answers: the demo project (plus any metadata files), as Studio answers.

Same paths, shapes and status codes as Studio's API for what Anomaly Lens reads, so the app's
"Edge Impulse project" source and the tests can talk to it exactly as to the real service. Two
front ends carry its answers: the HTTP server (`server.py`, `python -m ei_anomaly serve`) and the
in-memory transport (`transport.py`); both call `EdgeImpulseStub.reply`, so they answer alike.
Fault modes (slow answers, 5xx, 429 with Retry-After, malformed JSON, `success: false`) let tests
exercise the client's retries and error messages; a slow answer is a delay the front end spends.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from ..blocks import AnomalyBlock, BlockFiles, load_block
from ..demo import GMM_DEMO_BLOCK_ID, demo_files, demo_test_samples, demo_training_features, trained_graph
from ..limits import Limits
from ..metadata import feature_names_from_config, json_shape
from ..rules import FLOAT32_MAX, fits_float32
from .demo_gmm import demo_gmm_block_parts, gmm_downloads
from .demo_model_testing import ScoredTestSample, classify_all_result, no_results, score_test_samples

__all__ = ["MAX_POST_BYTES", "Answer", "EdgeImpulseStub", "FaultPlan"]

_BLOCK = re.compile(r"^/v1/api/(\d+)/training/anomaly/(\d+)(/metadata|/features/get-graph|/gmm/metadata)?$")
_LEARN_MODEL = re.compile(r"^/v1/api/(\d+)/learn-data/(\d+)/model/([A-Za-z0-9_.-]+)$")
_DOWNLOADS = re.compile(r"^/v1/api/(\d+)/downloads$")
_IMPULSE = re.compile(r"^/v1/api/(\d+)/impulse$")
_IMPULSES = re.compile(r"^/v1/api/(\d+)/impulses$")
_CLASSIFY_ALL = re.compile(r"^/v1/api/(\d+)/classify/all/result$")
_SET_THRESHOLDS = re.compile(r"^/v1/api/(\d+)/impulse/(\d+)/set-thresholds$")
_DSP = re.compile(r"^/v1/api/(\d+)/dsp/(\d+)$")
MAX_POST_BYTES = 1 << 20
MAX_BODY_DEPTH = 32  # a set-thresholds body is 4 levels deep


@dataclass(frozen=True)
class Answer:
    """One answer as it leaves the local API: status, body, its type, extra headers (Retry-After),
    and how many seconds it comes late (the "slow" fault; the front end spends them)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _json_answer(status: int, body: Any) -> Answer:
    if isinstance(body, bytes):  # a model file
        return Answer(status, body, "application/octet-stream")
    return Answer(status, json.dumps(body).encode())


@dataclass
class _Block:
    config: dict[str, Any]
    metadata: dict[str, Any]
    model: AnomalyBlock
    features: pd.DataFrame | None
    files: BlockFiles | None = None  # a GMM block's gmm/metadata answer and model file


@dataclass
class FaultPlan:
    """What the next requests should suffer; `mode` applies to all of them, `queue` to the next ones."""

    mode: str | None = None
    queue: list[str] = field(default_factory=list)
    delay: float = 1.5
    retry_after: float = 1.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> str | None:
        with self.lock:
            return self.queue.pop(0) if self.queue else self.mode


def _project(files: dict[str, Any]) -> dict[str, Any]:
    p = files["project"]
    return {
        **p,
        "collaborators": [],
        "labelingMethod": "single_label",
        "metadata": {},
        "isEnterpriseProject": False,
        "whitelabelId": None,
        "tier": "Community",
        "hasPublicVersion": False,
        "isPublic": False,
        "allowsLivePublicAccess": False,
        "indPauseProcessingSamples": False,
        "publicProjectListed": False,
        "ownerIsDeveloperProfile": False,
    }


def _config_for(meta: dict[str, Any], name: str) -> dict[str, Any]:
    n = max(meta["axes"]) + 1
    return {
        "success": True,
        "dependencies": {
            "classes": [],
            "blockNames": ["Features"],
            "featureCount": n,
            "sampleCount": 0,
            "outputClasses": [],
        },
        "name": name,
        "axes": [
            {"ix": i, "label": f"feature {i}", "selected": i in meta["axes"], "favourite": False} for i in range(n)
        ],
        "trained": True,
        "clusterCount": len(meta["clusters"]),
        "selectedAxes": list(meta["axes"]),
        "minimumConfidenceRating": float(meta.get("defaultMinimumConfidenceRating") or 0.3),
        "thresholds": meta.get("thresholds") or [],
    }


class EdgeImpulseStub:
    """The local API's state: one project with the demo's learn blocks plus extra metadata files."""

    def __init__(
        self, api_key: str | None = None, extra_metadata: list[Path] | None = None, *, readonly_key: str | None = None
    ) -> None:
        files = demo_files()
        self.api_key = api_key
        self.readonly_key = readonly_key  # accepted for reads; writes get 403, as a read-only key in Studio
        self.write_lock = threading.Lock()
        self.limits = Limits.from_env()  # what a block's text may hold: a stored value must read back
        # Model testing of the demo block: "valid", "none", or a noResultsBecauseThresholdsChanged value.
        self.model_testing = "valid"
        # How set-thresholds regenerates results: "inline" (a small test set) or "job" (a large one).
        self.regenerate = "inline"
        self.jobs_started = 0
        self._scored_tests: list[ScoredTestSample] | None = None
        self._scored_gmm_tests: list[ScoredTestSample] = []
        self.project = _project(files)
        self.project_id = int(files["project"]["id"])
        self.impulse = json.loads(json.dumps(files["impulse"]))
        self.faults = FaultPlan()
        # Each DSP block's `normalizeData` (Studio's data normalization switch): "none" unless a test sets it.
        self.dsp_normalize: dict[int, str] = {}
        # Own copies: set-thresholds changes them, and demo_files() is shared (cached).
        demo_meta = json.loads(json.dumps(files["metadata"]))
        demo_config = json.loads(json.dumps(files["anomaly_config"]))
        demo_model = load_block(demo_meta, feature_names_from_config(demo_config))
        self.blocks: dict[int, _Block] = {4: _Block(demo_config, demo_meta, demo_model, demo_training_features())}
        self.blocks[GMM_DEMO_BLOCK_ID] = _Block(*demo_gmm_block_parts())
        learn = self.impulse["impulse"]["learnBlocks"]
        for path in extra_metadata or []:
            meta = json.loads(Path(path).read_text())
            model = load_block(meta)
            block_id = max(self.blocks) + 1
            name = f"Anomaly detection ({Path(path).stem})"
            self.blocks[block_id] = _Block(_config_for(meta, name), meta, model, None)
            learn.append(
                {"id": block_id, "type": "anomaly", "name": name, "dsp": [2], "title": "Anomaly Detection (K-means)"}
            )

    def reply(self, method: str, target: str, key: str | None, body: bytes = b"") -> Answer:
        """The answer to one request, whichever front end carried it. `target` is the path and query
        (as in a request line), `key` the `x-api-key` header. A GET suffers the fault plan's next
        fault; a POST is only set-thresholds, and is never spoilt."""
        parts = urlsplit(target)
        if method == "POST":
            if len(body) > MAX_POST_BYTES:
                return Answer(400, b'{"success":false,"error":"Bad or too large Content-Length"}')
            return _json_answer(*self.answer_post(parts.path, body, key))
        if method != "GET":
            return Answer(501, b'{"success":false,"error":"Unsupported method"}')
        fault = self.faults.take()
        if fault == "5xx":
            return Answer(503, b'{"success":false,"error":"Service temporarily unavailable"}')
        if fault == "429":
            retry_after = {"Retry-After": f"{self.faults.retry_after:g}"}
            return Answer(429, b'{"success":false,"error":"Too many requests"}', headers=retry_after)
        if fault == "unsuccessful":
            return Answer(200, b'{"success":false,"error":"Job is still running, try again later"}')
        if fault == "malformed":
            return Answer(200, b'{"success": true, "clusters": [')
        answer = _json_answer(*self.answer(parts.path, parse_qs(parts.query), key))
        if fault == "slow":
            return Answer(answer.status, answer.body, answer.content_type, answer.headers, self.faults.delay)
        return answer

    def answer(self, path: str, query: dict[str, list[str]], key: str | None) -> tuple[int, Any]:
        """(status, JSON body) for a GET, as Studio would answer it."""
        if not key or (self.api_key is not None and key not in (self.api_key, self.readonly_key)):
            return 401, {"success": False, "error": "Invalid API key"}
        if (m := _IMPULSES.match(path) or _CLASSIFY_ALL.match(path)) and int(m[1]) != self.project_id:
            return 404, {"success": False, "error": f"Project {m[1]} not found"}
        if _IMPULSES.match(path):
            return 200, {"success": True, "impulses": [self.impulse["impulse"]], "maxImpulseCount": 3}
        if m := _DSP.match(path):
            return self._dsp_config(int(m[1]), int(m[2]))
        if (m := _DOWNLOADS.match(path) or _LEARN_MODEL.match(path)) is not None:
            return gmm_downloads(self.project_id, {i: b.files for i, b in self.blocks.items()}, m)
        if _CLASSIFY_ALL.match(path):
            return self._classify_all(query)
        if path == "/v1/api/projects":
            return 200, {"success": True, "projects": [self.project]}
        if m := _IMPULSE.match(path):
            if int(m[1]) != self.project_id:
                return 404, {"success": False, "error": f"Project {m[1]} not found"}
            return 200, self.impulse
        m = _BLOCK.match(path)
        if not m:
            return 404, {"success": False, "error": "Unknown route"}
        if int(m[1]) != self.project_id:
            return 404, {"success": False, "error": f"Project {m[1]} not found"}
        block = self.blocks.get(int(m[2]))
        if block is None:
            return 404, {"success": False, "error": f"Learn block {m[2]} not found"}
        if m[3] is None:
            return 200, block.config
        if m[3] == "/metadata":
            return 200, block.metadata
        if m[3] == "/gmm/metadata":
            if block.files is None or block.files.gmm is None:
                return 400, {"success": False, "error": f"Learn block {m[2]} is not a GMM anomaly block"}
            return 200, block.files.gmm
        return self._graph(block, query)

    def _dsp_config(self, project_id: int, dsp_id: int) -> tuple[int, Any]:
        """`DSPConfigResponse` of a DSP block of the impulse: its info (with `normalizeData`) and config."""
        if project_id != self.project_id:
            return 404, {"success": False, "error": f"Project {project_id} not found"}
        blocks = {b["id"]: b for b in self.impulse["impulse"].get("dspBlocks") or []}
        if dsp_id not in blocks:
            return 404, {"success": False, "error": f"DSP block {dsp_id} not found"}
        block = blocks[dsp_id]
        n_features = max((max(b.model.axes) + 1 for b in self.blocks.values()), default=0)
        info = {
            "id": dsp_id,
            "name": block.get("name", ""),
            "windowLength": 2000,
            "type": block.get("type", ""),
            "classes": [],
            "features": {"generated": True, "count": n_features},
            "expectedWindowCount": 0,
            "inputAxes": list(block.get("axes") or []),
            "canCalculateFeatureImportance": False,
            "calculateFeatureImportance": False,
            "canNormalizeData": True,
            "normalizeData": self.dsp_normalize.get(dsp_id, "none"),
        }
        return 200, {"success": True, "dsp": info, "config": []}

    def _classify_all(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """Model-testing results of the demo block (extra metadata blocks have none)."""
        impulse = self.impulse["impulse"]
        wanted = query.get("impulseId", [str(impulse["id"])])[0]
        if wanted != str(impulse["id"]):
            return 404, {"success": False, "error": f"Impulse {wanted} not found"}
        if self.model_testing == "none":
            return 200, no_results()
        if self.model_testing != "valid":
            return 200, no_results(self.model_testing)
        with self.write_lock:
            if self._scored_tests is None:
                self._scored_tests = score_test_samples(demo_test_samples(), self.blocks[4].model)
                gmm = self.blocks[GMM_DEMO_BLOCK_ID].model
                self._scored_gmm_tests = score_test_samples(demo_test_samples(), gmm)
            thresholds = json.loads(json.dumps(self.blocks[4].config.get("thresholds") or []))
            gmm_thresholds = json.loads(json.dumps(self.blocks[GMM_DEMO_BLOCK_ID].config.get("thresholds") or []))
        others = [(GMM_DEMO_BLOCK_ID, self._scored_gmm_tests, gmm_thresholds)]
        return 200, classify_all_result(self._scored_tests, impulse, 4, thresholds, self.project_id, others)

    def answer_post(self, path: str, body: bytes, key: str | None) -> tuple[int, Any]:
        """(status, JSON body) for a POST: only set-thresholds, validated as Studio does."""
        if not key or (self.api_key is not None and key not in (self.api_key, self.readonly_key)):
            return 401, {"success": False, "error": "Invalid API key"}
        m = _SET_THRESHOLDS.match(path)
        if not m:
            return 404, {"success": False, "error": "Unknown route"}
        if int(m[1]) != self.project_id:
            return 404, {"success": False, "error": f"Project {m[1]} not found"}
        if int(m[2]) != self.impulse["impulse"]["id"]:
            return 404, {"success": False, "error": f"Impulse {m[2]} not found"}
        if self.readonly_key is not None and key == self.readonly_key:
            return 403, {"success": False, "error": "This API key is read-only; changing thresholds needs an admin key"}
        if json_shape(body)[0] > MAX_BODY_DEPTH:  # before decoding: 200,000 levels ended the handler unanswered
            return 400, {"success": False, "error": f"The body is nested more than {MAX_BODY_DEPTH} levels deep"}
        try:
            request = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return 400, {"success": False, "error": "The body is not valid JSON"}
        problem = self._check_thresholds_body(request)
        if problem:
            return 400, {"success": False, "error": problem}
        with self.write_lock:
            for item in request["thresholds"]:
                block = self.blocks[item["blockId"]]
                for listing in (block.metadata.get("thresholds") or [], block.config.get("thresholds") or []):
                    for t in listing:
                        if t.get("key") == item["key"]:
                            t["value"] = item["value"]
            had = self.model_testing == "valid"
            status, job = "not_regenerated", None
            if had and self.regenerate == "inline":
                status = "regenerated"
            elif had and request["allowCreatingRegenerateModelTestingJobs"]:
                self.jobs_started += 1
                status, job = "started_job", 9000 + self.jobs_started
            elif had:
                status, self.model_testing = "requires_job", "can_regenerate_model_summary"
        answer: dict[str, Any] = {"success": True, "hadModelTestingResults": had}
        answer["regenerateModelTestingStatus"] = status
        if job is not None:
            answer["regenerateModelTestingResultsJobId"] = job
        return 200, answer

    def _check_thresholds_body(self, request: Any) -> str | None:
        """What is wrong with a SetImpulseThresholdsRequest, or None."""
        if not isinstance(request, dict):
            return "The body must be a JSON object"
        if not isinstance(request.get("allowCreatingRegenerateModelTestingJobs"), bool):
            return "allowCreatingRegenerateModelTestingJobs is required and must be a boolean"
        force = request.get("forceRunRegenerateModelTestingInJob")
        if force is not None and not isinstance(force, bool):
            return "forceRunRegenerateModelTestingInJob must be a boolean"
        items = request.get("thresholds")
        if not isinstance(items, list) or not items:
            return "thresholds must be a non-empty array"
        learn_ids = {b["id"] for b in self.impulse["impulse"]["learnBlocks"]}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                return f"thresholds[{i}] must be an object"
            block_id, key, value = item.get("blockId"), item.get("key"), item.get("value")
            if not isinstance(block_id, int) or isinstance(block_id, bool):
                return f"thresholds[{i}].blockId must be an integer"
            if not isinstance(key, str):
                return f"thresholds[{i}].key must be a string"
            numeric = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and value == value
                and abs(value) != float("inf")
            )
            if not (isinstance(value, str) or numeric):
                return f"thresholds[{i}].value must be a number or a string"
            if isinstance(value, str) and len(value) > self.limits.text_chars:
                return (
                    f"thresholds[{i}].value is text of {len(value):,} characters; a block's text fields hold at most "
                    f"{self.limits.text_chars:,} (the block would no longer open)"
                )
            if not _float32_value(value):
                return f"thresholds[{i}].value is outside the float32 range thresholds are read in (±{FLOAT32_MAX:.4g})"
            if block_id not in learn_ids:
                return f"Learn block {block_id} is not part of this impulse"
            block = self.blocks.get(block_id)
            keys = [t.get("key") for t in (block.config.get("thresholds") or [])] if block else []
            if key not in keys:
                return f"Learn block {block_id} has no threshold '{key}' (it has: {', '.join(keys) or 'none'})"
        return None

    def _graph(self, block: _Block, query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            ax1, ax2 = int(query["featureAx1"][0]), int(query["featureAx2"][0])
        except (KeyError, ValueError):
            return 400, {"success": False, "error": "featureAx1 and featureAx2 must be integers"}
        if block.features is None:
            return 200, {"success": True, "totalSampleCount": 0, "data": []}
        try:
            return 200, trained_graph(block.model, block.features, ax1, ax2)
        except ValueError as exc:
            return 400, {"success": False, "error": str(exc)}


def _float32_value(value: Any) -> bool:
    """A threshold this server stores must read back: a number (or numeric text) float32 holds."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return True  # text that is no number is stored as text, as the block says it
        if not math.isfinite(value):
            return True
    return fits_float32(value)
