"""The locator's shortcuts give exactly what the plain computations give.

Labelling only the box around the ink, and reading the polarity from histograms
instead of sorting, were made for speed (``bench/pipeline.py``); what they return
must not differ in any way that reaches a reading.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from digitd.edge.vision import ink
from digitd.edge.vision.locate import _components
from digitd.edge.vision.normalise import median


@st.composite
def masks(draw: st.DrawFn) -> npt.NDArray[np.uint8]:
    """Binary masks with a few blobs and strokes anywhere, odd offsets included."""
    h = draw(st.integers(3, 90))
    w = draw(st.integers(3, 120))
    mask = np.zeros((h, w), np.uint8)
    for _ in range(draw(st.integers(0, 6))):
        x0, y0 = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
        x1, y1 = draw(st.integers(x0, w - 1)), draw(st.integers(y0, h - 1))
        if draw(st.booleans()):
            mask[y0 : y1 + 1, x0 : x1 + 1] = 255
        else:
            cv2.line(mask, (x0, y0), (x1, y1), 255, draw(st.integers(1, 3)))
    speckle = draw(st.integers(0, 2**31))
    noise = np.random.default_rng(speckle).random((h, w)) < draw(st.sampled_from([0, 0.02, 0.3]))
    mask[noise] = 255
    return mask


@settings(max_examples=300, deadline=None)
@given(masks())
def test_components_in_the_inks_box_are_those_of_the_whole_mask(
    mask: npt.NDArray[np.uint8],
) -> None:
    count, want_labels, want_stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    labels, stats = _components(mask)
    # The same numbering pixel by pixel, and the same box and area per component.
    assert np.array_equal(labels, want_labels)
    assert len(stats) == count
    assert np.array_equal(stats[1:], want_stats[1:])
    assert stats[0, cv2.CC_STAT_AREA] == want_stats[0, cv2.CC_STAT_AREA]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5000), st.integers(0, 2**31), st.sampled_from(["uniform", "dark", "bright"]))
def test_kth_from_the_histogram_is_the_sorted_kth(n: int, seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        values = rng.integers(0, 256, n)
    else:  # mostly one level with a thin tail, as residuals of ink against paper are
        level = 0 if kind == "dark" else 255
        values = np.where(rng.random(n) < 0.99, level, rng.integers(0, 256, n))
    values = values.astype(np.uint8)
    cumulative = ink._histogram(values)
    ordered = np.sort(values)
    for k in {0, n // 2, (n - 1) // 2, n - max(1, n // 300), n - 1}:
        assert ink._kth(cumulative, k) == int(ordered[k])


def _dark_ink_of_whole_by_sorting(gray: npt.NDArray[np.uint8]) -> bool:
    step = max(1, min(gray.shape) // 160)
    g = gray[::step, ::step].astype(np.int16)
    level = int(np.median(g))
    darker, lighter = np.clip(level - g, 0, 255).ravel(), np.clip(g - level, 0, 255).ravel()
    k = darker.size - max(1, darker.size // 300)
    return bool(np.partition(darker, k)[k] >= np.partition(lighter, k)[k])


@settings(max_examples=200, deadline=None)
@given(st.integers(8, 400), st.integers(8, 400), st.integers(0, 2**31), st.booleans())
def test_polarity_from_histograms_is_the_polarity_from_sorting(
    h: int, w: int, seed: int, dark: bool
) -> None:
    rng = np.random.default_rng(seed)
    paper = rng.integers(90, 200)
    gray = np.clip(rng.normal(paper, rng.uniform(1, 30), (h, w)), 0, 255).astype(np.uint8)
    strokes = rng.integers(0, 12)
    for _ in range(strokes):
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(gray, p0, p1, int(rng.integers(0, 60) if dark else rng.integers(200, 256)),
                 int(rng.integers(1, 6)))
    assert ink.dark_ink_of_whole(gray) == _dark_ink_of_whole_by_sorting(gray)
    # Against the local background: the same residuals, sorted.
    bg = ink.background_of(gray)
    step = max(1, min(gray.shape) // 160)
    g, b = gray[::step, ::step], bg[::step, ::step]
    darker, lighter = cv2.subtract(b, g).ravel(), cv2.subtract(g, b).ravel()
    k = darker.size - max(1, darker.size // 300)
    want = bool(np.partition(darker, k)[k] >= np.partition(lighter, k)[k])
    assert ink.dark_ink_of(gray, bg) == want


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**31), st.sampled_from([np.uint8, np.float32]))
def test_the_crops_median_is_numpys(n: int, seed: int, dtype: type) -> None:
    values: npt.NDArray[Any] = (np.random.default_rng(seed).random(n) * 255).astype(dtype)
    assert median(values) == float(np.median(values))
