"""``digitd convert``: the command-line face of :mod:`digitd.convert.convert`."""

from __future__ import annotations

import argparse
import sys

from digitd.convert.convert import GateError, convert


def convert_command(args: argparse.Namespace) -> int:
    try:
        result = convert(
            args.model,
            args.out,
            args.mnist_dir,
            representative=args.representative,
            max_drop_points=args.max_drop,
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
