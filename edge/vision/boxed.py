"""Fixed boxes of handwriting (``display = "handwriting"``): a box says where a digit
is, and the automatic search reads it there.

People do not write inside the lines: a 2's base, a 9's tail, an 8's top leave the box
drawn for them, and a digit cut at the box's edge reads as another (a 2 without its
base is a 7) or not at all. So the search runs on the box and a margin around it, with
all it does for free-standing handwriting (grid lines and frames removed, strokes that
do not touch offered joined, polarity), and the digit it finds lying mostly inside the
box is the box's reading. A digit beside the box, in the margin, is found as a digit
of its own and left out; where nothing lies in the box, the box holds no digit.
(Painting over the strokes that come into the margin from beyond it, before the
search, read fewer real sudoku cells and rows: it also took strokes of the box's own
digit that reach the margin's edge.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..reading import BoxXYWH, Prediction
from .image import Gray
from .locate import Located

# The margin searched around a box, as a fraction of its longer side.
REACH = 0.3
# A digit found there is the box's when at least this share of it lies inside the box.
MIN_INSIDE = 0.5
# What a box where the search found nothing reads as: not a digit.
NOTHING = Prediction(digit=None, confidence=1.0, scores=(0.0,) * 10, not_a_digit=1.0)


def around(region: Gray, box: BoxXYWH) -> tuple[Gray, tuple[int, int]]:
    """The part of ``region`` searched for ``box``'s digit, and where it starts."""
    x, y, w, h = box
    reach = round(REACH * max(w, h))
    rh, rw = region.shape
    x0, y0 = max(0, x - reach), max(0, y - reach)
    x1, y1 = min(rw, x + w + reach), min(rh, y + h + reach)
    return region[y0:y1, x0:x1], (x0, y0)


def inside_share(found: BoxXYWH, box: BoxXYWH) -> float:
    """How much of the ``found`` region's box lies inside ``box``."""
    fx, fy, fw, fh = found
    x, y, w, h = box
    ix = max(0, min(fx + fw, x + w) - max(fx, x))
    iy = max(0, min(fy + fh, y + h) - max(fy, y))
    return ix * iy / max(1, fw * fh)


def pick(found: Sequence[BoxXYWH], box: BoxXYWH) -> int | None:
    """The index of the region found that is ``box``'s digit, or None."""
    shares = [inside_share(f, box) for f in found]
    if not shares or max(shares) < MIN_INSIDE:
        return None
    return int(np.argmax(shares))


def inputs_by_box(located: Located, inputs: npt.NDArray[np.uint8]) -> dict[BoxXYWH, Gray]:
    """The model's input for every region a reading of ``located`` may have chosen, by
    box: the regions, then the pieces of each split, then each joined crop (the order
    the reader stacks them for the model)."""
    boxes = list(located.boxes)
    for split in located.splits.values():
        boxes.extend(split.boxes)
    boxes.extend(join.box for join in located.joins.values())
    return dict(zip(boxes, inputs, strict=True))
