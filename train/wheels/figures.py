"""The figures one set of crops gives a meter-window model: near-whole digits read, legible
ones refused, position error, blank and in-between windows refused.

Shared by training (the dev meters watched after every epoch), evaluation and conversion's
gate, so that all three measure the same thing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.config import DEFAULT_MIN_CONFIDENCE
from ...edge.vision.wheel import estimate, wheel_digit

NEAR_WHOLE = 0.2  # a labelled wheel this close to a whole digit shows that digit


def _circular_error(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[Any]:
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) % 10.0
    return np.minimum(d, 10.0 - d)


def crop_figures(
    probs: npt.NDArray[np.floating], positions: npt.NDArray[np.floating],
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> dict[str, float]:
    """Figures for one set of crops from the model's scores and the labelled positions."""
    positions = np.asarray(positions, np.float64)
    ests = estimate(np.asarray(probs, np.float32))
    # The daemon's floor, on the confidence it judges (the position's).
    digits = [wheel_digit(e) if e.confidence >= min_confidence else None for e in ests]
    predicted = np.array([e.position for e in ests])
    blank = positions < 0
    true_digit = np.round(positions).astype(np.int64) % 10
    off = np.abs(positions - np.round(positions))
    near = ~blank & (off <= NEAR_WHOLE + 1e-6)
    got = np.array([-1 if d is None else d for d in digits])
    refused = got < 0
    between = ~blank & (off >= 0.4 - 1e-6)  # 0.4 .. 0.6: no one digit in view
    err = _circular_error(predicted, positions)
    out = {
        "n": len(positions),
        "near_whole_n": int(near.sum()),
        "near_whole_accuracy": float((got[near] == true_digit[near]).mean()) if near.any() else
        float("nan"),
        "legible_refused": float(refused[near].mean()) if near.any() else float("nan"),
        "median_position_error": float(np.median(err[~blank])) if (~blank).any() else float("nan"),
        "within_0.5": float((err[~blank] <= 0.5).mean()) if (~blank).any() else float("nan"),
        "blank_n": int(blank.sum()),
        "blank_refused": float(refused[blank].mean()) if blank.any() else float("nan"),
        "between_n": int(between.sum()),
        "between_no_digit": float(refused[between].mean()) if between.any() else float("nan"),
    }
    return out
