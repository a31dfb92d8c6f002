"""How people's pens differ from MNIST's: pen lifts, a European 1, a crossed 7, cell borders.

Each function takes a 28x28 white-on-black MNIST digit and returns a variant with
the same label, drawn the way real phone photos of handwriting showed them
(``python -m digitd.train.digits.sudoku_eval``): digits in strokes that do not touch, a 1
with a long flag and a base line, a 7 with a bar through its stem; and
:func:`cell_border` puts part of a grid cell's border into a crop. The
camera-style training copies use them (:mod:`digitd.train.digits.augment`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


def _ink_box(digit: U8) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(digit > 60)
    if ys.size == 0:
        return None
    return int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())


def pen_lift(digit: U8, rng: np.random.Generator) -> U8:
    """A gap of one or two pixels cut across the strokes: the pen lifted and set down."""
    box = _ink_box(digit)
    if box is None:
        return digit
    y0, y1, x0, x1 = box
    out = digit.copy()
    width = int(rng.integers(1, 3))
    if rng.random() < 0.5:  # a horizontal cut through part of the digit
        y = int(rng.integers(y0 + 2, max(y0 + 3, y1 - 1)))
        a = int(rng.integers(x0, max(x0 + 1, (x0 + x1) // 2)))
        b = int(rng.integers(min(x1, a + 3), x1 + 1))
        out[y : y + width, a : b + 1] = 0
    else:  # a vertical cut
        x = int(rng.integers(x0 + 2, max(x0 + 3, x1 - 1)))
        a = int(rng.integers(y0, max(y0 + 1, (y0 + y1) // 2)))
        b = int(rng.integers(min(y1, a + 3), y1 + 1))
        out[a : b + 1, x : x + width] = 0
    # A cut that took most of the digit away would teach the model to read scraps.
    return out if out.sum() >= 0.8 * digit.sum() else digit


def _line(img: U8, p: tuple[float, float], q: tuple[float, float], thickness: int) -> None:
    import cv2

    cv2.line(img, (round(p[0]), round(p[1])), (round(q[0]), round(q[1])), 255, thickness,
             lineType=cv2.LINE_AA)


def european_one(digit: U8, rng: np.random.Generator) -> U8:
    """A 1 with the long flag (and often a base line) that European schools teach."""
    box = _ink_box(digit)
    if box is None:
        return digit
    y0, y1, x0, x1 = box
    out = digit.copy()
    head = digit[y0 : y0 + 3] > 60
    top_x = float(np.mean(np.nonzero(head)[1])) if head.any() else (x0 + x1) / 2
    height = max(1, y1 - y0)
    # As heavy as the stem and long: in real photos the flag reaches about half the
    # digit's height to the left (short thin flags, as first drawn here, left those 1s
    # read as 7).
    stem = float((digit > 60).sum()) / height
    thickness = int(np.clip(round(stem * rng.uniform(0.6, 0.9)), 1, 4))
    # Never flatter than about 30 degrees: a flag near the horizontal is a 7's bar.
    reach = rng.uniform(0.35, 0.6) * height
    flag = (top_x - reach, y0 + reach * rng.uniform(0.55, 0.9))
    _line(out, (top_x, y0), flag, thickness)
    if rng.random() < 0.5:
        foot = digit[y1 - 2 : y1 + 1] > 60
        foot_x = float(np.mean(np.nonzero(foot)[1])) if foot.any() else (x0 + x1) / 2
        half = rng.uniform(0.15, 0.3) * height
        _line(out, (foot_x - half, y1), (foot_x + half, y1), thickness)
    return out


def crossed_seven(digit: U8, rng: np.random.Generator) -> U8:
    """A 7 with a short bar through the middle of its stem."""
    box = _ink_box(digit)
    if box is None:
        return digit
    y0, y1, _x0, _x1 = box
    y = round(y0 + rng.uniform(0.45, 0.6) * (y1 - y0))
    cols = np.nonzero(digit[y] > 60)[0]
    if cols.size == 0:
        return digit
    centre = float(cols.mean())
    half = rng.uniform(0.15, 0.25) * (y1 - y0)
    out = digit.copy()
    thickness = int(rng.integers(1, 3))
    _line(out, (centre - half, y), (centre + half, y + rng.uniform(-1, 1)), thickness)
    return out


def rewritten(digit: U8, scale: int, kernel: int, broader: bool) -> U8:
    """``digit`` written again with a finer pen (``broader`` False: a fine ballpoint or a
    pencil) or a marker, as a grey photo of dark ink on paper: enlarged ``scale`` times,
    its strokes eroded or dilated by a ``kernel``-pixel square."""
    import cv2

    big = np.asarray(cv2.resize(digit, None, fx=scale, fy=scale,
                                interpolation=cv2.INTER_LINEAR), np.uint8)
    square = np.ones((kernel, kernel), np.uint8)
    big = np.asarray(cv2.dilate(big, square) if broader else cv2.erode(big, square), np.uint8)
    sheet = np.zeros((big.shape[0] + 40, big.shape[1] + 40), np.uint8)
    sheet[20 : 20 + big.shape[0], 20 : 20 + big.shape[1]] = big
    return (235 - sheet.astype(np.int32) * 190 // 255).astype(np.uint8)


# Pens of :func:`rewritten` that measure (mostly) outside MNIST's width band, as
# (scale, kernel, broader): two fine ones and a marker.
PENS = {"fine": (6, 7, False), "finer": (8, 11, False), "marker": (3, 9, True)}


def cell_border(ink: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A grid cell's border along one or two edges of a crop's ink map (0..1, any size)."""
    out = ink.copy()
    for side in rng.permutation(4)[: int(rng.integers(1, 3))]:
        level = float(rng.uniform(0.5, 1.0))
        t = max(1, round(rng.uniform(0.02, 0.06) * max(ink.shape)))
        if side == 0:
            out[:t, :] = np.maximum(out[:t, :], level)
        elif side == 1:
            out[-t:, :] = np.maximum(out[-t:, :], level)
        elif side == 2:
            out[:, :t] = np.maximum(out[:, :t], level)
        else:
            out[:, -t:] = np.maximum(out[:, -t:], level)
    return out


# The variants ``digitd train --pen-variants`` can pick, by name.
KINDS = ("lift", "european-1", "crossed-7", "border")


def parse_kinds(text: str) -> tuple[str, ...]:
    """``"all"`` or a comma list of :data:`KINDS`; anything else is refused by name."""
    if text.strip() == "all":
        return KINDS
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"--pen-variants {text!r}: unknown variant {', '.join(unknown) or '(none given)'}; "
            f"give 'all' or a comma list of {', '.join(KINDS)}"
        )
    return kinds


def pen_variant(
    digit: U8, label: int, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS
) -> U8:
    """The digit as some pen would draw it, or unchanged (more than half the time)."""
    if label == 1 and "european-1" in kinds and rng.random() < 0.5:
        return european_one(digit, rng)
    if label == 7 and "crossed-7" in kinds and rng.random() < 0.35:
        return crossed_seven(digit, rng)
    if "lift" in kinds and rng.random() < 0.3:
        return pen_lift(digit, rng)
    return digit
