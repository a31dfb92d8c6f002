"""Per-frame cost of reading digits: locate / normalise / classify, one interpreter thread.

    .venv/bin/python bench/pipeline.py [--json OUT] [--repeats N]

Frames are photos of real MNIST test digits (the committed sample) at several
sizes and digit counts. Prints medians and the 10-90 % spread in milliseconds;
nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.reader import Reader
from digitd.train.common.idx import load_mnist_dir
from digitd.train.common.scenes import SceneStyle, make_scene

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "mnist-sample"
SIZES = {"320x240": (320, 240), "640x480": (640, 480), "1280x720": (1280, 720)}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def frame_costs(
    reader: Reader, size: tuple[int, int], n_digits: int, repeats: int, seed: int = 0
) -> dict[str, Any]:
    images, labels = load_mnist_dir(SAMPLE, "test")
    rng = np.random.default_rng(seed)
    w, h = size
    height = (max(20, h // 8), max(24, h // 4))
    style = SceneStyle(width=w, height=h, digit_height=height)
    scenes = [make_scene(images, labels, n_digits, rng, style) for _ in range(10)]
    for s in scenes:  # warm up: interpreter resize per batch size, caches
        reader.read(s.image)
    totals: list[float] = []
    stages: dict[str, list[float]] = {"locate": [], "normalise": [], "classify": []}
    correct = 0
    for i in range(repeats):
        scene = scenes[i % len(scenes)]
        t0 = time.perf_counter()
        reading = reader.read(scene.image)
        totals.append((time.perf_counter() - t0) * 1000.0)
        for k in stages:
            stages[k].append(reading.timings_ms[k])
        correct += reading.value == scene.number
    return {
        "size": f"{w}x{h}",
        "digits": n_digits,
        "frames": repeats,
        "median_ms": round(statistics.median(totals), 3),
        "p10_ms": round(_pct(totals, 10), 3),
        "p90_ms": round(_pct(totals, 90), 3),
        "stages_median_ms": {k: round(statistics.median(v), 3) for k, v in stages.items()},
        "numbers_read_right": round(correct / repeats, 3),
    }


def handwriting_rows(repeats: int) -> dict[str, Any]:
    """The nine committed real sudoku rows, read by the automatic search and through nine
    handwriting boxes (``display = "handwriting"``: a search around every box)."""
    import csv

    import cv2

    from digitd.edge.config import LocateConfig
    from digitd.train.digits.sudoku_eval import cell_boxes

    folder = ROOT / "tests" / "data" / "sudoku-rows"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    images = [np.asarray(cv2.imread(str(folder / r["file"]), cv2.IMREAD_GRAYSCALE), np.uint8)
              for r in rows]
    classifier = Classifier(num_threads=1)
    out: dict[str, Any] = {"rows": len(rows), "size": f"{images[0].shape[1]}x{images[0].shape[0]}"}
    for name in ("auto", "boxes"):
        readers = []
        for image in images:
            h, w = image.shape
            locate = (LocateConfig() if name == "auto" else
                      LocateConfig(mode="boxes", boxes=cell_boxes(w, h), display="handwriting"))
            readers.append(Reader(classifier, locate))
        for reader, image in zip(readers, images, strict=True):
            reader.read(image)  # warm up
        totals = []
        for i in range(repeats):
            t0 = time.perf_counter()
            readers[i % len(images)].read(images[i % len(images)])
            totals.append((time.perf_counter() - t0) * 1000.0)
        out[f"{name}_median_ms"] = round(statistics.median(totals), 3)
    return out


def recognize_folder(n_images: int = 100) -> dict[str, Any]:
    """Images per second for ``digitd recognize`` on a folder (process start included)."""
    import cv2

    images, labels = load_mnist_dir(SAMPLE, "test")
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n_images):
            scene = make_scene(images, labels, int(rng.integers(1, 7)), rng)
            path = Path(tmp) / f"{i:04d}.jpg"
            cv2.imwrite(str(path), scene.image)
            files.append(str(path))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "digitd.edge.cli", "-q", "recognize", "--json", *files],
            capture_output=True, text=True, check=True,
        )
        seconds = time.perf_counter() - t0
    assert len(proc.stdout.splitlines()) == n_images
    return {"images": n_images, "seconds": round(seconds, 3),
            "images_per_second": round(n_images / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    reader = Reader(Classifier(num_threads=1))
    rows = [
        frame_costs(reader, size, n, args.repeats)
        for size in SIZES.values()
        for n in (1, 6, 12)
    ]
    print(f"{'frame':>9} {'digits':>6} {'median ms':>10} {'p10-p90 ms':>13}  "
          f"{'locate':>7} {'normal.':>7} {'classify':>8}  {'read right':>10}")
    for r in rows:
        s = r["stages_median_ms"]
        print(f"{r['size']:>9} {r['digits']:>6} {r['median_ms']:>10.2f} "
              f"{r['p10_ms']:>6.2f}-{r['p90_ms']:<6.2f}  {s['locate']:>7.2f} "
              f"{s['normalise']:>7.2f} {s['classify']:>8.2f}  {r['numbers_read_right']:>10.0%}")
    rows9 = handwriting_rows(args.repeats)
    print(f"a real sudoku row ({rows9['size']}, 9 digits): automatic search "
          f"{rows9['auto_median_ms']:.2f} ms, nine handwriting boxes "
          f"{rows9['boxes_median_ms']:.2f} ms (medians)")
    folder = recognize_folder()
    print(f"digitd recognize on a folder of {folder['images']} JPEGs: "
          f"{folder['images_per_second']} images/s ({folder['seconds']} s incl. start-up)")
    if args.json:
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"platform": platform.platform(), "processor": platform.processor(),
                        "python": platform.python_version()},
            "frames": rows,
            "handwriting_rows": rows9,
            "recognize_folder": folder,
        }
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
