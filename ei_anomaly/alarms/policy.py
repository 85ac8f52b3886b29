"""An alarm policy: a threshold, the SDK's smoothing (or none) and an optional cool-down.

The smoothing is the SDK's `ei_classifier_smooth` (`classifier/ei_classifier_smooth.h`):
`ei_classifier_smooth_init(&s, n_readings, min_readings_same, classifier_confidence,
anomaly_confidence)` then `ei_classifier_smooth_update` per window. On the device the anomaly
confidence is the threshold and a reading is an anomaly when `score >= threshold` (greater or
equal); without smoothing Studio's rule applies: an anomaly when `score > threshold`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UsageError
from ..rules import FLOAT32_MAX, fits_float32

__all__ = ["MAX_READINGS", "AlarmPolicy", "FleetPolicy", "Smoothing", "parse_smoothing"]

# The SDK counts readings in `uint8_t` counters and takes `min_readings_same` as `uint8_t`: a ring
# of more than 255 readings would overflow its counts on the device, so no such policy is offered.
MAX_READINGS = 255


@dataclass(frozen=True)
class Smoothing:
    """`ei_classifier_smooth_init(&s, n_readings, min_readings_same, ...)`."""

    n_readings: int
    min_readings_same: int

    def __post_init__(self) -> None:
        n, k = self.n_readings, self.min_readings_same
        if not 1 <= n <= MAX_READINGS:
            raise UsageError(f"smoothing needs 1 to {MAX_READINGS} readings (the SDK counts them in 8 bits), not {n}")
        if not 1 <= k <= n:
            raise UsageError(
                f"smoothing {n}:{k}: min readings the same must be between 1 and n readings ({n}); "
                f"{k} readings out of {n} can never agree"
            )

    def __str__(self) -> str:
        return f"{self.n_readings}:{self.min_readings_same}"


def parse_smoothing(text: str) -> Smoothing:
    """`N:K` (n readings, min readings the same), as the command line takes it."""
    n, sep, k = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return Smoothing(int(n), int(k))
    except ValueError:
        raise UsageError(
            f"smoothing must be N:K (n readings : min readings the same, e.g. 10:7), not {text!r}"
        ) from None


@dataclass(frozen=True)
class AlarmPolicy:
    """What a device does with its window scores.

    `smoothing` None: every window above the threshold is an anomalous reading, and an alarm is
    raised at the start of each run of them. `cooldown_s`: an alarm less than this many seconds
    after the last raised one is not raised (the smoothing runs on meanwhile)."""

    threshold: float
    smoothing: Smoothing | None = None
    cooldown_s: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise UsageError(f"the threshold must be a finite number, not {self.threshold}")
        if not fits_float32(self.threshold):
            raise UsageError(
                f"the threshold {self.threshold:g} is outside the float32 range devices hold it in (±{FLOAT32_MAX:.4g})"
            )
        if not (math.isfinite(self.cooldown_s) and self.cooldown_s >= 0):
            raise UsageError(f"the cool-down must be a finite number of seconds >= 0, not {self.cooldown_s}")

    def describe(self) -> str:
        """One line: `threshold 0.3, smoothing 10:7 (score >= 0.3 is an anomalous reading), no cool-down`."""
        t = f"{self.threshold:g}"
        if self.smoothing is None:
            smooth = f"no smoothing (a window is anomalous when score > {t})"
        else:
            smooth = f"smoothing {self.smoothing} (a reading is anomalous when score >= {t}, as the SDK does)"
        cool = f"cool-down {self.cooldown_s:g} s" if self.cooldown_s else "no cool-down"
        return f"threshold {t}, {smooth}, {cool}"


@dataclass(frozen=True)
class FleetPolicy:
    """How devices turn window scores into alarms, whatever the threshold: the SDK's smoothing (or
    none) and a cool-down. A review holds one and applies it at its threshold (`at`)."""

    smoothing: Smoothing | None = None
    cooldown_s: float = 0.0

    def __post_init__(self) -> None:
        AlarmPolicy(0.0, self.smoothing, self.cooldown_s)  # the same checks, said the same way

    @classmethod
    def parse(cls, smoothing: str | None = None, cooldown_s: float | None = None) -> FleetPolicy:
        """From the command line's `--smooth N:K` and `--cooldown SECONDS` (both optional)."""
        return cls(parse_smoothing(smoothing) if smoothing else None, float(cooldown_s or 0.0))

    def at(self, threshold: float) -> AlarmPolicy:
        return AlarmPolicy(threshold, self.smoothing, self.cooldown_s)

    def describe(self) -> str:
        """`smoothing 10:7, cool-down 600 s` / `no smoothing, no cool-down`."""
        smooth = f"smoothing {self.smoothing}" if self.smoothing else "no smoothing"
        cool = f"cool-down {self.cooldown_s:g} s" if self.cooldown_s else "no cool-down"
        return f"{smooth}, {cool}"
