"""Time per dial of the geometric pointer-dial reader, on one core.

    PYTHONPATH=... python bench/dial_speed.py [--size 80] [--n 400]

Renders ``--n`` dials of every style at ``--size`` px (not timed), then reads each
many times with ``read_dial(direction="auto")`` and prints the median µs per dial.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from digitd.edge.vision.dial import read_dial
from digitd.train.dials.render import STYLES, everyday_shot, render


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--size", type=int, default=80)
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    names = list(STYLES)
    crops = [render(rng, STYLES[names[i % len(names)]], float(rng.uniform(0, 10)),
                    "cw" if i % 2 else "ccw", everyday_shot(rng), args.size)
             for i in range(args.n)]
    for crop in crops[:20]:  # grids built, caches warm
        read_dial(crop)
    samples = []
    for _ in range(args.repeats):
        for crop in crops:
            t0 = time.perf_counter()
            read_dial(crop)
            samples.append(time.perf_counter() - t0)
    print(f"median {statistics.median(samples) * 1e6:.1f} µs per dial "
          f"({args.size} px crops, {len(samples)} reads)")


if __name__ == "__main__":
    main()
