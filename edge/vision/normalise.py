"""Turn the crop of one digit into the 28x28 model input, the way MNIST was made.

MNIST digits are white on black, scaled to fit a 20x20 box with their aspect kept
and anti-aliased grey levels, then shifted so their centre of mass sits at the
centre of the 28x28 field. Strokes much thinner or thicker than MNIST's are evened
by a pixel first (:func:`even_strokes`). Training augmentation, evaluation and the daemon all
call :func:`normalise_digit`, so what the model learns and what the device feeds
it cannot drift apart. Bump :data:`PREPROCESSING_VERSION` whenever the output of
this module changes: model cards record it and the device refuses a mismatch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .image import Gray, to_gray

PREPROCESSING_VERSION = 2
# What each version does, as model cards describe it (version 1: the same without the
# stroke evening).
PREPROCESSING_DESCRIPTION = (
    "digitd.edge.vision.normalise: white on black, fit 20x20 keeping aspect, strokes "
    "outside MNIST's width band evened by a pixel, centre of mass at the centre of 28x28, "
    "grey levels kept"
)
SIZE = 28
FIT = 20

# Below this contrast (grey levels, 0-255) a crop holds no ink worth reading.
MIN_CONTRAST = 24.0


def border_pixels(gray: Gray) -> npt.NDArray[np.uint8]:
    """The one-pixel frame of an image: in a crop around a digit, that is background."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return gray.reshape(-1)
    return np.concatenate([gray[0, :], gray[-1, :], gray[1:-1, 0], gray[1:-1, -1]])


def median(values: npt.NDArray[np.generic]) -> float:
    """``np.median`` of a small 1-D array, the same value (the mean of the two middle
    ones for an even count) without its general machinery, which cost more than the
    sort: it ran twice for every crop of every frame."""
    ordered = np.sort(values, axis=None)
    n = ordered.size
    low, high = ordered[(n - 1) // 2], ordered[n // 2]
    if np.issubdtype(ordered.dtype, np.integer):
        return (float(low) + float(high)) / 2.0
    return float((low + high) / 2)  # in the array's own precision, as np.median


def is_dark_ink(gray: Gray) -> bool:
    """Decide the polarity of a crop: True for dark ink on light paper.

    The background is whatever the border of the crop mostly shows, so a light
    digit on a dark display and a pencil digit on paper are both read right.
    """
    border = border_pixels(gray).astype(np.float32)
    return median(border) >= float(gray.mean())


def _raw_ink(crop: npt.NDArray[np.generic], dark_ink: bool | None) -> npt.NDArray[np.float32]:
    """Ink in grey levels above the crop's background (white on black, not yet scaled)."""
    gray = to_gray(crop)
    if dark_ink is None:
        dark_ink = is_dark_ink(gray)
    ink = (255.0 - gray.astype(np.float32)) if dark_ink else gray.astype(np.float32)
    background = median(border_pixels(ink.astype(np.uint8)))
    return ink - background


def ink_contrast(crop: npt.NDArray[np.generic], dark_ink: bool | None = None) -> float:
    """How far the strongest ink stands out from the background, in grey levels.

    :func:`normalise_digit` scales every crop to full strength, so this is the one
    place the absolute contrast survives: it tells the faint unlit segments of an
    empty LCD cell (an "8" once scaled) from a lit "8" next to it. A high
    percentile rather than the maximum, so a speck of sensor noise does not count.
    """
    return max(0.0, float(np.percentile(_raw_ink(crop, dark_ink), 99.5)))


def ink_map(crop: npt.NDArray[np.generic], dark_ink: bool | None = None) -> npt.NDArray[np.float32]:
    """White-on-black ink strength in [0, 1], background removed, grey levels kept."""
    ink = _raw_ink(crop, dark_ink)
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        return np.zeros(ink.shape, np.float32)
    ink /= peak
    # Noise and paper texture a little above the background level would pull the
    # centre of mass around; cut it off but keep the anti-aliased edge of strokes.
    ink[ink < 0.1] = 0.0
    return ink


# Stroke widths (pixels of the 20x20 fit, :func:`stroke_width`) outside what 95 % of
# MNIST's training digits show (their 2.5th and 97.5th percentiles; ``python -m
# digitd.train.digits.stroke_widths``): a thinner stroke (pencil, ballpoint on a big cell) is
# grown by a pixel, a thicker one (marker) thinned by one. Inside it nothing changes.
THIN = 1.45
THICK = 4.01


def stroke_width(small: npt.NDArray[np.float32]) -> float:
    """The mean width of a digit's strokes (ink in [0, 1]): twice the area over the
    outline's length, which for a stroke of length L and width w is 2wL / 2L. NaN
    without ink."""
    import cv2

    solid = (small >= 0.5).astype(np.uint8)
    area = int(solid.sum())
    if area == 0:
        return float("nan")
    contours, _ = cv2.findContours(solid, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * area / max(outline, 1.0)


def even_strokes(small: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``small`` (a digit fitted to 20x20, ink in [0, 1]) with strokes outside
    [:data:`THIN`, :data:`THICK`] grown or thinned by one pixel, grey levels kept, and
    fitted to 20x20 again if it grew."""
    import cv2

    width = stroke_width(small)
    if not (width < THIN or width > THICK):
        return small
    padded = cv2.copyMakeBorder(small, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0.0)
    kernel = np.ones((2, 2), np.uint8)
    out = cv2.dilate(padded, kernel) if width < THIN else cv2.erode(padded, kernel)
    ys, xs = np.nonzero(out > 0.0)
    if ys.size == 0:  # thinned away: a speck, keep it as it was
        return small
    out = out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = out.shape
    if max(h, w) > FIT:
        scale = FIT / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    return np.asarray(np.clip(out, 0.0, 1.0), np.float32)


def fit_and_centre(ink: npt.NDArray[np.float32], even: bool = True) -> Gray:
    """Fit ink (float, white on black) into 20x20 keeping aspect, strokes evened (unless
    ``even`` is False: version 1, for measuring what the evening does); centre of mass
    to 14,14."""
    import cv2

    out = np.zeros((SIZE, SIZE), np.uint8)
    ys, xs = np.nonzero(ink > 0.0)
    if ys.size == 0:
        return out
    tight = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = tight.shape
    scale = FIT / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    fitted = np.asarray(np.clip(cv2.resize(tight, (new_w, new_h), interpolation=interp), 0, 1),
                        np.float32)
    small = even_strokes(fitted) if even else fitted
    new_h, new_w = small.shape
    mass = float(small.sum())
    if mass <= 0.0:
        return out
    cy = float((small.sum(axis=1) * np.arange(new_h)).sum()) / mass
    cx = float((small.sum(axis=0) * np.arange(new_w)).sum()) / mass
    top = round(SIZE / 2 - cy)
    left = round(SIZE / 2 - cx)
    # A lopsided digit may want to leave the field; keep it whole instead.
    top = min(max(top, 0), SIZE - new_h)
    left = min(max(left, 0), SIZE - new_w)
    out[top : top + new_h, left : left + new_w] = np.round(small * 255.0).astype(np.uint8)
    return out


def normalise_digit(
    crop: npt.NDArray[np.generic], dark_ink: bool | None = None, even: bool = True
) -> Gray:
    """Return the 28x28 uint8 MNIST-style image (white digit on black) of one digit crop.

    ``crop`` is any grey/BGR/BGRA image of one digit with some background around it.
    ``dark_ink`` forces the polarity; ``None`` works it out from the crop's border.
    A crop with no ink gives an all-black image (the model calls it "not a digit").
    """
    return fit_and_centre(ink_map(crop, dark_ink), even)
