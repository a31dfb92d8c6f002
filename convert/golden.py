"""Keep a few known inputs in a model's card, for the device's check of its runtime.

    python -m digitd.convert.golden models/digits.tflite [--mnist-dir DIR]
    python -m digitd.convert.golden models/meter.tflite --meter-dir ../shared/data/meter-digits
    python -m digitd.convert.golden models/dial.tflite

``digitd convert`` does this for every model it writes; this command adds them to a card
written before the device checked them. For each class (a digit model: the ten digits
and "not a digit"; a meter-window model: the ten whole wheel positions; a dial model: the
ten whole needle positions and "not a dial", on generated dials) it keeps the
real input that the converted model reads right with the widest margin, so that a
runtime computing correctly on another machine reads every one the same way
(:mod:`digitd.edge.vision.golden`). The model file is not touched; the card's SHA-256 is
checked first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..edge.vision.classifier import Classifier, WindowClassifier
from ..edge.vision.dial import POSITION, DialModel, dial_input
from ..edge.vision.golden import GOLDEN_KEY, GoldenSet, pick
from ..edge.vision.labels import NOT_A_DIGIT, NUM_DIGITS
from ..edge.vision.model_card import ModelError, card_path, load_card
from ..edge.vision.wheel import BLANK, STEPS, position_class
from ..edge.vision.window import window_batch

# Drawn from the first test digits: enough to find a wide margin for every class.
DIGIT_POOL = 2000
NEGATIVE_POOL = 200


def digit_golden(model_path: str | Path, mnist_dir: str | Path | None) -> GoldenSet:
    """One MNIST test digit of each class and one generated "not a digit"."""
    from ..train.common.data import load_mnist
    from ..train.digits.negatives import negatives

    train, test = load_mnist(mnist_dir)
    images = np.concatenate([test.images[:DIGIT_POOL],
                             negatives(NEGATIVE_POOL, train.images[:1000], seed=0)])
    labels = np.concatenate([test.labels[:DIGIT_POOL].astype(int),
                             np.full(NEGATIVE_POOL, NOT_A_DIGIT)])
    model = Classifier(model_path, require_card=False)
    probs = model.probabilities(images)
    classes = list(range(NUM_DIGITS)) + ([NOT_A_DIGIT] if model.num_classes > NUM_DIGITS else [])
    return pick(images, labels, probs, classes,
                source="MNIST test split (first 2,000) and generated 'not a digit' (seed 0)")


def window_golden(model_path: str | Path, meter_dir: str | Path) -> GoldenSet:
    """One real dev crop (meters in no training image) at each whole wheel position."""
    from ..train.wheels.data import load_meter_digits

    dev = load_meter_digits(meter_dir, "dev")
    images = window_batch(dev.crops)
    labels = [position_class(float(p)) for p in dev.positions]
    probs = WindowClassifier(model_path, require_card=False).probabilities(images)
    return pick(images, labels, probs, [d * STEPS for d in range(10)],
                source="meter-digits dev split, a crop at each whole position")


def dial_golden(model_path: str | Path, per_class: int = 12, seed: int = 0) -> GoldenSet:
    """Generated dials of the tuning styles at each whole position, and boxes holding none;
    kept on the position head's classes (its top class is what a reading rests on)."""
    from ..train.dials.render import (
        NEGATIVES,
        STYLES,
        TUNE_STYLES,
        Shot,
        render,
        render_negative,
    )

    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for d in range(10):
        for k in range(per_class):
            style = STYLES[TUNE_STYLES[k % len(TUNE_STYLES)]]
            crops.append(render(rng, style, float(d), "cw" if k % 2 else "ccw", Shot()))
            labels.append(d * STEPS)
    for k in range(per_class):
        crops.append(render_negative(rng, NEGATIVES[k % len(NEGATIVES)], STYLES["white_lancet"]))
        labels.append(BLANK)
    images = np.stack([dial_input(c) for c in crops])
    probs = DialModel(model_path, require_card=False).probabilities(images)[:, POSITION]
    return pick(images, labels, probs, [d * STEPS for d in range(10)] + [BLANK],
                source=f"generated dials of the tuning styles (seed {seed}), a dial at each "
                "whole position and a box holding none")


def golden_for(model_path: str | Path, kind: str, mnist_dir: str | Path | None = None,
               meter_dir: str | Path | None = None) -> GoldenSet:
    if kind == "window":
        if meter_dir is None:
            raise ModelError(f"{model_path}: a meter-window model: give --meter-dir")
        return window_golden(model_path, meter_dir)
    if kind == "dial":
        return dial_golden(model_path)
    return digit_golden(model_path, mnist_dir)


def add_golden(model_path: str | Path, golden: GoldenSet) -> dict[str, Any]:
    """Write ``golden`` into the card of ``model_path`` (checked to be its card); the card."""
    card = load_card(model_path)
    card[GOLDEN_KEY] = golden.to_card()
    card_path(model_path).write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m digitd.convert.golden", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a converted .tflite with its card")
    p.add_argument("--mnist-dir", help="digit models: the MNIST folder (default: the cache)")
    p.add_argument("--meter-dir", help="meter-window models: the meter-digits folder")
    args = p.parse_args(argv)
    try:
        kind = load_card(args.model).get("kind", "digit")
        golden = golden_for(args.model, kind, args.mnist_dir, args.meter_dir)
        add_golden(args.model, golden)
    except (ModelError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{card_path(args.model)}: {len(golden.top)} known inputs kept (classes "
          f"{', '.join(str(t) for t in golden.top)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
