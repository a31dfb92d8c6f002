"""``digitd evaluate``: the command-line face of :mod:`digitd.train.digits.evaluate` (the
MNIST test split) and :mod:`digitd.train.wheels.evaluate` (real meters, ``--meter-dir``).

Needs only the edge extra: the IDX reader and the classifier, no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..edge.vision.classifier import Classifier
from .common.idx import load_mnist_dir
from .digits.evaluate import evaluate, write_report


def evaluate_command(args: argparse.Namespace) -> int:
    if args.meter_dir:
        return _evaluate_window(args)
    from .common.fetch import cached_mnist

    mnist_dir = args.mnist_dir or cached_mnist()
    if not mnist_dir:
        raise ValueError(
            "give --mnist-dir DIR (the four MNIST IDX files; 'digitd fetch-mnist' downloads "
            "them once into a cache used by default) for a digit model, or --meter-dir DIR "
            "(meter-digits) for a meter-window model"
        )
    classifier = Classifier(args.model, num_threads=args.threads)
    images, labels = load_mnist_dir(mnist_dir, "test")
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    result = evaluate(classifier, images, labels)
    summary = result.summary(classifier.model_path)
    if args.report_dir:
        write_report(
            Path(args.report_dir), result, images, labels, classifier.num_classes, summary
        )
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{classifier.model_path.name}: accuracy {result.accuracy:.4f} on {result.n} MNIST "
            f"test digits ({result.errors} errors, {result.rejected} called 'not a digit')"
        )
    return 0


def _evaluate_window(args: argparse.Namespace) -> int:
    from .wheels.evaluate import evaluate_dev, print_report

    report = evaluate_dev(args.model, args.meter_dir, args.sevenseg_dir, args.sequences,
                          synthetic_counters=args.synthetic_counters)
    if args.report_dir:
        out = Path(args.report_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "window_eval.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0
