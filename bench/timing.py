"""Timing a call the way every benchmark here does: warm up, then the median and spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def timed(call: Callable[[], object], repeats: int, warmup: int = 20) -> dict[str, float]:
    """Median and 10th/90th percentiles of ``call`` in ms, after ``warmup`` untimed calls."""
    for _ in range(min(warmup, repeats)):
        call()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return {
        "median_ms": round(statistics.median(samples), 4),
        "p10_ms": round(float(np.percentile(samples, 10)), 4),
        "p90_ms": round(float(np.percentile(samples, 90)), 4),
    }
