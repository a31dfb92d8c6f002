"""How well a model reads meter digits in fonts it never trained on, and refuses non-digits.

``python -m digitd.train.meter_eval [--model M]`` prints the table; the numbers
come from :func:`evaluate_printed` on examples made by :mod:`digitd.train.printed`
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

from digitd.edge.classifier import Classifier
from digitd.edge.labels import NOT_A_DIGIT, NUM_CLASSES
from digitd.train.printed import printed_examples

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
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitd.train.meter_eval",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", help=".tflite model (default: the shipped model)")
    parser.add_argument("--n", type=int, default=2200, help="examples to make (default 2200)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--fonts", choices=["heldout", "train"], default="heldout")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = evaluate_printed(Classifier(args.model), args.n, args.seed, args.fonts)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
