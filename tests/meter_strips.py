"""Meter pictures made of real crops: one committed meter crop per wheel, side by side.

The crops are real (``tests/data/meter-crops``, Apache-2.0); only their
arrangement into a counter window is made here, so a whole reading can go
through ``digitd recognize --boxes`` and the daemon with known positions.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from digitd.edge.vision.dial import Direction
from digitd.train.wheels.sequences import true_positions

ROOT = Path(__file__).resolve().parents[1]
METER_CROPS = ROOT / "tests" / "data" / "meter-crops"
SEVENSEG_CELLS = ROOT / "tests" / "data" / "sevenseg-cells"
CELL_W, CELL_H, GAP = 40, 64, 6


@dataclass(frozen=True)
class Crop:
    file: Path
    position: float
    meter: str
    split: str


def meter_crops() -> list[Crop]:
    with (METER_CROPS / "labels.csv").open(newline="") as fh:
        return [
            Crop(METER_CROPS / r["file"], float(r["value"]), r["meter"], r["split"])
            for r in csv.DictReader(fh)
        ]


def by_tenth(crops: list[Crop]) -> dict[int, list[Crop]]:
    out: dict[int, list[Crop]] = defaultdict(list)
    for c in crops:
        out[round(c.position * 10) % 100].append(c)
    return out


def strip(crops: list[Crop]) -> tuple[npt.NDArray[np.uint8], list[list[int]]]:
    """The crops side by side on a dark counter face, and the box of each."""
    width = GAP + len(crops) * (CELL_W + GAP)
    image = np.full((CELL_H + 2 * GAP, width, 3), 30, np.uint8)
    boxes = []
    for i, c in enumerate(crops):
        cell = cv2.imread(str(c.file), cv2.IMREAD_COLOR)
        assert cell is not None, c.file
        x = GAP + i * (CELL_W + GAP)
        image[GAP : GAP + CELL_H, x : x + CELL_W] = cv2.resize(cell, (CELL_W, CELL_H))
        boxes.append([x, GAP, CELL_W, CELL_H])
    return image, boxes


def counter_positions(value_tenths: int, wheels: int) -> list[float]:
    """Each wheel's position (to the tenth) for a counter at ``value_tenths`` tenths:
    the same counter ``wheels.evaluate`` builds its whole readings from."""
    return true_positions(value_tenths, wheels, lcd=False)


def pick(table: dict[int, list[Crop]], position: float, rng: np.random.Generator) -> Crop | None:
    key = round(position * 10) % 100
    options = table.get(key) or table.get((key + 1) % 100) or table.get((key - 1) % 100)
    return options[int(rng.integers(len(options)))] if options else None


DIAL = 80  # a dial's box in a water meter's picture


def water_meter(count: int, rng: np.random.Generator, style: str = "brass_serif",
                wheels: int = 5) -> tuple[npt.NDArray[np.uint8], list[list[int]],
                                          list[list[int]], list[Direction]]:
    """A water meter standing at ``count`` ten-thousandths of a m³: its wheels real crops
    of counter wheels labelled with each wheel's position (or a tenth beside it),
    under them four dials drawn in a held-out style of the generator, numbered cw, ccw,
    cw, ccw. Returns the picture, the wheel boxes, the dial boxes and the directions."""
    from digitd.train.dials.render import STYLES, everyday_shot, render
    from digitd.train.dials.sequences import true_positions as water_positions

    # The counter wheels of the committed crops (LCD cells left out), every meter's.
    lcds = ("lcd", "watermeter/Metrona", "powermeter/LandisGyrT330_C")
    table = by_tenth([c for c in meter_crops() if not c.meter.startswith(lcds)])
    positions, dials = water_positions(count, float(rng.uniform(0.1, 0.8)), 0.0, wheels)
    crops = [pick(table, p, rng) for p in positions]
    assert all(c is not None for c in crops)
    top, boxes = strip([c for c in crops if c is not None])
    directions: list[Direction] = ["cw", "ccw", "cw", "ccw"]
    width = max(top.shape[1], GAP + 4 * (DIAL + GAP))
    image = np.full((top.shape[0] + DIAL + 2 * GAP, width, 3), 200, np.uint8)
    image[: top.shape[0], : top.shape[1]] = top
    dial_boxes = []
    shot = everyday_shot(rng, oblique=0.0, flash=0.0, off_centre=0.0)
    for k, (p, d) in enumerate(zip(dials, directions, strict=True)):
        x, y = GAP + k * (DIAL + GAP), top.shape[0] + GAP
        image[y : y + DIAL, x : x + DIAL] = render(rng, STYLES[style], p, d, shot, DIAL)
        dial_boxes.append([x, y, DIAL, DIAL])
    return image, boxes, dial_boxes, directions
