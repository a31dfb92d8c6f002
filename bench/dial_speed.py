"""Time per dial of the dial model, crop to reading, on one thread.

    PYTHONPATH=... python bench/dial_speed.py [--model models/dial.tflite] [--size 80] [--n 400]

Renders ``--n`` dials of every style at ``--size`` px (not timed), then reads each many
times, one dial per call, with ``DialModel.read(direction="auto")`` and prints the median
µs per dial; then a frame's worth (``--batch`` dials in one call) per dial.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from digitd.edge.vision.dial import DialModel
from digitd.train.dials.render import STYLES, everyday_shot, render


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--model", help="the dial .tflite (default: models/dial.tflite)")
    p.add_argument("--size", type=int, default=80)
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=6, help="dials in a frame (default 6)")
    args = p.parse_args()
    model = DialModel(args.model, num_threads=1)
    rng = np.random.default_rng(0)
    names = list(STYLES)
    crops = [render(rng, STYLES[names[i % len(names)]], float(rng.uniform(0, 10)),
                    "cw" if i % 2 else "ccw", everyday_shot(rng), args.size)
             for i in range(args.n)]
    for crop in crops[:20]:  # the interpreter's batch of one allocated, caches warm
        model.read([crop], ["auto"])
    samples = []
    for _ in range(args.repeats):
        for crop in crops:
            t0 = time.perf_counter()
            model.read([crop], ["auto"])
            samples.append(time.perf_counter() - t0)
    print(f"median {statistics.median(samples) * 1e6:.1f} µs per dial, one per call "
          f"({args.size} px crops, {len(samples)} reads, 1 thread)")
    frames = [crops[i:i + args.batch] for i in range(0, len(crops) - args.batch + 1, args.batch)]
    model.read(frames[0], ["auto"] * args.batch)
    per_dial = []
    for _ in range(args.repeats):
        for frame in frames:
            t0 = time.perf_counter()
            model.read(frame, ["auto"] * args.batch)
            per_dial.append((time.perf_counter() - t0) / args.batch)
    print(f"median {statistics.median(per_dial) * 1e6:.1f} µs per dial, {args.batch} per call")


if __name__ == "__main__":
    main()
