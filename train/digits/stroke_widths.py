"""Stroke widths of MNIST's training digits, the measure the normalisation evens.

    python -m digitd.train.digits.stroke_widths [--mnist-dir ../shared/data/mnist]
    python -m digitd.train.digits.stroke_widths --model models/digits.tflite

Prints percentiles of :func:`~digitd.edge.vision.normalise.stroke_width` over the
60,000 training digits (each already fitted to 20x20 by MNIST's makers); the
2.5th and 97.5th are :data:`~digitd.edge.vision.normalise.THIN` and ``THICK``.
With ``--model``: how many of the 10,000 MNIST test digits, written again with
finer pens and a marker (:data:`digitd.train.digits.pen.PENS`), the model reads right
with the strokes evened and without (at the decision's default confidence floor).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...edge.vision.normalise import stroke_width
from ..common.idx import load_mnist_dir

PERCENTILES = (1.0, 2.5, 5.0, 50.0, 95.0, 97.5, 99.0)


def widths(mnist_dir: Path, split: str = "train") -> np.ndarray:
    images, _ = load_mnist_dir(mnist_dir, split)
    return np.array([stroke_width(d.astype(np.float32) / 255.0) for d in images])


def read_with_pens(model: Path, mnist_dir: Path, limit: int | None = None) -> dict[str, Any]:
    """Per pen (and MNIST's own strokes photographed as they are): the share read right
    with and without the evening, and the share of the test digits outside the band."""
    from ...edge.config import DecisionConfig
    from ...edge.vision.classifier import Classifier
    from ...edge.vision.normalise import THICK, THIN, fit_and_centre, ink_map
    from .pen import PENS, rewritten

    images, labels = load_mnist_dir(mnist_dir, "test")
    images, labels = images[:limit], labels[:limit]
    clf = Classifier(model)
    floor = DecisionConfig().min_confidence
    out: dict[str, Any] = {"model": str(model), "digits": len(images), "min_confidence": floor}
    for name, (scale, kernel, broader) in {"as written": (3, 1, True), **PENS}.items():
        inks = [ink_map(rewritten(d, scale, kernel, broader)) for d in images]
        plain = np.stack([fit_and_centre(i, even=False) for i in inks])
        width = np.array([stroke_width(p.astype(np.float32) / 255.0) for p in plain])
        row: dict[str, float] = {"outside_band": float(np.mean((width < THIN) | (width > THICK)))}
        for key, x in (("plain", plain), ("evened", np.stack([fit_and_centre(i) for i in inks]))):
            probs = clf.probabilities(x)
            right = (probs.argmax(axis=1) == labels) & (probs.max(axis=1) >= floor)
            row[key] = float(right.mean())
        out[name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-dir", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--model", type=Path,
                        help="read MNIST's test digits written with other pens with this model")
    parser.add_argument("--limit", type=int, help="only the first N test digits (--model)")
    args = parser.parse_args()
    if args.model:
        print(json.dumps(read_with_pens(args.model, args.mnist_dir, args.limit)))
        return
    w = widths(args.mnist_dir, args.split)
    values = np.nanpercentile(w, PERCENTILES)
    print(json.dumps({"digits": int(np.isfinite(w).sum()),
                      "percentiles": {f"{p:g}": round(float(v), 2)
                                      for p, v in zip(PERCENTILES, values, strict=True)}}))


if __name__ == "__main__":
    main()
