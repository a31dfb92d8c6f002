"""Make docs/water-meter.png, the picture the README's water-meter example reads.

    python tests/data/make_water_meter.py

A water meter standing at 00520.8983 m³: its five wheels real crops of counter wheels
from tests/data/meter-crops (Apache-2.0, see its README), its four dials drawn by
digitd.train.dials.render in a style held out of the dial model's training, numbered
cw, ccw, cw, ccw. Seeded, so the picture is the same every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.meter_strips import water_meter  # noqa: E402

OUT = ROOT / "docs" / "water-meter.png"


def main() -> None:
    image, boxes, dials, directions = water_meter(5_208_983, np.random.default_rng(2026))
    cv2.imwrite(str(OUT), image)
    spec = ";".join(",".join(map(str, b)) for b in boxes)
    print(f"{OUT}: --boxes \"{spec}\" --dials \"{';'.join(','.join(map(str, d)) for d in dials)}\""
          f" ({', '.join(directions)})")


if __name__ == "__main__":
    main()
