"""Model quality on meters: held-out fonts, refusals, whole meter photos read with fixed boxes.

These use the shipped model and hold it to what a model trained with
:mod:`digitd.train.common.printed` data should reach; an MNIST-only model fails them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import cv2
import pytest

from digitd.edge.config import LocateConfig
from digitd.edge.vision.classifier import Classifier, WindowClassifier
from digitd.edge.vision.reader import Reader
from digitd.train.common.meters import fixed_meter_digits, meter_image, read_test_meters
from digitd.train.digits.meter_eval import evaluate_printed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return evaluate_printed(Classifier(), n=6600)


def test_held_out_fonts_are_read(result: dict[str, Any]) -> None:
    assert result["digit_accuracy"] >= 0.97, result["per_class"]
    per_class = result["per_class"]
    assert isinstance(per_class, dict)
    # No class far behind the rest. The weakest is the "8" (segment fonts whose thin
    # middle bar the blur all but erases, read "0"): 95.5 % before the commit-84386c8
    # fine-tune on European 1s, 94.5 % after (7 fewer of 660); all classes 98.1 -> 98.2 %.
    # With stroke widths evened (commit c81c11d (2026-12-02)): 8s 95.3 %, all classes 98.5 %.
    weak = {c: v for c, v in per_class.items() if v < 0.94}
    assert not weak, f"classes below 0.94 on held-out fonts: {weak}"
    assert result["false_rejection"] <= 0.03


def test_not_a_digit_is_refused(result: dict[str, Any]) -> None:
    by_kind = result["rejection_by_kind"]
    assert isinstance(by_kind, dict)
    assert by_kind["wheel_halfway"] >= 0.9
    for kind in ("blank_wheel", "segment_off"):
        assert by_kind[kind] >= 0.95, f"{kind}: {by_kind[kind]:.3f}"
    # Measured 0.97-1.0 (blank cells, ~100 per run) and 0.96-0.99 (glare) for the
    # shipped model; the counts are small, so the floor leaves room for sampling.
    for kind in ("blank_cell", "glare"):
        assert by_kind[kind] >= 0.92, f"{kind}: {by_kind[kind]:.3f}"


def _recognize(image_path: Path, boxes: list[list[int]], polarity: str) -> dict[str, object]:
    spec = ";".join(",".join(str(v) for v in b) for b in boxes)
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", "recognize", "--json",
         "--boxes", spec, "--decimals", "3", "--polarity", polarity, str(image_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.splitlines()[0])
    return out


POLARITY = {"wheels": "light_on_dark", "lcd": "dark_on_light"}


@pytest.mark.parametrize("kind", ["wheels", "lcd"])
def test_meter_photo_is_read_through_the_command_line(tmp_path: Path, kind: str) -> None:
    """Through the meter-window model. The last wheel stands a third of the way to its
    next digit: right at a digit's edge (4.97 or 5.0?) the last digit is a coin toss at
    the model's precision of about a tenth, and this test is about the whole reading."""
    digits = fixed_meter_digits(2)
    rolls = [0.0] * 7 + [0.3]
    image, boxes = meter_image(digits, seed=2, kind=kind, rolls=rolls)  # held-out fonts
    path = tmp_path / f"meter-{kind}.png"
    cv2.imwrite(str(path), image)
    read = _recognize(path, boxes, POLARITY[kind])
    assert read["value"] == f"{digits[:5]}.{digits[5:]}", read


@pytest.mark.parametrize(("kind", "floor"), [("wheels", 39), ("lcd", 35)])
def test_meter_photos_are_read_exactly_by_the_meter_window_model(
    kind: Literal["wheels", "lcd"], floor: int
) -> None:
    """Forty synthetic meters per kind in held-out fonts, through the shipped meter-window
    model (boxes mode's default); the last wheel a third of the way to its next digit.
    ``wheels.evaluate`` prints the same count for any model."""
    wrong = read_test_meters(WindowClassifier(), kind)
    assert 40 - len(wrong) >= floor, wrong


@pytest.mark.parametrize("kind", ["wheels", "lcd"])
def test_meter_photos_are_read_exactly(kind: str) -> None:
    """Forty meters per kind, five whole digits and three decimals each.

    Measured for the shipped model: wheels 40 of 40, LCD 35 of 40 (three misses an
    "8" of DSEG7 at about 40 px, whose thin middle segment the blur has all but
    erased, read as "0"; two more such "8"s refused, in one meter with a "9" read
    as "5"). Before the fine of commit `84386c8`-tune on European 1s the LCDs read 36 of 40 (the
    two refused "8"s were read): the price of the handwriting gain, paid in segment 8s.
    Since stroke widths are evened (commit `c81c11d`) the LCDs read 34 of 40: one more thin-barred
    "8" read "0" (the evening grows a thin digit's strokes, and the faint middle bar is
    the one that stays too faint). Meter boxes in the product use the meter-window model.
    """
    classifier = Classifier()
    wrong = []
    for seed in range(1, 41):
        digits = fixed_meter_digits(seed)
        image, boxes = meter_image(digits, seed=seed, kind=kind)
        locate = LocateConfig(mode="boxes", boxes=boxes, polarity=POLARITY[kind], decimals=3)
        value = Reader(classifier, locate).read(image).value
        if value != f"{digits[:5]}.{digits[5:]}":
            wrong.append((seed, digits, value))
    assert len(wrong) <= 6, wrong


def test_half_way_wheel_is_not_read_as_a_digit(tmp_path: Path) -> None:
    image, boxes = meter_image("01234567", seed=4, kind="wheels", rolls=[0] * 7 + [0.5])
    path = tmp_path / "meter-rolling.png"
    cv2.imwrite(str(path), image)
    read = _recognize(path, boxes, "light_on_dark")
    digits = read["digits"]
    assert isinstance(digits, list)
    assert digits[-1]["digit"] is None, read  # the rolling wheel must not pass as a digit


@pytest.mark.parametrize("seed", [1, 9])  # meters whose empty cells the model alone reads as 8
def test_unlit_lcd_cells_are_gaps_not_eights(tmp_path: Path, seed: int) -> None:
    image, boxes = meter_image("  123456", seed=seed, kind="lcd")
    path = tmp_path / f"meter-blank-{seed}.png"
    cv2.imwrite(str(path), image)
    read = _recognize(path, boxes, "dark_on_light")
    digits, rejected = read["digits"], read["rejected"]
    assert isinstance(digits, list) and isinstance(rejected, list)
    # The meter-window model reads the boxes: the two unlit leading cells are not digits
    # (listed as rejected), and the value keeps its three decimals.
    assert [d["digit"] for d in digits] == [1, 2, 3, 4, 5, 6], read
    assert len(rejected) == 2 and all(r["digit"] is None for r in rejected)
    assert read["value"] == "123.456"
