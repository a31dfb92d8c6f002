"""Find the digits in a frame: ROI, optional perspective warp, then fixed boxes or automatic search.

Automatic search: the ink polarity is worked out per image; an adaptive threshold
(robust to shadows and uneven light) marks ink; connected components are merged
when they share columns (a digit broken into pieces), filtered by size and shape,
split when several digits touch, kept to the main row and ordered left to right.
Each digit comes out as a grey crop with other digits' ink blanked, ready for
:func:`~digitd.edge.vision.normalise.normalise_digit`.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..config import LocateConfig
from ..reading import BoxXYWH
from .image import Gray, ImageError, to_gray
from .ink import (
    SMALL_REGION,
    background_of,
    dark_ink_of,
    dark_ink_of_whole,
    line_mask,
    line_remnants,
    paper_without_ink,
)

logger = logging.getLogger(__name__)

MIN_SIDE = 8  # pixels: anything smaller cannot hold a readable digit


@dataclass(frozen=True)
class Split:
    """A region wide enough to be touching digits, cut at its emptiest columns."""

    crops: list[Gray]
    boxes: list[BoxXYWH]


@dataclass(frozen=True)
class Join:
    """A digit drawn in strokes that do not touch, offered with the strokes beside it."""

    crop: Gray
    box: BoxXYWH
    partner: int | None  # the next region of the row it takes in, if any


@dataclass(frozen=True)
class Located:
    """Digit crops (grey, in reading order) and where they are in the frame."""

    crops: list[Gray]
    boxes: list[BoxXYWH]  # frame coordinates
    dark_ink: bool  # polarity of the crops (what normalise_digit is told)
    region: npt.NDArray[np.float32]  # ROI outline in the frame: 4 corners (x, y)
    photo_dark_ink: bool = True  # polarity of the photo itself
    # By region index. The reader asks the model whether the whole or the pieces make
    # more sense, and whether the joined crop reads better.
    splits: dict[int, Split] = field(default_factory=dict)
    joins: dict[int, Join] = field(default_factory=dict)
    # False when two ways of judging the polarity disagreed (auto polarity only):
    # the reader then reads the other polarity too and keeps what the model prefers.
    polarity_sure: bool = True


@dataclass
class _Group:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    labels: set[int]
    area: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def absorb(self, other: _Group) -> None:
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.labels |= other.labels
        self.area += other.area


class Locator:
    """Turns a frame into digit crops according to a :class:`LocateConfig`."""

    def __init__(self, cfg: LocateConfig) -> None:
        self.cfg = cfg
        self._warp: npt.NDArray[np.float64] | None = None
        self._warp_size = (0, 0)
        if cfg.warp is not None:
            import cv2

            src = np.array(cfg.warp, np.float32)
            width = int(max(np.linalg.norm(src[1] - src[0]), np.linalg.norm(src[2] - src[3])))
            height = int(max(np.linalg.norm(src[3] - src[0]), np.linalg.norm(src[2] - src[1])))
            if width < MIN_SIDE or height < MIN_SIDE:
                raise ValueError(f"locate.warp corners {cfg.warp} enclose almost no area")
            dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
            self._warp = np.asarray(cv2.getPerspectiveTransform(src, dst), np.float64)
            self._unwarp = cv2.getPerspectiveTransform(dst, src)
            self._warp_size = (width, height)

    # -- region of interest ---------------------------------------------------------------
    def region(self, gray: Gray) -> tuple[Gray, npt.NDArray[np.float32]]:
        """The part of the frame to read, straightened if a warp is set, and its outline."""
        import cv2

        h, w = gray.shape
        if self._warp is not None:
            width, height = self._warp_size
            flat = cv2.warpPerspective(gray, self._warp, (width, height), flags=cv2.INTER_LINEAR)
            outline = np.array(self.cfg.warp, np.float32)
            return np.asarray(flat, np.uint8), outline
        if self.cfg.roi is not None:
            x, y, rw, rh = self.cfg.roi
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(w, x + rw), min(h, y + rh)
            if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
                raise ImageError(
                    f"locate.roi {self.cfg.roi} lies outside the {w}x{h} frame; "
                    "check it with 'digitd snapshot'"
                )
            outline = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
            return gray[y0:y1, x0:x1], outline
        return gray, np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)

    def to_frame(self, box: BoxXYWH, outline: npt.NDArray[np.float32]) -> BoxXYWH:
        """Map a box in region coordinates back to frame coordinates."""
        x, y, w, h = box
        if self._warp is None:
            ox, oy = int(outline[0][0]), int(outline[0][1])
            return (x + ox, y + oy, w, h)
        import cv2

        corners = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32)
        mapped = cv2.perspectiveTransform(corners, self._unwarp)[0]
        fx, fy = mapped.min(axis=0)
        gx, gy = mapped.max(axis=0)
        return (int(fx), int(fy), int(np.ceil(gx - fx)), int(np.ceil(gy - fy)))

    # -- the two modes ----------------------------------------------------------------------
    def locate(self, frame: npt.NDArray[np.generic], dark_ink: bool | None = None) -> Located:
        """Crops and boxes of the digits in ``frame``; ``dark_ink`` overrides the polarity."""
        gray = to_gray(frame)
        if min(gray.shape) < MIN_SIDE:
            raise ImageError(
                f"image is {gray.shape[1]}x{gray.shape[0]} pixels, too small to hold a digit"
            )
        region, outline = self.region(gray)
        background = background_of(region) if self.cfg.mode == "auto" else None
        sure = True
        if dark_ink is not None:
            dark = dark_ink
        elif self.cfg.polarity == "auto":
            dark = dark_ink_of(region, background)
            sure = dark == dark_ink_of_whole(region)
        else:
            dark = self.cfg.polarity == "dark_on_light"
        splits: dict[int, Split] = {}
        joins: dict[int, Join] = {}
        if self.cfg.mode == "boxes":
            crops, boxes = self.fixed_boxes(region)
            crops_dark = dark
        else:
            crops, boxes, splits, joins = self._search(region, dark, background)
            crops_dark = False  # crops from the ink map: white on black
        frame_boxes = [self.to_frame(b, outline) for b in boxes]
        frame_splits = {
            i: Split(s.crops, [self.to_frame(b, outline) for b in s.boxes])
            for i, s in splits.items()
        }
        frame_joins = {
            i: Join(j.crop, self.to_frame(j.box, outline), j.partner) for i, j in joins.items()
        }
        return Located(
            crops, frame_boxes, crops_dark, outline, dark,
            splits=frame_splits, joins=frame_joins, polarity_sure=sure,
        )

    def fixed_boxes(self, region: Gray) -> tuple[list[Gray], list[BoxXYWH]]:
        """The configured boxes clipped to ``region`` (region coordinates), and their crops."""
        h, w = region.shape
        crops: list[Gray] = []
        boxes: list[BoxXYWH] = []
        for x, y, bw, bh in self.cfg.boxes:
            x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + bw), min(h, y + bh)
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise ImageError(
                    f"locate.boxes entry {[x, y, bw, bh]} lies outside the {w}x{h} region"
                )
            crops.append(region[y0:y1, x0:x1])
            boxes.append((x0, y0, x1 - x0, y1 - y0))
        return crops, boxes

    def _search(
        self, region: Gray, dark: bool, background: Gray | None = None
    ) -> tuple[
        list[Gray],
        list[BoxXYWH],
        dict[int, Split],
        dict[int, Join],
    ]:
        import cv2

        h, w = region.shape
        bg = background_of(region) if background is None else background
        # Saturating subtraction: ink strength above the local background, 0..255.
        ink = np.asarray(cv2.subtract(bg, region) if dark else cv2.subtract(region, bg), np.uint8)
        # The strongest ink after a small blur: a single digit may cover far less than
        # 0.1 % of a frame, so a percentile would only see noise.
        peak = float(cv2.blur(ink, (3, 3)).max())
        if peak < 20:
            return [], [], {}, {}
        level = max(12.0, 0.3 * peak)
        mask = np.asarray(cv2.threshold(ink, level - 0.5, 255, cv2.THRESH_BINARY)[1], np.uint8)
        # Where a bold digit fills most of the median's window, the median is ink,
        # not paper, and the middle of an "8" vanishes: estimate the paper again
        # from the pixels that are not ink.
        paper = paper_without_ink(region, mask, bg, dark)
        if paper is not bg:
            bg = paper
            ink = np.asarray(
                cv2.subtract(bg, region) if dark else cv2.subtract(region, bg), np.uint8
            )
            mask = np.asarray(
                cv2.threshold(ink, level - 0.5, 255, cv2.THRESH_BINARY)[1], np.uint8
            )
        # In a cell or a straightened row (a region the digits fill) a thin printed grid
        # line is often fainter than the pen, and the part of it above the digits' level
        # would be left as scraps glued to them: there lines are looked for at half the
        # level. Not in a whole frame, where half the level turns a shadow's soft edge
        # into a "line" through the digit beside it.
        in_cell = min(h, w) <= SMALL_REGION
        faint = mask
        if in_cell:
            faint = np.asarray(
                cv2.threshold(ink, 0.5 * level - 0.5, 255, cv2.THRESH_BINARY)[1], np.uint8
            )
        lines = line_mask(faint)
        if lines is not None:
            # Gone from the ink too: crops are cut from the ink, not the mask.
            mask = np.where(lines, 0, mask).astype(np.uint8)
            ink = np.where(lines, 0, ink).astype(np.uint8)
        labels, stats = _components(mask)
        min_h = max(6, int(self.cfg.min_height * h))
        speck = max(4, (min_h * min_h) // 60)
        remnant = line_remnants(lines, labels, stats)
        if in_cell:
            # In a cell or a row, a low mark cut by the top or bottom edge is the end of
            # the next row's digit or a border's fray; merged with the digit below or
            # above it, it made that digit as tall as the region, and it was dropped.
            ys, hs = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
            remnant |= ((ys <= 0) | (ys + hs >= h)) & (hs <= 0.15 * h)
        groups = [
            _Group(int(x), int(y), int(x + gw), int(y + gh), {i}, int(area))
            for i, (x, y, gw, gh, area) in enumerate(stats[1:], start=1)
            if area >= speck and gw < 0.9 * w and not remnant[i]
        ]
        pieces_all = _merge_overlapping(groups)
        groups = [g for g in pieces_all if _digit_shaped(g, min_h, h)]
        groups = _main_row(groups)
        groups.sort(key=lambda g: g.x0)
        groups = groups[: self.cfg.max_digits]
        joins = _join_candidates(groups, pieces_all, ink, labels)

        crops = [_crop(g, ink, labels) for g in groups]
        boxes: list[BoxXYWH] = [(g.x0, g.y0, g.w, g.h) for g in groups]
        splits: dict[int, Split] = {}
        for i, g in enumerate(groups):
            if g.w > 0.9 * g.h:
                pieces = _split_touching(g, mask)
                splits[i] = Split(
                    [_crop(p, ink, labels) for p in pieces],
                    [(p.x0, p.y0, p.w, p.h) for p in pieces],
                )
        return crops, boxes, splits, joins


def _components(mask: Gray) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Connected components (8-connected) of ``mask``: a label per pixel (0: none) and
    OpenCV's stats per label, in ``mask``'s coordinates.

    Labelled only within the box around the ink: a few digits cover a band of a
    frame, and labelling the empty rest cost as much as everything else in the
    search. BBDT: measured 3x faster than the default on one thread here.
    """
    import cv2

    x, y, bw, bh = cv2.boundingRect(mask)
    labels = np.zeros(mask.shape, np.int32)
    # BBDT scans 2x2 blocks: starting on even coordinates keeps the blocks, and so the
    # numbering of the labels, what they are over the whole mask.
    bw, bh = bw + x % 2, bh + y % 2
    x, y = x - x % 2, y - y % 2
    if bw == 0 or bh == 0:
        # No ink: the background alone, as OpenCV would report it.
        stats = np.array([[0, 0, mask.shape[1], mask.shape[0], mask.size]], np.int32)
        return labels, stats
    _count, raw, raw_stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask[y : y + bh, x : x + bw], 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    labels[y : y + bh, x : x + bw] = raw
    stats = np.array(raw_stats, np.int32)
    stats[1:, cv2.CC_STAT_LEFT] += x
    stats[1:, cv2.CC_STAT_TOP] += y
    # The background's own row describes the whole mask, as labelling all of it would.
    stats[0] = (0, 0, mask.shape[1], mask.shape[0], mask.size - int(stats[1:, 4].sum()))
    return labels, stats


def _copy(g: _Group) -> _Group:
    return _Group(g.x0, g.y0, g.x1, g.y1, set(g.labels), g.area)


def _beside(g: _Group, o: _Group) -> bool:
    """A stroke too small to be a digit that sits where a digit's detached part would:
    a 7's bar, a 5's flag, the open top of a 4."""
    if o.h > 1.1 * g.h or o.area > g.area:
        return False
    gap = max(o.x0 - g.x1, g.x0 - o.x1)
    centre = (o.y0 + o.y1) / 2
    return gap <= 0.25 * g.h and g.y0 - 0.35 * g.h <= centre <= g.y1 + 0.1 * g.h


def _could_be_one(a: _Group, b: _Group) -> bool:
    """Two neighbours in the row that may be one digit in two strokes."""
    h = max(a.h, b.h)
    width = max(a.x1, b.x1) - min(a.x0, b.x0)
    height = max(a.y1, b.y1) - min(a.y0, b.y0)
    return b.x0 - a.x1 <= 0.2 * h and width <= 0.95 * height and min(a.w, b.w) < 0.5 * h


def _join_candidates(
    row: list[_Group], pieces: list[_Group], ink: Gray, labels: npt.NDArray[np.int32]
) -> dict[int, Join]:
    """For each digit in the row, the same digit with the strokes that may belong to it."""
    in_row = {id(g) for g in row}
    others = [o for o in pieces if id(o) not in in_row]
    joins: dict[int, Join] = {}
    for i, g in enumerate(row):
        joined = _copy(g)
        near = [o for o in others if _beside(g, o)]
        for o in near:
            joined.absorb(o)
        partner = i + 1 if i + 1 < len(row) and _could_be_one(g, row[i + 1]) else None
        if partner is not None:
            joined.absorb(row[partner])
        if (near or partner is not None) and joined.w <= 1.1 * joined.h:
            joins[i] = Join(_crop(joined, ink, labels),
                            (joined.x0, joined.y0, joined.w, joined.h), partner)
    return joins


def _crop(g: _Group, ink: Gray, labels: npt.NDArray[np.int32]) -> Gray:
    """The ink of one group with a margin, other digits' ink blanked.

    Crops come from the ink map (white on black, shadows gone), so they are
    normalised with light-ink polarity whatever the photo showed.
    """
    import cv2

    h, w = ink.shape
    pad = max(2, g.h // 6)
    x0, y0 = max(0, g.x0 - pad), max(0, g.y0 - pad)
    x1, y1 = min(w, g.x1 + pad), min(h, g.y1 + pad)
    if not g.labels:
        # A piece of touching digits: only its own columns, padded with black.
        return np.asarray(
            cv2.copyMakeBorder(ink[y0:y1, g.x0 : g.x1], 0, 0, pad, pad, cv2.BORDER_CONSTANT,
                               value=0),
            np.uint8,
        )
    crop = ink[y0:y1, x0:x1].copy()
    lab = labels[y0:y1, x0:x1]
    # Blank ink of other digits so that a close neighbour cannot leak in: a table of
    # the labels in view (np.isin sorts them all, several times the cost).
    others = np.ones(int(lab.max(initial=0)) + 1, bool)
    others[0] = False
    own = [i for i in g.labels if i < len(others)]
    others[own] = False
    crop[others[lab]] = 0
    return crop


def _merge_overlapping(groups: list[_Group]) -> list[_Group]:
    """Join components that share most of their columns: pieces of one broken digit."""
    groups = sorted(groups, key=lambda g: g.x0)
    merged = True
    while merged:
        merged = False
        out: list[_Group] = []
        for g in groups:
            for m in out:
                overlap = min(g.x1, m.x1) - max(g.x0, m.x0)
                vertical_gap = max(g.y0, m.y0) - min(g.y1, m.y1)
                near = vertical_gap < 0.6 * max(g.h, m.h)
                if overlap > 0.35 * min(g.w, m.w) and near:
                    m.absorb(g)
                    merged = True
                    break
            else:
                out.append(g)
        groups = out
    return groups


def _digit_shaped(g: _Group, min_h: int, region_h: int) -> bool:
    if g.h < min_h or g.h > 0.98 * region_h + 1:
        return False
    aspect = g.w / g.h
    fill = g.area / max(1, g.w * g.h)
    if aspect > 4.0 or (aspect < 0.08 and g.h < 3 * min_h):
        return False
    # A solid block (a blob, a patch of shadow) is no digit; a "1" is thin, so may be full.
    return not (fill > 0.85 and aspect > 0.45)


def _main_row(groups: list[_Group]) -> list[_Group]:
    """Keep the digits that share the row of the tallest ones (drops stray marks)."""
    if len(groups) < 2:
        return groups
    heights = np.array([g.h for g in groups], np.float32)
    ref_h = float(np.median(heights[heights >= 0.6 * heights.max()]))
    tall = [g for g in groups if g.h >= 0.55 * ref_h]
    centre = float(np.median([(g.y0 + g.y1) / 2 for g in tall]))
    return [g for g in tall if g.y0 <= centre <= g.y1]


def _split_touching(g: _Group, mask: Gray) -> list[_Group]:
    """Cut a wide group into the likely number of digits at the emptiest columns."""
    n = max(2, round(g.w / (0.7 * g.h)))
    columns = (mask[g.y0 : g.y1, g.x0 : g.x1] > 0).sum(axis=0).astype(np.float32)
    cuts: list[int] = []
    for k in range(1, n):
        centre = round(k * g.w / n)
        lo, hi = max(1, centre - g.w // (3 * n)), min(g.w - 1, centre + g.w // (3 * n) + 1)
        cuts.append(lo + int(np.argmin(columns[lo:hi])) if hi > lo else centre)
    edges = [0, *cuts, g.w]
    pieces = []
    for a, b in itertools.pairwise(edges):
        if b - a >= 2:
            pieces.append(_Group(g.x0 + a, g.y0, g.x0 + b, g.y1, set(), g.area * (b - a) // g.w))
    return pieces
