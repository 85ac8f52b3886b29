"""Regenerate the bundled demo project in `ei_anomaly/data/demo/` (deterministic, fixed seeds).

Simulates 3-axis accelerometer windows (2 s at 62.5 Hz) for the motion classes of Edge
Impulse's continuous-motion tutorial (idle, wave, snake, updown), computes 11 spectral
features per axis (RMS, 3 spectral peaks as frequency/height, 4 power bands: 33 in all) and
trains the anomaly block as Studio does: StandardScaler + K-means (32 clusters) on the three
RMS features (axes 0, 11, 22).

Definitions used here:
- `maxError` of a cluster: the largest Euclidean distance, in scaled space, from any training
  window assigned to the cluster to its center (so every training window scores <= 0).
- suggested threshold: the 99th percentile score of normal windows held out from training,
  rounded up to 0.05.
- int8 metrics: the input features quantised to 8 bits per axis, then scored.
Validation windows include motions never seen in training (shake, circle, tap), labelled
`anomaly`. Every number is computed, except the per-MCU latency/RAM/ROM table, which cannot be
measured here: it is illustrative and says so.

The project's second anomaly block, a GMM trained on the same windows, is written by
`scripts/make_demo_gmm.py` (called at the end).

Run: python -m scripts.make_demo   (needs scikit-learn, a dev-only dependency)
     python -m scripts.make_demo --fleet   (only the fleet log, `fleet_log.csv`)

The fleet log: 36 devices over 3 days, one window every 10 minutes, each device doing the normal
motions; a few are not well: two drift (their sensor noise grows day by day), one is faulty (bursts
of taps from a loose mount, more each day) and one shakes for an hour every afternoon. Rows are
written in the order a collector receives them (late deliveries), not in time order; columns:
timestamp, device, the three axes by name.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import classification_report, roc_auc_score
from sklearn.preprocessing import StandardScaler

from ei_anomaly import load_metadata
from ei_anomaly.demo import ANOMALY_SESSION_SEGMENTS, NORMAL_SESSION_SEGMENTS
from scripts import make_demo_gmm

OUT = Path(__file__).resolve().parents[1] / "ei_anomaly" / "data" / "demo"
HZ, WINDOW_S = 62.5, 2.0
N = int(HZ * WINDOW_S)
AXES_NAMES = ("accX", "accY", "accZ")
BANDS = ((0.1, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 5.0))
NORMAL = ("idle", "wave", "snake", "updown")
ANOMALIES = ("shake", "circle", "tap")
PROJECT_ID, IMPULSE_ID, ANOMALY_BLOCK_ID = 48213, 1, 4
CREATED = "2026-11-20T14:32:05.000Z"
SEED = 20261120


def feature_names() -> list[str]:
    names = []
    for ax in AXES_NAMES:
        names.append(f"{ax} RMS")
        for p in range(1, 4):
            names += [f"{ax} Peak {p} Freq", f"{ax} Peak {p} Height"]
        names += [f"{ax} Spectral Power {lo} - {hi}" for lo, hi in BANDS]
    return names


def simulate(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One window, shape (N, 3), in m/s^2 with gravity on z."""
    t = np.arange(N) / HZ
    amp = rng.uniform(0.55, 1.45)
    f = rng.uniform(0.8, 1.2)
    ph = rng.uniform(0, 2 * np.pi, 3)
    sig = np.zeros((N, 3))
    sig[:, 2] = 9.81
    if kind == "idle":
        pass
    elif kind == "wave":
        sig[:, 0] += 7.5 * amp * np.sin(2 * np.pi * 1.6 * f * t + ph[0])
        sig[:, 1] += 1.5 * amp * np.sin(2 * np.pi * 1.6 * f * t + ph[1])
    elif kind == "snake":
        sig[:, 1] += 5.0 * amp * np.sin(2 * np.pi * 0.9 * f * t + ph[1])
        sig[:, 0] += 2.0 * amp * np.sin(2 * np.pi * 0.45 * f * t + ph[0])
    elif kind == "updown":
        sig[:, 2] += 6.0 * amp * np.sin(2 * np.pi * 2.1 * f * t + ph[2])
        sig[:, 0] += 0.8 * amp * np.sin(2 * np.pi * 2.1 * f * t + ph[0])
    elif kind == "shake":
        sig += rng.uniform(2.0, 8.0) * np.sin(2 * np.pi * 4.5 * f * t[:, None] + ph)
    elif kind == "circle":
        r = rng.uniform(1.5, 5.0)
        sig[:, 0] += r * np.sin(2 * np.pi * 1.1 * f * t + ph[0])
        sig[:, 1] += r * np.cos(2 * np.pi * 1.1 * f * t + ph[0])
    elif kind == "tap":
        for _ in range(rng.integers(2, 5)):
            at = rng.integers(0, N - 4)
            sig[at : at + 3] += rng.normal(0, rng.uniform(3, 12), (3, 3))
    sig += rng.normal(0, rng.uniform(0.15, 0.7), sig.shape)
    return sig


def spectral_features(window: np.ndarray) -> np.ndarray:
    freqs = np.fft.rfftfreq(N, 1 / HZ)
    out = []
    for ax in range(3):
        x = window[:, ax] - window[:, ax].mean()
        out.append(float(np.sqrt(np.mean(x**2))))
        power = (np.abs(np.fft.rfft(x * np.hanning(N))) ** 2) / N
        order = np.argsort(power[1:])[::-1][:3] + 1
        for i in order:
            out += [float(freqs[i]), float(power[i])]
        for lo, hi in BANDS:
            out.append(float(power[(freqs >= lo) & (freqs < hi)].sum()))
    return np.asarray(out)


def windows(kinds: list[str], rng: np.random.Generator) -> np.ndarray:
    return np.asarray([spectral_features(simulate(k, rng)) for k in kinds])


def quantise_int8(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    step = np.abs(ref).max(axis=0) / 127
    step[step == 0] = 1.0
    return np.clip(np.round(x / step), -128, 127) * step


def on_device(model_type: str) -> list[dict]:
    """ILLUSTRATIVE per-MCU figures (not measured): scaled from clock speed and an FPU factor."""
    mcus = [
        ("cortex-m0plus-48mhz", "Cortex-M0+ 48MHz", 48, 4.0, False, None),
        ("cortex-m4f-80mhz", "Cortex-M4F 80MHz", 80, 1.0, True, None),
        ("nordic-nrf52840-64mhz", "Nordic nRF52840 (Cortex-M4F 64MHz)", 64, 1.0, False, None),
        ("raspberry-pi-rp2040-133mhz", "Raspberry Pi RP2040 133MHz", 133, 3.2, False, None),
        ("cortex-m7-216mhz", "Cortex-M7 216MHz", 216, 0.7, False, None),
        ("espressif-esp32-240mhz", "Espressif ESP-EYE (ESP32 240MHz)", 240, 1.2, False, None),
        (
            "sony-spresense-156mhz",
            "Sony Spresense (Cortex-M4F 156MHz)",
            156,
            1.0,
            False,
            "Profiling timed out on this target; try again later",
        ),
    ]
    int8 = model_type == "int8"
    rows = []
    for mcu, name, mhz, fpu_penalty, default, err in mcus:
        ops = 32 * 3 * 6 + 32 * 30  # distance maths + sqrt per cluster
        latency = max(1, math.ceil(ops * fpu_penalty * (0.8 if int8 else 1.0) / mhz / 10))
        base_ram = 1100 if int8 else 1400
        base_rom = 5200 if int8 else 6800

        def engine(ram_f: float, rom_f: float, base_ram: int = base_ram, base_rom: int = base_rom) -> dict:
            return {
                "ramRequired": int(base_ram * ram_f),
                "romRequired": int(base_rom * rom_f),
                "arenaSize": int(base_ram * ram_f * 0.6),
                "modelSize": int(base_rom * rom_f * 0.35),
            }

        row = {
            "mcu": mcu,
            "name": name,
            "isDefault": default,
            "latency": 0 if err else latency,
            "tflite": engine(1.9, 3.4),
            "eon": engine(1.0, 1.0),
            "eon_ram_optimized": engine(0.8, 1.08),
            "customMetrics": [],
            "hasPerformance": err is None,
        }
        if err:
            row["profilingError"] = err
        rows.append(row)
    return rows


def metrics_for(model_type: str, scores: np.ndarray, labels: list[str], threshold: float, t_ms: list[int]) -> dict:
    truth = np.array(["anomaly" if lab == "anomaly" else "normal" for lab in labels])
    pred = np.where(scores > np.float32(threshold), "anomaly", "normal")
    classes = ["normal", "anomaly"]
    cm = [[int(np.sum((truth == a) & (pred == b))) for b in classes] for a in classes]
    report = classification_report(truth, pred, labels=classes, output_dict=True, zero_division=0)
    auc = roc_auc_score(truth == "anomaly", scores)
    f1 = report["anomaly"]["f1-score"]
    preds = [
        {
            "sampleId": 1000 + i,
            "startMs": t_ms[i],
            "endMs": t_ms[i] + int(WINDOW_S * 1000),
            "label": labels[i],
            "prediction": pred[i],
            "predictionCorrect": bool(pred[i] == truth[i]),
            "anomalyScores": [[round(float(scores[i]), 6)]],
        }
        for i in range(len(labels))
    ]
    return {
        "type": model_type,
        "loss": 0,
        "accuracy": round(float(np.mean(pred == truth)), 6),
        "confusionMatrix": cm,
        "report": report,
        "onDevicePerformance": on_device(model_type),
        "predictions": preds,
        "visualization": "featureExplorer",
        "isSupportedOnMcu": True,
        "additionalMetrics": [
            {
                "name": "Area under ROC curve",
                "value": f"{auc:.2f}",
                "fullPrecisionValue": float(auc),
                "tooltipText": "Probability that a random anomaly scores higher than a random normal window",
            },
            {
                "name": "F1 score (anomaly)",
                "value": f"{f1:.2f}",
                "fullPrecisionValue": float(f1),
                "tooltipText": "At the block's current threshold",
            },
        ],
    }


def session(kinds: list[tuple[str, int]], rng: np.random.Generator, start: pd.Timestamp) -> pd.DataFrame:
    seq = [k for k, n in kinds for _ in range(n)]
    feats = windows(seq, rng)
    frame = pd.DataFrame(feats, columns=feature_names()).round(5)
    frame.insert(0, "timestamp", [(start + pd.Timedelta(seconds=2 * i)).isoformat() for i in range(len(seq))])
    return frame


FLEET_DEVICES, FLEET_DAYS, FLEET_STEP_MIN = 36, 3, 10
FLEET_DRIFTING = ("press-07", "press-23")
FLEET_FAULTY = "press-15"
FLEET_SHAKY = "press-31"


def fleet_window(device: str, at: pd.Timestamp, day: float, mount: float, rng: np.random.Generator) -> np.ndarray:
    """One window's features for a device at a time (`day`: days since the log starts); `mount`:
    the device's own vibration in the field, which training never saw."""
    kind = NORMAL[rng.integers(len(NORMAL))]
    if device == FLEET_FAULTY and rng.random() < 0.03 + 0.08 * day:
        kind = "tap"
    if device == FLEET_SHAKY and at.hour == 15:
        kind = "shake"
    sig = simulate(kind, rng)
    sig += rng.normal(0, mount, sig.shape)
    if device in FLEET_DRIFTING:
        sig += rng.normal(0, 0.25 + 0.9 * day, sig.shape)  # a sensor getting noisier by the day
    return spectral_features(sig)


def fleet_log() -> pd.DataFrame:
    rng = np.random.default_rng(20261202)
    start = pd.Timestamp("2026-11-23T00:00:00")
    steps = FLEET_DAYS * 24 * 60 // FLEET_STEP_MIN
    rows = []
    for d in range(FLEET_DEVICES):
        device = f"press-{d + 1:02d}"
        offset = pd.Timedelta(seconds=int(rng.integers(0, 600)))
        mount = float(rng.uniform(0.2, 0.8))
        for i in range(steps):
            at = start + offset + pd.Timedelta(minutes=FLEET_STEP_MIN * i)
            feats = fleet_window(device, at, i / (steps / FLEET_DAYS), mount, rng)
            delay = rng.exponential(300) + (86_400 * 0.5 if rng.random() < 0.01 else 0.0)  # a few arrive late
            rows.append((at + pd.Timedelta(seconds=delay), at.isoformat(), device, *feats[[0, 11, 22]]))
    names = feature_names()
    frame = pd.DataFrame(rows, columns=["received", "timestamp", "device", names[0], names[11], names[22]])
    frame = frame.sort_values("received", kind="stable").drop(columns="received").round(5)
    return frame.reset_index(drop=True)


def write_fleet_log() -> None:
    fleet_log().to_csv(OUT / "fleet_log.csv", index=False)
    print(f"wrote {OUT / 'fleet_log.csv'}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    axes = [0, 11, 22]
    names = feature_names()

    train_kinds = [k for k in NORMAL for _ in range(200)]
    train_all = windows(train_kinds, rng)
    holdout = rng.random(len(train_all)) < 0.2
    train, held = train_all[~holdout], train_all[holdout]

    scaler = StandardScaler().fit(train[:, axes])
    z = scaler.transform(train[:, axes])
    km = KMeans(n_clusters=32, n_init=10, random_state=7).fit(z)
    dist = np.linalg.norm(z - km.cluster_centers_[km.labels_], axis=1)
    max_error = [float(dist[km.labels_ == k].max()) for k in range(32)]
    metadata = {
        "success": True,
        "created": CREATED,
        "scale": [float(v) for v in scaler.scale_],
        "mean": [float(v) for v in scaler.mean_],
        "clusters": [
            {"center": [float(v) for v in c], "maxError": e}
            for c, e in zip(km.cluster_centers_, max_error, strict=True)
        ],
        "axes": axes,
        "defaultMinimumConfidenceRating": 0.3,
        "availableModelTypes": ["float32", "int8"],
        "recommendedModelType": "float32",
        "modelValidationMetrics": [],
        "hasTrainedModel": True,
        "thresholds": [],
    }
    model = load_metadata(metadata)
    held_scores = model.score(held)
    suggested = math.ceil(float(np.percentile(held_scores, 99)) * 20) / 20
    threshold = {
        "key": "min_anomaly_score",
        "description": "Anomaly threshold",
        "helpText": "Scores above this number will be flagged as anomaly.",
        "suggestedValue": suggested,
        "suggestedValueText": f"{suggested} (99th percentile of held-out training windows)",
        "value": 0.3,
    }
    metadata["thresholds"] = [threshold]

    val_kinds = [k for k in NORMAL for _ in range(60)] + [k for k in ANOMALIES for _ in range(30)]
    order = rng.permutation(len(val_kinds))
    val_kinds = [val_kinds[i] for i in order]
    val = windows(val_kinds, rng)
    labels = ["anomaly" if k in ANOMALIES else k for k in val_kinds]
    t_ms = [int(i * WINDOW_S * 1000) for i in range(len(labels))]
    float_scores = model.score(val)
    int8_scores = model.score(quantise_int8(val, train))
    metadata["modelValidationMetrics"] = [
        metrics_for("int8", int8_scores, labels, threshold["value"], t_ms),
        metrics_for("float32", float_scores, labels, threshold["value"], t_ms),
    ]

    config = {
        "success": True,
        "dependencies": {
            "classes": list(NORMAL),
            "blockNames": ["Time series data", "Spectral features"],
            "featureCount": len(names),
            "sampleCount": len(train_kinds),
            "outputClasses": [],
        },
        "name": "Anomaly detection",
        "axes": [{"ix": i, "label": n, "selected": i in axes, "favourite": i in axes} for i, n in enumerate(names)],
        "trained": True,
        "clusterCount": 32,
        "selectedAxes": axes,
        "minimumConfidenceRating": 0.3,
        "thresholds": [threshold],
    }
    impulse = {
        "success": True,
        "impulse": {
            "id": IMPULSE_ID,
            "name": "Impulse #1",
            "type": "default",
            "inputBlocks": [
                {
                    "id": 1,
                    "type": "time-series",
                    "name": "Time series data",
                    "title": "Time series data",
                    "windowSizeMs": 2000,
                    "windowIncreaseMs": 80,
                    "frequencyHz": HZ,
                    "padZeros": True,
                }
            ],
            "dspBlocks": [
                {
                    "id": 2,
                    "type": "spectral-analysis",
                    "name": "Spectral features",
                    "title": "Spectral Analysis",
                    "axes": list(AXES_NAMES),
                    "implementationVersion": 1,
                    "input": 1,
                }
            ],
            "learnBlocks": [
                {"id": 3, "type": "keras", "name": "Classifier", "dsp": [2], "title": "Classification"},
                {
                    "id": ANOMALY_BLOCK_ID,
                    "type": "anomaly",
                    "name": "Anomaly detection",
                    "dsp": [2],
                    "title": "Anomaly Detection (K-means)",
                },
                make_demo_gmm.learn_block(),
            ],
            "postProcessingBlocks": [],
        },
    }
    project = {
        "id": PROJECT_ID,
        "name": "Continuous motion (demo)",
        "owner": "Anomaly Lens demo",
        "description": "Simulated accelerometer data: idle, wave, snake, updown",
        "created": CREATED,
    }

    (OUT / "metadata.json").write_text(json.dumps(metadata, indent=1) + "\n")
    (OUT / "anomaly_config.json").write_text(json.dumps(config, indent=1) + "\n")
    (OUT / "impulse.json").write_text(json.dumps(impulse, indent=1) + "\n")
    (OUT / "project.json").write_text(json.dumps(project, indent=1) + "\n")
    pd.DataFrame(train, columns=names).round(5).to_csv(OUT / "training_features.csv", index=False)

    start = pd.Timestamp("2026-11-21T09:00:00")
    normal = session(list(NORMAL_SESSION_SEGMENTS), rng, start)
    normal.to_csv(OUT / "normal_session.csv", index=False)
    mixed = session(list(ANOMALY_SESSION_SEGMENTS), rng, start)
    for row, col in ((140, names[0]), (141, names[11]), (400, names[22])):
        mixed.loc[row, col] = np.nan  # a sensor dropout: these rows cannot be scored
    mixed.to_csv(OUT / "session_with_anomalies.csv", index=False)
    gmm_suggested = make_demo_gmm.build(train, held, val, labels, t_ms, axes)  # the GMM block, same data
    print(f"GMM block: suggested threshold {gmm_suggested}")
    print(
        f"wrote {OUT}; suggested threshold {suggested}; "
        f"validation anomalies flagged (float32): {int(np.sum(float_scores > 0.3))}/{labels.count('anomaly')}"
    )


if __name__ == "__main__":
    import sys

    if "--fleet" not in sys.argv[1:]:
        main()
    write_fleet_log()
