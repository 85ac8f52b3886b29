"""From window scores to alarms: the SDK's smoothing simulated per device over a fleet log.

policy      AlarmPolicy (threshold, smoothing n:k or none, cool-down), parse_smoothing
fleet_log   FleetLog: a scored log ordered per device and time; column detection, time parsing
kernels     the compiled loops: smoothing levels, alarm flags
simulate    simulate (per-device windows, anomalous windows, alarms, days, rate), device_trace
tuning      alarm_curve and lowest_threshold (an alarm budget per device per day)
"""

from __future__ import annotations

from .fleet_log import (
    DAY_S,
    FleetLog,
    build_fleet_log,
    detect_device_column,
    detect_time_column,
    times_in_seconds,
)
from .policy import MAX_READINGS, AlarmPolicy, FleetPolicy, Smoothing, parse_smoothing
from .simulate import TABLE_COLUMNS, DeviceTrace, FleetAlarms, answer_levels, device_trace, effective_level, simulate
from .tuning import AlarmCurve, LowestThreshold, alarm_curve, lowest_threshold

__all__ = [
    "DAY_S",
    "MAX_READINGS",
    "TABLE_COLUMNS",
    "AlarmCurve",
    "AlarmPolicy",
    "DeviceTrace",
    "FleetAlarms",
    "FleetLog",
    "FleetPolicy",
    "LowestThreshold",
    "Smoothing",
    "alarm_curve",
    "answer_levels",
    "build_fleet_log",
    "detect_device_column",
    "detect_time_column",
    "device_trace",
    "effective_level",
    "lowest_threshold",
    "parse_smoothing",
    "simulate",
    "times_in_seconds",
]
