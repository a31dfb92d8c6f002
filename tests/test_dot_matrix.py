"""Dot-matrix character LCD cells for the generator: the glyphs, and that they are drawn
only when training asks for them (``digitd train --kind window --dot-matrix``)."""

from __future__ import annotations

import numpy as np
import pytest

from digitd.train.common.fonts import DIGITS
from digitd.train.wheels.data import synthetic_windows
from digitd.train.wheels.dot_matrix import ALL_DOTS, COLUMNS, ROWS, VARIANTS, dot_matrix_glyphs


def _dots(variant: int, char: str) -> np.ndarray:
    """The glyph sampled back to its 7x5 grid: True where a dot is lit."""
    g = dot_matrix_glyphs(variant)
    ink = g.ink[char]
    y0, y1, x0, x1 = g.tight[ALL_DOTS]
    grid = ink[y0:y1, x0:x1]
    # The grid cut in 7x5 blocks: each block holds one dot (and a little of the gaps).
    return np.array([[block.max() > 0.5 for block in np.array_split(band, COLUMNS, axis=1)]
                     for band in np.array_split(grid, ROWS, axis=0)])


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_ten_different_digits_on_one_grid_of_dots(variant: int) -> None:
    g = dot_matrix_glyphs(variant)
    assert g.segment and g.all_segments == ALL_DOTS
    grids = {d: _dots(variant, d) for d in DIGITS}
    assert _dots(variant, ALL_DOTS).all()
    for d in DIGITS:
        # Every lit dot is one of the panel's dots: the unlit grid lies under each digit.
        assert np.all(g.ink[d] <= g.ink[ALL_DOTS] + 1e-6)
        assert 7 <= grids[d].sum() <= 20
    assert len({grids[d].tobytes() for d in DIGITS}) == 10
    # A "1" is narrow, an "8" has its middle row lit and an "0" does not.
    assert not grids["1"][:, 0].any() and not grids["1"][:, 4].any()
    assert grids["8"][3, 1:4].all() and not grids["0"][3, 1:4].all()
    slashed = VARIANTS[variant][2]
    assert grids["0"][3, 2] == slashed  # the centre dot: the slash of a character LCD's zero


def test_dot_matrix_cells_are_drawn_only_when_asked() -> None:
    plain = synthetic_windows(300, 4)
    assert not any("dot-matrix" in g for g in plain.groups)
    again = synthetic_windows(300, 4, dot_matrix=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain.crops, again.crops, strict=True))
    every = synthetic_windows(300, 4, dot_matrix=1.0)
    dots = [i for i, g in enumerate(every.groups) if g.endswith("/dot-matrix")]
    segment_cells = [i for i, g in enumerate(every.groups) if g.startswith("synthetic/segment")]
    digits = [i for i in dots if every.groups[i] == "synthetic/segment/dot-matrix"]
    # Every generated LCD digit is a dot-matrix one, whole digits 0-9 as labels, grouped
    # apart (a neighbour strip beside one comes from its own kind, as on a real panel);
    # symbols (drawn from a segment font's own letters) never are.
    assert digits and all(every.groups[i] != "synthetic/segment" for i in segment_cells)
    assert {float(every.positions[i]) for i in digits} <= {float(d) for d in range(10)}
    assert any(g == "synthetic/segment_symbol" for g in every.groups)
    assert any(g == "synthetic/blank_cell/dot-matrix" for g in every.groups)
    with pytest.raises(ValueError, match=r"dot-matrix share 1\.5: give a share from 0 to 1"):
        synthetic_windows(10, 4, dot_matrix=1.5)
