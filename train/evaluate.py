"""``digitd evaluate``: the command-line face of :mod:`digitd.train.digits.evaluate` (the
MNIST test split), :mod:`digitd.train.wheels.evaluate` (real meters, ``--meter-dir``) and
:mod:`digitd.train.dials` (``--dials``: held-out dial styles, and with ``--meter-dir``
whole water meters of real wheel crops and generated dials).

Needs only the edge extra: the IDX reader and the classifier, no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..edge.vision.classifier import Classifier
from ..edge.vision.wheel import WheelEstimate
from .common.idx import load_mnist_dir
from .digits.evaluate import evaluate, write_report


def evaluate_command(args: argparse.Namespace) -> int:
    if args.dials:
        return _evaluate_dials(args)
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


def wheel_pools(meter_dir: str, window_model: str | None = None,
                ) -> dict[str, dict[int, list[WheelEstimate]]]:
    """Per dev meter with counter wheels (LCDs left out), the meter-window model's
    estimates of its real crops by the tenth each is labelled with."""
    from ..edge.vision.classifier import WindowClassifier
    from .wheels.data import load_meter_digits, window_examples
    from .wheels.sequences import lcd_meters

    dev = load_meter_digits(meter_dir, "dev")
    estimates = WindowClassifier(window_model).estimate(window_examples(dev, None))
    lcds = lcd_meters(dev.groups, dev.positions)
    pools: dict[str, dict[int, list[WheelEstimate]]] = {}
    for group, position, est in zip(dev.groups, dev.positions, estimates, strict=True):
        if group in lcds or position < 0:
            continue
        pools.setdefault(str(group), {}).setdefault(round(float(position) * 10) % 100,
                                                     []).append(est)
    return pools


def _evaluate_dials(args: argparse.Namespace) -> int:
    """The dial model on its held-out generated styles; with ``--meter-dir`` also whole
    water meters (real wheel crops of the dev split, generated dials)."""
    from ..edge.vision.dial import DialModel
    from .dials.evaluate import evaluate as evaluate_styles
    from .dials.evaluate import report_table as table
    from .dials.render import HELD_OUT_STYLES
    from .dials.sequences import evaluate_water_meters

    model = DialModel(args.model, num_threads=args.threads)
    report: dict[str, object] = {"held_out": evaluate_styles(model, HELD_OUT_STYLES)}
    if args.meter_dir:
        pools = wheel_pools(args.meter_dir)
        report["water_meters"] = evaluate_water_meters(pools, model, args.water_meters)
    if args.json:
        print(json.dumps(report))
        return 0
    held_out = report["held_out"]
    assert isinstance(held_out, dict)
    print(table(held_out))
    water = report.get("water_meters")
    if isinstance(water, dict):
        print(f"water meters: {water['meters']} x {water['steps']} frames, "
              f"{water['published']} published, {100 * water['exact']:.2f} % exact to the "
              f"finest dial ({100 * water['within_one_step']:.2f} % within one step), "
              f"{water['decreasing']} decreasing; the last wheel's carry right in "
              f"{100 * water['carry_right']:.2f} % of {water['carry_frames']} frames with the "
              f"x0.1 dial read; {100 * water['no_reading']:.1f} % of frames refused")
    return 0
