"""``digitd train``: the command-line face of :mod:`digitd.train.digits.train` and
:mod:`digitd.train.wheels.train`."""

from __future__ import annotations

import argparse

from digitd.train.digits.pen import parse_kinds
from digitd.train.digits.train import TrainConfig, train


def train_command(args: argparse.Namespace) -> int:
    if args.kind == "window":
        return _train_window(args)
    if args.meter_dir or args.sevenseg_dir or args.teachers or args.generated_teachers \
            or args.glare:
        raise ValueError("--meter-dir/--sevenseg-dir/--teacher/--generated-teacher/--glare "
                         "train the meter-window model: add --kind window")
    cfg = TrainConfig(
        arch=args.arch,
        epochs=args.epochs or 15,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        mnist_dir=args.mnist_dir,
        images_dir=args.images_dir,
        limit=args.limit,
        camera_fraction=args.camera_fraction,
        negative_fraction=args.negative_fraction,
        printed_fraction=args.printed_fraction,
        shift_augment=not args.no_shift_augment,
        pen_variants=parse_kinds(args.pen_variants) if args.pen_variants else (),
        init=args.init,
        out=args.out or f"runs/{args.arch}",
    )
    result = train(cfg)
    print(
        f"{cfg.arch}: float accuracy {result.metrics['float_accuracy_mnist_test']:.4f} "
        f"({result.metrics['params']} parameters) -> {result.model_path}"
    )
    return 0


def _train_window(args: argparse.Namespace) -> int:
    from digitd.train.wheels.train import WindowTrainConfig, train_window

    if args.mnist_dir:
        raise ValueError("--mnist-dir trains the digit model; the window kind reads "
                         "--meter-dir, --sevenseg-dir and --images")
    if not 0.0 <= args.neighbour_share <= 1.0:
        raise ValueError(f"--neighbour-share {args.neighbour_share}: give a share from 0 to 1 "
                         "(0.3: three augmented crops in ten show a neighbour's strip)")
    if not 0.0 <= args.dot_matrix <= 1.0:
        raise ValueError(f"--dot-matrix {args.dot_matrix}: give a share from 0 to 1 "
                         "(0.25: a quarter of the generated LCD cells drawn in dots)")
    if not 0.0 <= args.glare <= 1.0:
        raise ValueError(f"--glare {args.glare}: give a share from 0 to 1 "
                         "(0.3: three augmented crops in ten given a flash's glare)")
    if (args.teachers or args.generated_teachers) and not 0.0 <= args.teacher_weight <= 1.0:
        raise ValueError(f"--teacher-weight {args.teacher_weight}: give a share from 0 to 1 "
                         "(0.8: four fifths of the targets from the teachers' mean scores)")
    cfg = WindowTrainConfig(
        meter_dir=args.meter_dir,
        sevenseg_dir=args.sevenseg_dir,
        epochs=args.epochs or 18,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        copies=args.copies,
        synthetic=args.synthetic,
        neighbour_share=args.neighbour_share,
        dot_matrix=args.dot_matrix,
        limit=args.limit,
        images_dir=args.images_dir,
        init=args.init,
        teachers=tuple(args.teachers or ()),
        teacher_weight=args.teacher_weight,
        teacher_sees=args.teacher_sees,
        generated_teachers=tuple(args.generated_teachers or ()),
        glare=args.glare,
        out=args.out or "runs/window",
    )
    path = train_window(cfg)
    print(f"window: meter-window model -> {path} (dev figures in {path.parent}/metrics.json)")
    return 0
