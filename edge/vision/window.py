"""Turn one fixed meter box into the meter-window model's input: the whole box, resized.

No ink cropping and no centring, unlike :mod:`~digitd.edge.vision.normalise`: in a fixed
box the ink's bounding box is the window frame, and where the digit sits in the
window *is* the information (how far the wheel has turned). The box is made grey,
resized to :data:`HEIGHT` x :data:`WIDTH`, and its contrast stretched, but never by
more than a fixed gain, so the faint unlit segments of an empty LCD cell stay faint
instead of becoming a perfect "8".

Training, evaluation and the daemon all call :func:`window_input`; bump
:data:`WINDOW_PREPROCESSING_VERSION` whenever its output changes (model cards
record it and the device refuses a mismatch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .image import Gray, to_gray

WINDOW_PREPROCESSING_VERSION = 1
HEIGHT = 32
WIDTH = 20
# The stretch divides by at least this many grey levels: a box that shows less
# contrast than this (an empty cell, a dark frame) keeps looking faint.
MIN_RANGE = 64.0


def window_input(crop: npt.NDArray[np.generic]) -> Gray:
    """The HEIGHT x WIDTH uint8 input for one box crop (grey, BGR or BGRA, any size)."""
    import cv2

    gray = to_gray(crop)
    h, w = gray.shape
    interp = cv2.INTER_AREA if h > HEIGHT or w > WIDTH else cv2.INTER_LINEAR
    small = np.asarray(cv2.resize(gray, (WIDTH, HEIGHT), interpolation=interp), np.float32)
    lo, hi = np.percentile(small, (2.0, 98.0))
    span = max(float(hi - lo), MIN_RANGE)
    # Centre the stretch on the box's own mid-grey so faint boxes stay mid-grey, not black.
    mid = (float(hi) + float(lo)) / 2.0
    out = (small - mid) * (255.0 / span) + 127.5
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def window_batch(crops: Sequence[npt.NDArray[np.generic]]) -> npt.NDArray[np.uint8]:
    """A stack of window inputs, shape (N, HEIGHT, WIDTH)."""
    if not crops:
        return np.zeros((0, HEIGHT, WIDTH), np.uint8)
    return np.stack([window_input(c) for c in crops])
