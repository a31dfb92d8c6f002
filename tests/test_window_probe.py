"""``python -m digitd.train.wheels.probe`` on the committed real LandisGyr crops: what the
README says of its "7"s (the left neighbour's stem and point in the box) is what the tool
shows for the shipped model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digitd.train.wheels.probe import probe

CROPS = Path(__file__).parent / "data" / "meter-crops"


def _digits(reads: list[str]) -> list[int | None]:
    return [None if r == "-" else round(float(r.split("/")[0])) % 10 for r in reads]


def test_landisgyr_sevens_read_as_they_are_and_with_the_box_moved_off_the_stem() -> None:
    """Until commit `34850f3` the shipped model read three of these four as "1" or "0" as
    they are (and all four once the box was moved off the stem); the model trained with
    neighbour strips beside its crops (commit `bfc552d`), and the one distilled from three
    such runs (commit `93ed787`), read them either way."""
    rows = dict(probe(None, str(CROPS), "LandisGyrT330_C", 7))
    assert {"as they are", "paint left 0.15", "shift left 0.15", "cut left 0.15",
            "widen right 0.15"} <= set(rows)
    assert len(rows["as they are"]) == 4  # the committed LandisGyr "7"s
    assert _digits(rows["as they are"]) == [7, 7, 7, 7]
    assert _digits(rows["shift left 0.15"]) == [7, 7, 7, 7]
    assert _digits(rows["cut left 0.15"]) == [7, 7, 7, 7]


def test_positions_just_below_ten_show_as_zero() -> None:
    """Metrona's committed "0"s sit at 9.95 or above: shown as recognize shows them, 0.0,
    never 10.0 (a position is always below 10)."""
    reads = dict(probe(None, str(CROPS), "Metrona", 0))["as they are"]
    assert reads and all(r.split("/")[0] == "0.0" for r in reads), reads


def test_a_meter_without_such_crops_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "digitd.train.wheels.probe", "--meter-dir", str(CROPS),
         "--meter", "no-such-meter", "--digit", "7"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "no dev crops of 7 from a meter named like 'no-such-meter'" in done.stderr
