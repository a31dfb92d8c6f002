"""``digitd convert``: the command-line face of :mod:`digitd.convert.digits` and
:mod:`digitd.convert.wheels` (one module per model kind over :mod:`digitd.convert.int8`)."""

from __future__ import annotations

import argparse
import sys

from .digits import convert
from .int8 import GateError


def convert_command(args: argparse.Namespace) -> int:
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
