"""The shared MNIST-style normalisation, checked against MNIST itself."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from digitd.edge.vision.normalise import (
    THICK,
    THIN,
    even_strokes,
    ink_contrast,
    is_dark_ink,
    normalise_digit,
    stroke_width,
)
from digitd.train.digits.pen import PENS, rewritten

Digits = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def _corr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def _photo(digit: npt.NDArray[np.uint8], scale: int, dark_ink: bool) -> npt.NDArray[np.uint8]:
    """The digit enlarged onto a bigger sheet, as ink on paper or light on a display."""
    big = cv2.resize(digit, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    sheet = np.zeros((big.shape[0] + 40, big.shape[1] + 60), np.uint8)
    sheet[15 : 15 + big.shape[0], 35 : 35 + big.shape[1]] = big
    if dark_ink:
        return (230 - sheet.astype(np.int32) * 180 // 255).astype(np.uint8)
    return (20 + sheet.astype(np.int32) * 200 // 255).astype(np.uint8)


def test_centred_mnist_digit_is_reproduced(mnist_test: Digits) -> None:
    images, _ = mnist_test
    corr = [_corr(normalise_digit(d), d) for d in images[:300]]
    assert np.median(corr) > 0.995
    assert np.mean(corr) > 0.98


def test_output_is_mnist_shaped(mnist_test: Digits) -> None:
    out = normalise_digit(mnist_test[0][0])
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, xs = np.nonzero(out)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 20
    mass = out.astype(float)
    cy = (mass.sum(axis=1) * np.arange(28)).sum() / mass.sum()
    cx = (mass.sum(axis=0) * np.arange(28)).sum() / mass.sum()
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6


@pytest.mark.parametrize("dark_ink", [True, False])
@pytest.mark.parametrize("scale", [2, 5])
def test_photographed_digit_normalises_back(mnist_test: Digits, dark_ink: bool, scale: int) -> None:
    images, _ = mnist_test
    corr = [_corr(normalise_digit(_photo(d, scale, dark_ink)), d) for d in images[:100]]
    assert np.median(corr) > 0.9


def test_polarity_is_detected(mnist_test: Digits) -> None:
    digit = mnist_test[0][3]
    assert is_dark_ink(_photo(digit, 3, dark_ink=True))
    assert not is_dark_ink(_photo(digit, 3, dark_ink=False))


def test_grey_levels_are_kept(mnist_test: Digits) -> None:
    out = normalise_digit(_photo(mnist_test[0][5], 3, dark_ink=True))
    levels = np.unique(out)
    assert len(levels) > 30  # anti-aliased, not binarised


def test_contrast_tells_a_faint_digit_from_a_bold_one(mnist_test: Digits) -> None:
    digit = mnist_test[0][7]
    bold = _photo(digit, 3, dark_ink=True)  # ink 180 grey levels below the paper
    faint = (230 - (230 - bold.astype(np.int32)) // 6).astype(np.uint8)  # a sixth of that
    assert ink_contrast(bold) == pytest.approx(180, abs=4)
    assert ink_contrast(faint) == pytest.approx(30, abs=3)
    # Scaled to full strength both are the same digit: only the contrast differs.
    assert _corr(normalise_digit(bold), normalise_digit(faint)) > 0.98
    speck = np.full((40, 30), 200, np.uint8)
    speck[20, 15] = 0
    assert ink_contrast(speck) < 5  # one noisy pixel is not ink


@pytest.mark.parametrize(
    "blank",
    [np.full((40, 30), 200, np.uint8), np.zeros((5, 5), np.uint8), np.full((1, 1, 3), 9, np.uint8)],
)
def test_no_ink_gives_black(blank: npt.NDArray[np.uint8]) -> None:
    assert not normalise_digit(blank).any()


def test_colour_sixteen_bit_and_alpha_inputs(mnist_test: Digits) -> None:
    photo = _photo(mnist_test[0][7], 3, dark_ink=True)
    ref = normalise_digit(photo)
    bgr = cv2.cvtColor(photo, cv2.COLOR_GRAY2BGR)
    bgra = cv2.cvtColor(photo, cv2.COLOR_GRAY2BGRA)
    sixteen = photo.astype(np.uint16) * 257
    for variant in (bgr, bgra, sixteen, photo.astype(np.float32) / 255.0):
        assert _corr(normalise_digit(variant), ref) > 0.99


def _width(image: npt.NDArray[np.uint8]) -> float:
    return stroke_width(image.astype(np.float32) / 255.0)


def test_typical_mnist_strokes_are_left_alone(mnist_test: Digits) -> None:
    images, _ = mnist_test
    inside = [d for d in images[:300] if THIN <= _width(d) <= THICK]
    assert len(inside) >= 0.85 * 300  # the band holds 95 % of MNIST's training digits
    for d in inside:
        small = d.astype(np.float32) / 255.0
        assert np.array_equal(even_strokes(small), small)


def test_thin_pencil_and_thick_marker_are_brought_to_mnist_widths(mnist_test: Digits) -> None:
    """Real MNIST digits written again with a fine pen and with a marker: those whose
    strokes fall outside MNIST's band are grown or thinned by a pixel of the fit, nearer
    MNIST's median width than without it."""
    images, _ = mnist_test
    mnist_median = 2.41  # python -m digitd.train.digits.stroke_widths
    gains: dict[str, list[float]] = {"thin": [], "thick": []}
    for d in images[:150]:
        for kind, pen in (("thin", PENS["fine"]), ("thick", PENS["marker"])):
            photo = rewritten(d, *pen)
            plain = normalise_digit(photo, even=False)
            width = _width(plain)
            if THIN <= width <= THICK:
                continue
            after = _width(normalise_digit(photo))
            gains[kind].append(abs(width - mnist_median) - abs(after - mnist_median))
    for kind, values in gains.items():
        assert len(values) >= 30, kind
        # Nearly every such digit moves towards MNIST's width, by most of a pixel.
        assert np.mean(np.array(values) > 0) >= 0.9, kind
        assert np.median(values) >= 0.5, kind
