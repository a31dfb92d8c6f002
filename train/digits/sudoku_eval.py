"""Handwriting in real phone photos: the sudoku cells and rows, read as a user's camera would.

``python -m digitd.train.digits.sudoku_eval [--data ../shared/data/sudoku-photos]`` prints,
per ink (pen = handwritten, print), how many cells the automatic search reads
exactly (the whole 100x100 cell with its grid lines), how many one box just
inside the cell reads, and how many grid rows read as the exact 9-digit number
(each row straightened with ``warp`` corners computed from ``corners.json``), by the
automatic search and through nine ``display = "handwriting"`` boxes.
LiteRT only. The photos are for measuring: never train on them (CC-BY-4.0,
see the data set's README).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.config import DEFAULT_MIN_CONFIDENCE, LocateConfig
from ...edge.vision.classifier import Classifier
from ...edge.vision.decide import apply_floor
from ...edge.vision.reader import Reader

logger = logging.getLogger(__name__)

DEFAULT_DATA = "../shared/data/sudoku-photos"
INNER = [14, 14, 72, 72]  # one box just inside a 100x100 cell, clear of the grid lines


def _rate(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else float("nan")


def row_corners(grid: Sequence[Sequence[float]], row: int) -> list[list[float]]:
    """The four corners (TL, TR, BR, BL) in the photo of grid row ``row`` (0-8)."""
    import cv2

    src = np.array([[0, 0], [9, 0], [9, 9], [0, 9]], np.float32)
    h = cv2.getPerspectiveTransform(src, np.array(grid, np.float32))
    pts = np.array([[[0, row], [9, row], [9, row + 1], [0, row + 1]]], np.float32)
    return [[float(x), float(y)] for x, y in cv2.perspectiveTransform(pts, h)[0]]


def row_boxes(image: np.ndarray, warp: list[list[float]]) -> LocateConfig:
    """The row straightened by ``warp`` and read through nine handwriting boxes, one per
    cell and as far inside it as :data:`INNER` is inside a 100 px cell."""
    from ...edge.vision.image import to_gray
    from ...edge.vision.locate import Locator

    region, _ = Locator(LocateConfig(warp=warp)).region(to_gray(image))
    h, w = region.shape
    return LocateConfig(mode="boxes", warp=warp, boxes=cell_boxes(w, h), display="handwriting")


def cell_boxes(width: int, height: int) -> list[list[int]]:
    """Nine boxes across a straightened ``width`` x ``height`` row, one per cell, each as
    far inside its cell as :data:`INNER` is inside a 100 px cell."""
    cell = width / 9
    mx, my = round(INNER[0] / 100 * cell), round(INNER[1] / 100 * height)
    return [[round(k * cell) + mx, my, round(cell) - 2 * mx, height - 2 * my] for k in range(9)]


def evaluate(data: str | Path, model: str | None = None,
             min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict[str, Any]:
    """The figures as ``digitd recognize`` would give them: each reading under the
    confidence floor (the daemon's by default)."""
    from ...edge.vision.image import load_image

    data = Path(data)
    with (data / "cells.csv").open(newline="") as fh:
        cells = list(csv.DictReader(fh))
    clf = Classifier(model)

    def _value(reader: Reader, image: npt.NDArray[np.uint8]) -> str:
        return apply_floor(reader.read(image), min_confidence).value

    auto = Reader(clf, LocateConfig())
    inner = Reader(clf, LocateConfig(mode="boxes", boxes=[INNER], display="handwriting"))
    hits: dict[str, list[bool]] = defaultdict(list)
    misreads: list[dict[str, str]] = []
    for c in cells:
        image = load_image(data / c["file"])
        got_auto = _value(auto, image)
        got_inner = _value(inner, image)
        hits[f"auto_{c['ink']}"].append(got_auto == c["label"])
        hits[f"inner_{c['ink']}"].append(got_inner == c["label"])
        if c["label"] != got_auto or c["label"] != got_inner:
            misreads.append({"file": c["file"], "ink": c["ink"], "label": c["label"],
                             "auto": got_auto, "inner": got_inner})
    corners = json.loads((data / "corners.json").read_text())
    truth: dict[tuple[str, int], str] = {}
    for c in cells:
        key = (c["photo"], int(c["row"]))
        truth[key] = truth.get(key, "") + c["label"]  # cells.csv is in row order
    rows: dict[str, list[bool]] = {"auto": [], "boxes": []}
    row_misreads: list[dict[str, str]] = []
    for (photo, row), want in sorted(truth.items()):
        if photo not in corners or not (data / photo).exists():
            continue
        image = load_image(data / photo)
        warp = row_corners(corners[photo], row)
        for via, locate in (("auto", LocateConfig(warp=warp)),
                            ("boxes", row_boxes(image, warp))):
            got = _value(Reader(clf, locate), image)
            rows[via].append(got == want)
            if got != want:
                row_misreads.append({"photo": photo, "row": str(row), "via": via,
                                     "want": want, "got": got})
    return {
        "model": str(clf.model_path),
        "min_confidence": min_confidence,
        "cells": {k: {"n": len(v), "exact": _rate(v)} for k, v in sorted(hits.items())},
        "rows": {"n": len(rows["auto"]), "exact": _rate(rows["auto"])},
        "rows_boxes": {"n": len(rows["boxes"]), "exact": _rate(rows["boxes"])},
        "misreads": misreads,
        "row_misreads": row_misreads,
    }


def print_report(r: dict[str, Any], out: Any = sys.stdout) -> None:
    print(f"model {r['model']}", file=out)
    for name, f in r["cells"].items():
        where, ink = name.split("_")
        what = "automatic search, whole cell" if where == "auto" else "one box inside the cell"
        print(f"  {ink:5s} {what:30s} {100 * f['exact']:5.1f} % of {f['n']}", file=out)
    print(f"  rows read as the exact 9-digit number: {100 * r['rows']['exact']:5.1f} % of "
          f"{r['rows']['n']}", file=out)
    print(f"  the same through nine handwriting boxes: {100 * r['rows_boxes']['exact']:5.1f} % "
          f"of {r['rows_boxes']['n']}", file=out)
    # What was read wrong, so a change can be judged cell by cell ("" = nothing read).
    for m in r["misreads"]:
        print(f"  {m['file']:28s} {m['ink']:5s} {m['label']}: auto {m['auto'] or '-':3s} "
              f"inner {m['inner'] or '-'}", file=out)
    for m in r["row_misreads"]:
        print(f"  {m['photo']} row {m['row']} ({m['via']}): {m['want']} read {m['got'] or '-'}",
              file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitd.train.digits.sudoku_eval",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="the sudoku-photos folder")
    parser.add_argument("--model", help="digit .tflite (default: the shipped one)")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                        help="the confidence floor, as recognize's (default: the daemon's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = evaluate(args.data, args.model, args.min_confidence)
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
