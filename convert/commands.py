"""``digitd convert``: the command-line face of :mod:`digitd.convert.digits` and
:mod:`digitd.convert.wheels` (one module per model kind over :mod:`digitd.convert.int8`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..edge.vision.model_card import card_path
from .digits import convert
from .int8 import GateError


def convert_command(args: argparse.Namespace) -> int:
    if _trained_as(args.model) == "dial":
        return _convert_dial(args)
    if args.meter_dir:
        return _convert_window(args)
    try:
        result = convert(
            args.model,
            args.out,
            args.mnist_dir,
            representative=args.representative,
            max_drop_points=0.3 if args.max_drop is None else args.max_drop,
            eval_limit=args.eval_limit,
        )
    except GateError as exc:
        print(f"digitd convert: refused: {exc}", file=sys.stderr)
        return 1
    acc = result.card["accuracy"]
    print(
        f"{result.tflite_path} ({result.card['size_bytes']} bytes): int8 {acc['int8']:.4f}, "
        f"float {acc['float']:.4f} on {acc['n']} MNIST test digits; card {result.card_path}"
    )
    return 0


def _convert_window(args: argparse.Namespace) -> int:
    from .wheels import convert_window

    try:
        result = convert_window(
            args.model, args.out, args.meter_dir,
            max_drop_points=1.0 if args.max_drop is None else args.max_drop,
        )
    except GateError as exc:
        print(f"digitd convert: refused: {exc}", file=sys.stderr)
        return 1
    acc = result.card["accuracy"]
    print(
        f"{result.tflite_path} ({result.card['size_bytes']} bytes): dev near-whole wheels "
        f"int8 {acc['int8']['near_whole_accuracy']:.4f}, float "
        f"{acc['float']['near_whole_accuracy']:.4f} ({acc['int8']['near_whole_n']} crops of "
        f"unseen meters); card {result.card_path}"
    )
    return 0


def _trained_as(keras_path: str) -> str | None:
    """The architecture the training run beside the model recorded (its metrics.json)."""
    metrics = Path(keras_path).with_name("metrics.json")
    try:
        arch = json.loads(metrics.read_text()).get("arch")
    except (OSError, ValueError, AttributeError):
        return None
    return arch if isinstance(arch, str) else None


def _convert_dial(args: argparse.Namespace) -> int:
    from .dials import convert_dial

    try:
        out = convert_dial(args.model, args.out,
                           max_drop_points=1.5 if args.max_drop is None else args.max_drop)
    except GateError as exc:
        print(f"digitd convert: refused: {exc}", file=sys.stderr)
        return 1
    card = json.loads(card_path(out).read_text())
    held = card["accuracy"]["held_out"]["all"]
    print(f"{out} ({card['size_bytes']} bytes): held-out dial styles, int8: "
          f"{100 * held['within_0.3']:.2f} % within 0.3, median error "
          f"{held['median_error']:.3f}; card {card_path(out)}")
    return 0
