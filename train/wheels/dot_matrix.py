"""Digits of a dot-matrix character LCD (5x7 dots per cell), drawn as a segment font.

Character LCDs (the HD44780 kind, on heat meters, heat-cost allocators and many
displays) draw digits from a grid of dots, and their zero carries a slash. No
installed font draws them, and the real training crops hold none, so a model
trained on seven-segment cells alone takes a dot-matrix "0" for something else.
The glyphs here are the usual 5x7 shapes, each dot a square (or a rounded square)
with a gap around it; the "all segments" character lights every dot, so the faint
unlit grid of a real panel is drawn the way the unlit segments of a segment font are.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from ..common.fonts import DIGITS, RENDER_SIZE, Float, Glyphs, ink_box

ALL_DOTS = "#"  # the key of the cell with every dot lit
COLUMNS, ROWS = 5, 7

# One string per digit, rows top to bottom; "#" a lit dot. The first zero is slashed (as
# a character LCD draws it), the second plain.
_SHAPES: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}
_PLAIN_ZERO = (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.")

# (gap between dots as a share of their pitch, rounded corners, slashed zero)
VARIANTS: tuple[tuple[float, bool, bool], ...] = (
    (0.12, False, True), (0.25, False, True), (0.2, True, True), (0.35, True, True),
    (0.2, False, False), (0.3, True, False),
)


def _dot(size: int, rounded: bool) -> Float:
    dot = np.ones((size, size), np.float32)
    if rounded:
        c = (size - 1) / 2.0
        yy, xx = np.mgrid[0:size, 0:size]
        # A square with its corners cut round: the shape of an LCD's pixel.
        dot = (np.hypot(yy - c, xx - c) <= c * 1.25).astype(np.float32)
    return dot


def _cell(rows: tuple[str, ...], pitch: int, dot: Float) -> Float:
    size = dot.shape[0]
    pad = 2
    out = np.zeros((ROWS * pitch + 2 * pad, COLUMNS * pitch + 2 * pad), np.float32)
    for r, line in enumerate(rows):
        for c, ch in enumerate(line):
            if ch == "#":
                y, x = pad + r * pitch, pad + c * pitch
                out[y : y + size, x : x + size] = dot
    return out


@cache
def dot_matrix_glyphs(variant: int) -> Glyphs:
    """The digits of one dot-matrix look (:data:`VARIANTS`), as a segment font's glyphs."""
    gap, rounded, slashed = VARIANTS[variant]
    pitch = RENDER_SIZE // ROWS
    dot = _dot(max(2, round(pitch * (1.0 - gap))), rounded)
    shapes = dict(_SHAPES)
    if not slashed:
        shapes["0"] = _PLAIN_ZERO
    ink = {d: _cell(shapes[d], pitch, dot) for d in DIGITS}
    ink[ALL_DOTS] = _cell(("#####",) * ROWS, pitch, dot)
    tight = {ch: ink_box(arr) for ch, arr in ink.items()}
    height = max(tight[d][1] - tight[d][0] for d in DIGITS)
    name = f"dot-matrix/gap{gap:g}{'-round' if rounded else ''}{'' if slashed else '-plain0'}"
    return Glyphs(Path(name), True, ALL_DOTS, ink, tight, height)
