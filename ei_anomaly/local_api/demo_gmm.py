"""The local API's GMM parts: the demo's GMM block and the model-file downloads.

`GET /api/{projectId}/downloads` lists each GMM block's float32 TFLite file (`Download`:
id, name, type, size, link, impulseId) and `GET /api/{projectId}/learn-data/{learnId}/model/{id}`
returns it, as Studio serves a learn block's model file (docs/gmm.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from ..blocks import CONFIG_FILE, AnomalyBlock, BlockFiles, build_block, read_block_dir
from ..client import FLOAT32_MODEL_DOWNLOAD_ID
from ..demo import GMM_DEMO_DIR, demo_training_features
from ..metadata import feature_names_from_config

__all__ = ["demo_gmm_block_parts", "gmm_downloads"]


def demo_gmm_block_parts() -> tuple[dict[str, Any], dict[str, Any], AnomalyBlock, pd.DataFrame, BlockFiles]:
    """(config, metadata, model, training features, files) of the demo's GMM block; own copies."""
    files = read_block_dir(GMM_DEMO_DIR)
    config: dict[str, Any] = json.loads((GMM_DEMO_DIR / CONFIG_FILE).read_text())
    metadata: dict[str, Any] = json.loads(json.dumps(files.metadata))
    model = build_block(files, feature_names_from_config(config))
    return config, metadata, model, demo_training_features(), files


def gmm_downloads(project_id: int, files: dict[int, BlockFiles | None], match: re.Match[str]) -> tuple[int, Any]:
    """(status, body) for `/downloads` (a JSON answer) or a model file (bytes)."""
    if int(match[1]) != project_id:
        return 404, {"success": False, "error": f"Project {match[1]} not found"}
    if match.re.pattern.endswith("downloads$"):
        listing = [
            {
                "id": FLOAT32_MODEL_DOWNLOAD_ID,
                "name": f"Anomaly detection (GMM) #{learn_id} model",
                "type": "TensorFlow Lite (float32)",
                "size": f"{len(block.tflite) / 1024:.0f} KB",
                "link": f"/v1/api/{project_id}/learn-data/{learn_id}/model/{FLOAT32_MODEL_DOWNLOAD_ID}",
            }
            for learn_id, block in sorted(files.items())
            if block is not None and block.tflite is not None
        ]
        return 200, {"success": True, "downloads": listing}
    block = files.get(int(match[2]))
    if block is None or block.tflite is None:
        return 404, {"success": False, "error": f"Learn block {match[2]} has no model file to download"}
    if match[3] != FLOAT32_MODEL_DOWNLOAD_ID:
        return 404, {"success": False, "error": f"Learn block {match[2]} has no download '{match[3]}'"}
    return 200, block.tflite
