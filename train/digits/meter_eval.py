"""How well a model reads meter digits in fonts it never trained on, and refuses non-digits.

``python -m digitd.train.digits.meter_eval [--model M]`` prints the table; the numbers
come from :func:`evaluate_printed` on examples made by :mod:`digitd.train.common.printed`
with the held-out font families. Only LiteRT runs the model: no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...edge.vision.classifier import Classifier
from ...edge.vision.labels import NOT_A_DIGIT, NUM_CLASSES
from ..common.printed import printed_examples

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20_251


def _rate(hits: np.ndarray, mask: np.ndarray) -> float:
    return float(hits[mask].mean()) if mask.any() else float("nan")


def evaluate_printed(
    classifier: Classifier, n: int = 2200, seed: int = DEFAULT_SEED, fonts: str = "heldout"
) -> dict[str, Any]:
    """Per-class accuracy on meter digits and the "not a digit" rejection rate, per kind.

    A model without the "not a digit" output rejects nothing, so its rejection rates are 0.
    """
    data = printed_examples(n, seed, fonts)
    probs = classifier.probabilities(data.images)
    predicted = probs.argmax(axis=1)
    labels = data.labels.astype(np.int64)
    kinds = np.array(data.kinds)
    right = predicted == labels
    is_digit = labels != NOT_A_DIGIT
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(confusion, (labels, np.minimum(predicted, NUM_CLASSES - 1)), 1)
    negative_kinds = sorted({str(k) for k in kinds[~is_digit]})
    digit_kinds = sorted({str(k) for k in kinds[is_digit]})
    return {
        "n": len(labels),
        "fonts": fonts,
        "seed": seed,
        "digit_accuracy": _rate(right, is_digit),
        "per_class": {str(c): _rate(right, labels == c) for c in range(NOT_A_DIGIT)},
        "per_style": {k: _rate(right, is_digit & (kinds == k)) for k in digit_kinds},
        "false_rejection": _rate(predicted == NOT_A_DIGIT, is_digit),
        "rejection": _rate(right, ~is_digit),
        "rejection_by_kind": {k: _rate(right, kinds == k) for k in negative_kinds},
        "confusion": confusion.tolist(),
    }


def evaluate_blank_cells(classifier: Classifier, meters: int = 60,
                         seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Empty leading cells of whole LCD meter photos read with fixed boxes.

    Counts how often an unlit cell comes out as a digit, once with the reader's
    row-contrast rule and once with the model's word alone, on held-out fonts.
    """
    from ...edge.config import DEFAULT_MIN_CONFIDENCE, LocateConfig
    from ...edge.vision.decide import apply_floor
    from ...edge.vision.reader import Reader
    from ..common.meters import meter_image

    rng = np.random.default_rng(seed)
    blank = right = alone = digits_right = digits = 0
    for k in range(meters):
        lead = int(rng.integers(1, 4))
        shown = "".join(str(d) for d in rng.integers(0, 10, 8 - lead))
        image, boxes = meter_image(" " * lead + shown, seed=seed + k, kind="lcd")
        locate = LocateConfig(mode="boxes", boxes=boxes,
                              polarity="dark_on_light", decimals=3)
        reader = Reader(classifier, locate)
        seen = reader.see(image)
        reads = apply_floor(seen.reading, DEFAULT_MIN_CONFIDENCE).digits
        model_alone = [p.digit if p.confidence >= DEFAULT_MIN_CONFIDENCE else None
                       for p in classifier.classify(seen.inputs)]
        blank += lead
        right += sum(r.digit is None for r in reads[:lead])
        alone += sum(d is None for d in model_alone[:lead])
        digits += len(shown)
        digits_right += sum(r.digit == int(c) for r, c in zip(reads[lead:], shown, strict=True))
    return {
        "meters": meters,
        "blank_cells": blank,
        "blank_refused": right / blank,
        "blank_refused_model_alone": alone / blank,
        "digits_read": digits_right / digits,
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"meter digits, {result['fonts']} fonts, {result['n']} examples (seed {result['seed']})",
        f"{'digit accuracy':<28}{result['digit_accuracy']:8.3f}",
    ]
    lines += [f"  class {c:<20}{v:8.3f}" for c, v in result["per_class"].items()]
    lines += [f"  style {k:<20}{v:8.3f}" for k, v in result["per_style"].items()]
    lines.append(f"{'digits called not-a-digit':<28}{result['false_rejection']:8.3f}")
    lines.append(f"{'not-a-digit rejected':<28}{result['rejection']:8.3f}")
    lines += [f"  {k:<26}{v:8.3f}" for k, v in result["rejection_by_kind"].items()]
    meters = result.get("lcd_meters")
    if meters:
        lines += [
            f"whole LCD meters, {meters['meters']} photos, {meters['blank_cells']} empty cells",
            f"  {'empty cells refused':<26}{meters['blank_refused']:8.3f}",
            f"  {'  by the model alone':<26}{meters['blank_refused_model_alone']:8.3f}",
            f"  {'lit digits read':<26}{meters['digits_read']:8.3f}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitd.train.digits.meter_eval",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", help=".tflite model (default: the shipped model)")
    parser.add_argument("--n", type=int, default=2200, help="examples to make (default 2200)")
    parser.add_argument("--meters", type=int, default=60,
                        help="whole LCD meters with empty leading cells (default 60; 0: none)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--fonts", choices=["heldout", "train"], default="heldout")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    classifier = Classifier(args.model)
    result = evaluate_printed(classifier, args.n, args.seed, args.fonts)
    if args.meters > 0:
        result["lcd_meters"] = evaluate_blank_cells(classifier, args.meters, args.seed)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
