"""``digitd train``: the command-line face of :mod:`digitd.train.train`."""

from __future__ import annotations

import argparse

from digitd.train.train import TrainConfig, train


def train_command(args: argparse.Namespace) -> int:
    cfg = TrainConfig(
        arch=args.arch,
        epochs=args.epochs,
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
        init=args.init,
        out=args.out or f"runs/{args.arch}",
    )
    result = train(cfg)
    print(
        f"{cfg.arch}: float accuracy {result.metrics['float_accuracy_mnist_test']:.4f} "
        f"({result.metrics['params']} parameters) -> {result.model_path}"
    )
    return 0
