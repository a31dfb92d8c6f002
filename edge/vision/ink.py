"""Ink and paper: the background without the ink, which way the ink goes, and the ruled
lines, grid lines and frames that are ink but no digit. Used by the locator."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .image import Gray


def reduce(image: Gray, factor: int) -> Gray:
    """``image`` shrunk by a whole ``factor`` (block means), the size :func:`background_of`
    and friends work at. The edge rows and columns beyond a whole block are left out, so
    OpenCV takes its fast integer path (a fractional scale costs several times as much)."""
    import cv2

    if factor <= 1:
        return image
    h, w = image.shape[:2]
    sh, sw = max(1, h // factor), max(1, w // factor)
    whole = image[: sh * factor, : sw * factor]
    return np.asarray(cv2.resize(whole, (sw, sh), interpolation=cv2.INTER_AREA), image.dtype)


# The paper's window in full-size pixels: a fifth of the region's shorter side, or half
# of it up to this many pixels (see background_of).
SMALL_REGION_WINDOW = 60
# A region no taller (or wider) than this is a cell or a straightened row that its digits
# fill, not a whole frame (the locator looks for faint grid lines there).
SMALL_REGION = 2 * SMALL_REGION_WINDOW


def _paper_window(side: int, factor: int) -> int:
    """The (odd) median/mean window, in pixels of the copy reduced by ``factor``."""
    full = max(side / 5, min(side / 2, SMALL_REGION_WINDOW))
    return max(5, int(full / factor) | 1)


def background_of(gray: Gray) -> Gray:
    """The paper (or display) without its ink: a wide median filter on a small copy.

    A median ignores thin strokes, whichever their polarity, but follows shadows,
    uneven light and their edges; subtracting it leaves the ink. The window is a fifth
    of the region's shorter side, but half of it in a small region (up to
    :data:`SMALL_REGION_WINDOW` px): where digits fill the region's height (a cell, a
    straightened row) a fifth sits mostly on a bold stroke, takes it for paper and
    leaves only the stroke's outline as ink; in a whole frame, half its side would no
    longer follow the edge of a shadow across it.
    """
    import cv2

    h, w = gray.shape
    factor = max(1, min(h, w) // 120)
    small = reduce(gray, factor)
    k = _paper_window(min(h, w), factor)
    bg = cv2.medianBlur(small, k)
    if factor == 1:
        return np.asarray(bg, np.uint8)
    return np.asarray(cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


def paper_without_ink(gray: Gray, mask: Gray, background: Gray, dark_ink: bool) -> Gray:
    """The background again, as the local mean of the pixels ``mask`` does not call ink.

    Never on the ink's side of the first estimate: ink only takes light away from
    the paper (or adds it to a dark display), so the paper is at least as bright
    as any estimate that ink pulled down.
    """
    import cv2

    h, w = gray.shape
    factor = max(1, min(h, w) // 120)
    grown = np.asarray(cv2.dilate(mask, np.ones((3, 3), np.uint8)), np.uint8)
    clear = (reduce(grown, factor) < 8).astype(np.float32)
    k = _paper_window(min(h, w), factor)
    count = cv2.boxFilter(clear, -1, (k, k), normalize=False)
    if float(count.min()) >= 0.75 * k * k:
        # Ink fills no window much: the median was not dragged anywhere (the usual
        # frame of a few digits), so it stands, and the second pass is skipped.
        return background
    small = reduce(gray, factor).astype(np.float32)
    total = cv2.boxFilter(small * clear, -1, (k, k), normalize=False)
    first = reduce(background, factor).astype(np.float32)
    mean = np.where(count >= 3.0, total / np.maximum(count, 1.0), first)
    paper = np.maximum(mean, first) if dark_ink else np.minimum(mean, first)
    paper8 = np.clip(np.round(paper), 0, 255).astype(np.uint8)
    if factor == 1:
        return paper8
    return np.asarray(cv2.resize(paper8, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


def dark_ink_of(gray: Gray, background: Gray | None = None) -> bool:
    """True when the ink is darker than its background (pencil on paper, not an LED display).

    Compared with the background, ink is the strong tail on one side: a dark digit
    leaves deep negative residuals, a light one strong positive ones.
    """
    import cv2

    bg = background_of(gray) if background is None else background
    step = max(1, min(gray.shape) // 160)
    g, b = gray[::step, ::step], bg[::step, ::step]
    return _darker_tail_wins(
        np.asarray(cv2.subtract(b, g), np.uint8), np.asarray(cv2.subtract(g, b), np.uint8)
    )


def dark_ink_of_whole(gray: Gray) -> bool:
    """The polarity seen against the region's median level instead of a local background.

    Around a bold marker stroke a local median is dragged towards the ink, and the
    paper inside an "8" then looks like light ink on a dark ground; the median of
    the whole region does not move. It is fooled by shadows instead, so the two
    are asked together: where they disagree, the reader lets the model decide.
    """
    import cv2

    step = max(1, min(gray.shape) // 160)
    g = np.ascontiguousarray(gray[::step, ::step])
    counts = _histogram(g)
    n = g.size
    # np.median's value (the mean of the two middle ones for an even count), truncated
    # as int() does; from the histogram, as grey levels are whole numbers 0..255.
    middle = (_kth(counts, (n - 1) // 2) + _kth(counts, n // 2)) / 2
    level = np.full_like(g, int(middle))
    darker = np.asarray(cv2.subtract(level, g), np.uint8)
    lighter = np.asarray(cv2.subtract(g, level), np.uint8)
    return _darker_tail_wins(darker, lighter)


def _histogram(values: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Cumulative counts of the grey levels 0..255 (``[v]``: how many are <= v)."""
    import cv2

    hist = cv2.calcHist([np.ascontiguousarray(values)], [0], None, [256], [0, 256])
    return np.cumsum(hist.ravel().astype(np.int64))


def _kth(cumulative: npt.NDArray[np.int64], k: int) -> int:
    """The k-th smallest value (0-based), as a sort would put it, from cumulative counts."""
    return int(np.searchsorted(cumulative, k + 1))


def _darker_tail_wins(darker: npt.NDArray[np.uint8], lighter: npt.NDArray[np.uint8]) -> bool:
    """Ink is the strong tail on one side of the background: compare the residuals one
    pixel in 300 reaches each way. Counted in a histogram, not sorted: grey levels are
    whole numbers 0..255 and one value is all we need (the frame's costliest step else)."""
    k = darker.size - max(1, darker.size // 300)
    return _kth(_histogram(darker), k) >= _kth(_histogram(lighter), k)


def _line_pixels(mask: Gray, horizontal: bool, along_edges: bool = True) -> Gray | None:
    """Ink that belongs to straight lines running (nearly) across the whole region
    and, with ``along_edges``, along its edges for half of it."""
    import cv2

    h, w = mask.shape
    span = w if horizontal else h
    # A line on real paper drifts by a pixel or two: thicken across it first.
    drift = np.ones((5, 1) if horizontal else (1, 5), np.uint8)
    thick_mask = np.asarray(cv2.dilate(mask, drift), np.uint8)
    # A line across the region then leaves a row (column) mostly inked; without one
    # there is nothing to find, and nothing to pay for.
    counts = np.count_nonzero(thick_mask, axis=1 if horizontal else 0)
    if int(counts.max(initial=0)) < 0.3 * span:
        return None
    across = h if horizontal else w
    length = max(12, int(0.4 * span))
    kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
    runs = np.asarray(cv2.morphologyEx(thick_mask, cv2.MORPH_OPEN, kernel), np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        runs, connectivity=8, ltype=cv2.CV_32S
    )
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        extent, thick = (bw, bh) if horizontal else (bh, bw)
        start, size = (y, h) if horizontal else (x, w)
        # Only lines that cross the region (a digit's own stroke stops short of its
        # edges, even a 7's stem written the cell's height), or
        # run along its edge for half of it (a cell's frame, cut at a corner). Along
        # means touching it: a digit's base near the bottom of a cell is no frame.
        # A box's heavy border may be thick if it crosses; a piece along the edge must
        # be as thin as a grid line (a digit's base touching the edge is heavier).
        at_edge = start <= 1 or start + thick >= size - 1
        short = min(span, across)
        keep[i] = (extent >= 0.95 * span and thick <= max(8, 0.2 * short)) or (
            along_edges and at_edge and extent >= 0.5 * span and thick <= max(8, 0.15 * short)
        )
    if not keep.any():
        return None
    lines = np.asarray(keep[labels], np.uint8) * 255
    return np.asarray(cv2.dilate(lines, np.ones((3, 3), np.uint8)), np.uint8)


def _merge(a: Gray | None, b: Gray | None) -> Gray | None:
    if a is None or b is None:
        return a if b is None else b
    return np.maximum(a, b)


def _lines_between(
    mask: Gray, crossing: Gray, found: Gray | None, horizontal: bool
) -> Gray | None:
    """Lines (horizontal if ``horizontal``) found cell by cell between the ``crossing``
    lines: the parts of the region between two of them at least half as wide as the
    region is tall (a cell, not the gap inside a line's frayed edge). Lines ``found``
    across the whole region are gone first, so a digit touching one is no line; and
    only lines across a cell count: a digit written low in a row reaches its edge."""
    h, w = mask.shape
    covered = (crossing > 0).any(axis=0 if horizontal else 1)
    across = h if horizontal else w
    gone = crossing > 0 if found is None else (crossing > 0) | (found > 0)
    cleared = np.where(gone, 0, mask).astype(np.uint8)
    out: Gray | None = None
    # The runs of uncovered columns (rows), each a cell between two lines or the edge.
    edges = np.flatnonzero(np.diff(np.concatenate(([1], covered.astype(np.int8), [1]))))
    cells = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)
             if b - a >= max(12, 0.5 * across)]
    # One cell is the region itself (a cell's own frame): its lines were looked for
    # across the region already, and a narrower span would take a wide 2's base.
    if len(cells) < 2:
        return None
    for a, b in cells:
        part = cleared[:, a:b] if horizontal else cleared[a:b, :]
        lines = _line_pixels(part, horizontal, along_edges=False)
        if lines is None:
            continue
        if out is None:
            out = np.zeros((h, w), np.uint8)
        if horizontal:
            out[:, a:b] = np.maximum(out[:, a:b], lines)
        else:
            out[a:b, :] = np.maximum(out[a:b, :], lines)
    return out


def line_mask(mask: Gray) -> npt.NDArray[np.bool_] | None:
    """Where ruled lines, grid lines, box frames and table borders are (None: nowhere).

    Such lines are long, thin and straight and run across the region; a digit
    touching one would otherwise be glued to it, and a line on its own read as a "1".
    """
    import cv2

    # Lines are long: they are found on a reduced copy (any ink in a block counts),
    # then only the ink under them at full size is taken away.
    h, w = mask.shape
    factor = max(1, min(h, w) // 120)
    small = mask
    if factor > 1:
        small = np.asarray(reduce(mask, factor) > 0, np.uint8) * 255
    across = _line_pixels(small, True)
    down = _line_pixels(small, False)
    # Paper curves: over a whole row of cells a border drifts by more than a line's
    # width and is no straight line, but between two crossing lines (one cell) it is.
    if down is not None:
        across = _merge(across, _lines_between(small, down, across, True))
    if across is not None:
        down = _merge(down, _lines_between(small, across, down, False))
    lines = _merge(across, down)
    if lines is None:
        return None
    if factor > 1:
        lines = np.asarray(cv2.resize(lines, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)
    return lines > 0


def line_remnants(
    lines: npt.NDArray[np.bool_] | None, labels: npt.NDArray[np.int32], stats: npt.NDArray[np.int32]
) -> npt.NDArray[np.bool_]:
    """Per component: a sliver lying wholly along a removed line, that line's frayed
    edge rather than ink of its own (a stroke that crosses a line reaches beyond it).
    Left in, it joins the digit above or below and makes it as tall as the region."""
    import cv2

    if lines is None:
        return np.zeros(len(stats), bool)
    near = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    inside = np.bincount(labels[near], minlength=len(stats))
    thin = np.minimum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) <= 3
    out = (inside >= stats[:, cv2.CC_STAT_AREA]) & thin
    out[0] = False
    return np.asarray(out, bool)
