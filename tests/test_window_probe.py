"""``python -m digitd.train.window_probe`` on the committed real LandisGyr crops: the
diagnosis the README gives (its "7"s misread with the left neighbour's stem in the box,
read right once the box is moved off it) is what the tool shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digitd.train.window_probe import probe

CROPS = Path(__file__).parent / "data" / "meter-crops"


def _digits(reads: list[str]) -> list[int | None]:
    return [None if r == "-" else round(float(r.split("/")[0])) % 10 for r in reads]


def test_landisgyr_sevens_read_right_only_with_the_box_moved_off_the_stem() -> None:
    rows = dict(probe(None, str(CROPS), "LandisGyrT330_C", 7))
    as_they_are = _digits(rows["as they are"])
    assert len(as_they_are) == 4  # the committed LandisGyr "7"s
    # Measured: three of the four read 1 or 0 as they are; all four with the box
    # moved 15 % right or the stem cut off.
    assert sum(d != 7 for d in as_they_are) >= 2
    assert _digits(rows["shift left 0.15"]) == [7, 7, 7, 7]
    assert _digits(rows["cut left 0.15"]) == [7, 7, 7, 7]


def test_a_meter_without_such_crops_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "digitd.train.window_probe", "--meter-dir", str(CROPS),
         "--meter", "no-such-meter", "--digit", "7"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "no dev crops of 7 from a meter named like 'no-such-meter'" in done.stderr
