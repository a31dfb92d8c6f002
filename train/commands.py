"""``digitd train``: the command-line face of :mod:`digitd.train.digits.train`,
:mod:`digitd.train.wheels.train` and :mod:`digitd.train.dials.train`. What a run does
beyond the everyday options is its recipe (:mod:`digitd.train.recipe`)."""

from __future__ import annotations

import argparse
from typing import Any

from .recipe import load_recipe

# The everyday options: given on the command line, each replaces the recipe's value.
EVERYDAY = ("mnist_dir", "meter_dir", "sevenseg_dir", "images_dir", "epochs", "limit",
            "seed", "init", "out")


def _settings(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    kind, settings = load_recipe(args.recipe) if args.recipe else ("digit", {})
    if args.kind is not None:
        if args.recipe and args.kind != kind:
            raise ValueError(f"{args.recipe} is a recipe for a {kind} model, not --kind "
                             f"{args.kind}: leave --kind out or give a {args.kind} recipe")
        kind = args.kind
    for name in EVERYDAY:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    return kind, settings


def _share(settings: dict[str, Any], key: str, example: str) -> None:
    value = settings.get(key)
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"{key} = {value}: give a share from 0 to 1 ({example})")


def train_command(args: argparse.Namespace) -> int:
    kind, settings = _settings(args)
    if kind == "window":
        return _train_window(settings)
    if kind == "dial":
        return _train_dial(settings)
    from .digits.pen import parse_kinds
    from .digits.train import TrainConfig, train

    given = [name for name in ("meter_dir", "sevenseg_dir") if settings.get(name)]
    if given:
        raise ValueError(f"{', '.join('--' + n.replace('_', '-') for n in given)} train the "
                         "meter-window model: add --kind window (or give a window recipe)")
    if isinstance(settings.get("pen_variants"), tuple):
        settings["pen_variants"] = parse_kinds(",".join(settings["pen_variants"]))
    settings.setdefault("out", f"runs/{settings.get('arch', 'edge')}")
    cfg = TrainConfig(**settings)
    result = train(cfg)
    print(
        f"{cfg.arch}: float accuracy {result.metrics['float_accuracy_mnist_test']:.4f} "
        f"({result.metrics['params']} parameters) -> {result.model_path}"
    )
    return 0


def _train_window(settings: dict[str, Any]) -> int:
    from .wheels.train import WindowTrainConfig, train_window

    if settings.get("mnist_dir"):
        raise ValueError("--mnist-dir trains the digit model; the window kind reads "
                         "--meter-dir, --sevenseg-dir and --images")
    _share(settings, "neighbour_share", "0.3: three augmented crops in ten show a neighbour's "
           "strip")
    _share(settings, "dot_matrix", "0.25: a quarter of the generated LCD cells drawn in dots")
    _share(settings, "glare", "0.3: three augmented crops in ten given a flash's glare")
    # The data sets are what the command line (or the recipe) names, none by default:
    # --images alone trains on a user's crops and the generated windows.
    settings.setdefault("meter_dir", None)
    settings.setdefault("sevenseg_dir", None)
    cfg = WindowTrainConfig(**settings)
    path = train_window(cfg)
    print(f"window: meter-window model -> {path} (dev figures in {path.parent}/metrics.json)")
    return 0


def _train_dial(settings: dict[str, Any]) -> int:
    from .dials.train import DialTrainConfig, train_dial

    given = [name for name in ("mnist_dir", "meter_dir", "sevenseg_dir", "images_dir", "init")
             if settings.get(name)]
    if given:
        raise ValueError(f"{', '.join('--' + n.replace('_', '-') for n in given)}: the dial model "
                         "trains on generated dials only (its recipe's examples, epochs, seed)")
    for name in ("mnist_dir", "meter_dir", "sevenseg_dir", "images_dir", "init"):
        settings.pop(name, None)
    limit = settings.pop("limit", None)
    if limit:  # a quick run: this many generated dials
        settings["examples"] = limit
    _share(settings, "negative_share", "0.12: one generated input in eight is not a dial")
    path = train_dial(DialTrainConfig(**settings))
    print(f"dial: pointer-dial model -> {path} (convert it with 'digitd convert {path} "
          "--out models/dial.tflite')")
    return 0
