"""The demo fleet log as the library builds it, for tests that compare the app with the core."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ei_anomaly.alarms import FleetLog, build_fleet_log
from ei_anomaly.demo import FLEET_LOG_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table


def demo_fleet_log() -> FleetLog:
    model = load_demo_model()
    table = read_feature_file(FLEET_LOG_CSV)
    scores = score_table(table, model, map_columns(table, model)).score
    frame = pd.read_csv(FLEET_LOG_CSV)
    return build_fleet_log(scores, pa.array(frame["device"]), pa.array(frame["timestamp"]))
