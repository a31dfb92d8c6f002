"""The meter-window model on the device path: size, ms per box, a whole boxes-mode frame.

    .venv/bin/python bench/window.py [--model models/meter.tflite] [--json OUT]

LiteRT only, one thread. "per box" is one box per interpreter call; "batched" is
the per-box cost when a frame's boxes go in one call, as the reader does. The
frame figure is the reader's whole boxes-mode path on a 640x480 frame with 8
boxes of real dev crops pasted in: locate, window preprocessing, classify,
compose.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import timed  # a script beside this one

ROOT = Path(__file__).resolve().parents[1]
CROPS = ROOT / "tests" / "data" / "meter-crops"


def main() -> None:
    import csv

    import cv2

    from digitd.edge.config import LocateConfig
    from digitd.edge.vision.classifier import WindowClassifier
    from digitd.edge.vision.reader import Reader
    from digitd.edge.vision.window import window_batch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    clf = WindowClassifier(args.model, num_threads=1)
    with (CROPS / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "dev"]
    crops = [np.asarray(cv2.imread(str(CROPS / r["file"]), cv2.IMREAD_COLOR)) for r in rows]
    inputs = window_batch(crops)
    one = inputs[:1]
    eight = inputs[:8]
    per_box = timed(lambda: clf.probabilities(one), args.repeats, 50)["median_ms"]
    clf.probabilities(eight)
    batched = timed(lambda: clf.probabilities(eight), args.repeats // 4, 50)["median_ms"] / 8

    frame = np.full((480, 640, 3), 40, np.uint8)
    boxes = []
    for i, crop in enumerate(crops[:8]):
        x = 60 + i * 66
        frame[200:296, x : x + 60] = cv2.resize(crop, (60, 96))
        boxes.append([x, 200, 60, 96])
    reader = Reader(None, LocateConfig(mode="boxes", boxes=boxes), window=clf)
    frame_ms = timed(lambda: reader.read(frame), args.repeats // 4, 50)["median_ms"]

    figures = {
        "model": str(clf.model_path),
        "size_bytes": clf.model_path.stat().st_size,
        "params": clf.card.get("params"),
        "ms_per_box": per_box,
        "ms_per_box_batched_8": round(batched, 4),
        "frame_640x480_8_boxes_ms": frame_ms,
        "threads": 1,
        "runtime": clf.runtime,
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"meter-window model {clf.model_path.name}: {figures['size_bytes']} bytes, "
          f"{figures['params']} parameters")
    print(f"  one box per call:      {per_box:.4f} ms")
    print(f"  8 boxes in one call:   {batched:.4f} ms per box")
    print(f"  640x480 frame, 8 boxes (locate + preprocess + classify + compose): "
          f"{frame_ms:.3f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
