"""A handwritten digit that runs over its fixed box: the strokes that cross the box's
edge are followed out of it, so the digit model sees the whole digit.

People do not write inside the lines: a 2's base, a 9's tail or an 8's top often
leaves the box a user drew for it, and a digit cut at the box's edge reads as another
(a 2 without its base is a 7) or not at all. Only ink that is one stroke with ink inside
the box is followed, and only a little way out; what else lies around the box — a
neighbour's tail reaching in, a grid line, a frame — stays out. The meter-window model
does not use this: there the box *is* the window, and where the digit sits in it is
the wheel's position.
"""

from __future__ import annotations

import numpy as np

from ..reading import BoxXYWH
from .image import Gray
from .ink import line_mask
from .normalise import border_pixels, ink_map

# How far ink is followed out of the box, as a fraction of the box's longer side.
REACH = 0.3
# A stroke is the digit's own when at least this much of it lies inside the box;
# a neighbour's tail that reaches into the box lies mostly outside.
OWN_INSIDE = 0.3
# Ink above this strength (of the strongest) makes the strokes that are followed.
STROKE = 0.3


def crop_following_ink(region: Gray, box: BoxXYWH, dark_ink: bool) -> Gray:
    """The box's crop of ``region``, grown to take in the strokes that leave it.

    Around the box, everything but those strokes is painted with the box's
    background, so the normalisation finds only the digit there. Without such
    strokes this is the box's crop unchanged.
    """
    import cv2

    x, y, w, h = box
    plain = region[y : y + h, x : x + w]
    reach = round(REACH * max(w, h))
    rh, rw = region.shape
    x0, y0 = max(0, x - reach), max(0, y - reach)
    x1, y1 = min(rw, x + w + reach), min(rh, y + h + reach)
    around = region[y0:y1, x0:x1]
    if around.shape == plain.shape:
        return plain
    mask = np.asarray(ink_map(around, dark_ink) > STROKE, np.uint8) * 255
    lines = line_mask(mask)
    if lines is not None:
        mask[lines] = 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    inside = np.zeros(labels.shape, bool)
    inside[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = True
    in_box = np.bincount(labels[inside], minlength=n)
    area = stats[:, cv2.CC_STAT_AREA]
    # Crosses the box's edge and is mostly the digit's own (grid lines and frames
    # are gone already: line_mask).
    crossing = (in_box > 0) & (in_box < area) & (in_box >= OWN_INSIDE * area)
    crossing[0] = False
    if not crossing.any():
        return plain
    keep = crossing[labels]
    # The strokes' soft edges (below STROKE) belong to them too.
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    keep |= inside
    background = round(float(np.median(border_pixels(plain))))
    out = np.where(keep, around, np.uint8(background)).astype(np.uint8)
    ys, xs = np.nonzero(keep)
    return out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
