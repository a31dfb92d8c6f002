"""Whatever a camera or a file hands over, reading never crashes: it reads or reports nothing."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitd.edge.config import LocateConfig
from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.image import ImageError
from digitd.edge.vision.reader import Reader

READER = Reader(Classifier())

dtypes = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.bool_, np.int32])
shapes = st.tuples(st.integers(8, 300), st.integers(8, 300), st.sampled_from([0, 1, 3, 4]))


def _check(reading_value: str, n_digits: int) -> None:
    assert reading_value == "" or reading_value.isdigit()
    assert len(reading_value) <= n_digits


@st.composite
def frames(draw: st.DrawFn) -> npt.NDArray[np.generic]:
    h, w, c = draw(shapes)
    shape = (h, w) if c == 0 else (h, w, c)
    dtype = draw(dtypes)
    kind = draw(st.sampled_from(["random", "constant", "blocks"]))
    if kind == "constant":
        value = draw(st.integers(0, 255))
        return np.full(shape, value).astype(dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "blocks":  # large flat patches with hard edges: blobs, not digits
        small = rng.integers(0, 256, (max(1, h // 40), max(1, w // 40), *shape[2:]))
        big = np.kron(small, np.ones((40, 40, *([1] if c else [])), np.int64))[:h, :w]
        return big.astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.floating):
        scale = draw(st.sampled_from([1.0, 255.0, 1e6]))
        return (rng.random(shape) * scale).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -(2**31)), min(info.max, 2**31 - 1), shape).astype(dtype)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_any_frame_reads_or_reports_nothing(frame: npt.NDArray[np.generic]) -> None:
    reading = READER.read(frame)
    _check(reading.value, READER.locate_cfg.max_digits)
    for d in reading.digits:
        x, y, w, h = d.box
        assert x >= 0 and y >= 0 and x + w <= frame.shape[1] and y + h <= frame.shape[0]


@settings(max_examples=30, deadline=None)
@given(frames(), st.lists(st.tuples(st.integers(-50, 400), st.integers(-50, 400),
                                    st.integers(1, 200), st.integers(1, 200)),
                          min_size=1, max_size=6))
def test_any_frame_with_fixed_boxes(frame: npt.NDArray[np.generic],
                                    boxes: list[tuple[int, int, int, int]]) -> None:
    reader = Reader(READER.classifier, LocateConfig(mode="boxes", boxes=[list(b) for b in boxes]))
    try:
        reading = reader.read(frame)
    except ImageError as exc:  # a box outside the frame is a configuration error, said clearly
        assert "outside" in str(exc)
        return
    assert len(reading.digits) == len(boxes)


@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (5, 400), (7, 7, 3), (0, 10, 3)])
def test_frames_too_small_are_a_clear_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ImageError, match=r"too small|empty"):
        READER.read(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("shape", [(2, 2, 2), (10, 10, 5), (4, 4, 4, 4)])
def test_frames_of_the_wrong_shape_are_a_clear_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ImageError, match="expected HxW grey"):
        READER.read(np.zeros(shape, np.uint8))


def test_a_huge_frame_is_read() -> None:
    frame = np.full((3000, 4000, 3), 200, np.uint8)
    frame[1400:1600, 1900:1930] = 20  # one thick bar: a "1" or nothing, never a crash
    _check(READER.read(frame).value, 1)
