"""The demo project's GMM anomaly block (learn block 5), trained as Studio trains one (docs/gmm.md).

On the demo's own data (the training windows, held-out windows and validation windows of
`scripts/make_demo.py`, replayed from its seed): scikit-learn `GaussianMixture(covariance_type=
"full")` on the RAW values of the three RMS axes, a StandardScaler fitted on the training
log-likelihoods (the metadata's one-value `mean`/`scale`), and the deployed score
`|(log-likelihood - mean) / scale|` as a float32 TFLite graph (`scripts/gmm_tflite.py`: written
with the flatbuffer schema that ships with `ai-edge-litert`, no TensorFlow or JAX needed).
Validation metrics are computed by scoring with that file exactly as Anomaly Lens does (LiteRT's
reference kernels). The per-MCU figures are illustrative, as for the K-means block.

Writes `ei_anomaly/data/demo/gmm/` (a block directory: metadata.json, gmm.json, model.tflite,
plus anomaly_config.json for the axis labels). `python -m scripts.make_demo` calls it; alone:
`python -m scripts.make_demo_gmm` (checks that its replay gives the committed training windows).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from ei_anomaly.blocks import BlockFiles, build_block
from scripts.gmm_tflite import gmm_scorer_tflite

GMM_BLOCK_ID = 5
COMPONENTS = 8
SEED = 7
OUT = Path(__file__).resolve().parents[1] / "ei_anomaly" / "data" / "demo" / "gmm"


def build(
    train: np.ndarray, held: np.ndarray, val: np.ndarray, labels: list[str], t_ms: list[int], axes: list[int]
) -> float:
    """Train, convert, score and write the block directory; returns the suggested threshold."""
    from scripts import make_demo as demo

    x = train[:, axes]
    gmm = GaussianMixture(n_components=COMPONENTS, covariance_type="full", random_state=SEED).fit(x)
    ll = gmm.score_samples(x)
    ll_mean, ll_scale = float(ll.mean()), float(ll.std())  # StandardScaler on one column
    tflite = gmm_scorer_tflite(gmm, ll_mean, ll_scale)
    gmm_answer = {
        "success": True,
        "means": gmm.means_.tolist(),
        "covariances": gmm.covariances_.tolist(),
        "weights": gmm.weights_.tolist(),
    }
    metadata: dict = {
        "success": True,
        "created": demo.CREATED,
        "scale": [ll_scale],
        "mean": [ll_mean],
        "clusters": [],
        "axes": axes,
        "defaultMinimumConfidenceRating": 0.0,
        "availableModelTypes": ["float32"],
        "recommendedModelType": "float32",
        "modelValidationMetrics": [],
        "hasTrainedModel": True,
        "thresholds": [],
    }
    model = build_block(BlockFiles(metadata, gmm_answer, tflite))
    suggested = math.ceil(float(np.percentile(model.score(held), 99)) * 20) / 20
    threshold = {
        "key": "min_anomaly_score",
        "description": "Anomaly threshold",
        "helpText": "Scores above this number will be flagged as anomaly.",
        "suggestedValue": suggested,
        "suggestedValueText": f"{suggested} (99th percentile of held-out training windows)",
        "value": suggested,
    }
    metadata["thresholds"] = [threshold]
    metadata["defaultMinimumConfidenceRating"] = suggested
    metrics = demo.metrics_for("float32", model.score(val), labels, suggested, t_ms)
    for row in metrics["onDevicePerformance"]:  # illustrative: a small TFLite graph instead of distances
        row["latency"] = math.ceil(row["latency"] * 1.5) if row["hasPerformance"] else 0
        for engine in ("tflite", "eon", "eon_ram_optimized"):
            row[engine] = {
                k: int(v * (1.3 if k in ("ramRequired", "arenaSize") else 1.6)) for k, v in row[engine].items()
            }
    metadata["modelValidationMetrics"] = [metrics]

    names = demo.feature_names()
    config = {
        "success": True,
        "dependencies": {
            "classes": list(demo.NORMAL),
            "blockNames": ["Time series data", "Spectral features"],
            "featureCount": len(names),
            "sampleCount": len(train),
            "outputClasses": [],
        },
        "name": "Anomaly detection (GMM)",
        "axes": [{"ix": i, "label": n, "selected": i in axes, "favourite": i in axes} for i, n in enumerate(names)],
        "trained": True,
        "clusterCount": COMPONENTS,
        "selectedAxes": axes,
        "minimumConfidenceRating": suggested,
        "thresholds": [threshold],
    }
    BlockFiles(metadata, gmm_answer, tflite).write(OUT)
    (OUT / "anomaly_config.json").write_text(json.dumps(config, indent=1) + "\n")
    return suggested


def learn_block() -> dict:
    """The GMM block's entry in the impulse's `learnBlocks`."""
    return {
        "id": GMM_BLOCK_ID,
        "type": "anomaly-gmm",
        "name": "Anomaly detection (GMM)",
        "dsp": [2],
        "title": "Anomaly Detection (GMM)",
    }


def replay() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[int]]:
    """The demo's training, held-out and validation windows, drawn as `make_demo.main` draws them."""
    from scripts import make_demo as demo

    rng = np.random.default_rng(demo.SEED)
    train_all = demo.windows([k for k in demo.NORMAL for _ in range(200)], rng)
    holdout = rng.random(len(train_all)) < 0.2
    train, held = train_all[~holdout], train_all[holdout]
    val_kinds = [k for k in demo.NORMAL for _ in range(60)] + [k for k in demo.ANOMALIES for _ in range(30)]
    order = rng.permutation(len(val_kinds))
    val_kinds = [val_kinds[i] for i in order]
    val = demo.windows(val_kinds, rng)
    labels = ["anomaly" if k in demo.ANOMALIES else k for k in val_kinds]
    t_ms = [int(i * demo.WINDOW_S * 1000) for i in range(len(labels))]
    committed = pd.read_csv(demo.OUT / "training_features.csv").to_numpy()
    if not np.allclose(np.round(train, 5), committed, atol=1e-9):
        raise SystemExit("the replay does not give the committed training windows: run python -m scripts.make_demo")
    return train, held, val, labels, t_ms


def main() -> None:
    train, held, val, labels, t_ms = replay()
    suggested = build(train, held, val, labels, t_ms, [0, 11, 22])
    print(f"wrote {OUT}; suggested threshold {suggested}")


if __name__ == "__main__":
    main()
