"""Train a digit model: build the training set, fit, write the .keras model and a report.

Reads top to bottom: settings -> data -> model -> fit -> report. Everything that
shaped the result goes into ``metrics.json`` beside the model, so a model can be
traced back to the exact command and data that produced it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...edge import __version__
from ...edge.vision.labels import LABELS, NOT_A_DIGIT, NUM_CLASSES
from ...edge.vision.normalise import PREPROCESSING_VERSION
from ..common.data import Split, concat, load_image_folder, load_mnist
from ..common.quiet import import_tensorflow
from .augment import camera_batch
from .negatives import negatives

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    arch: str = "edge"
    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 1
    mnist_dir: str | None = None
    images_dir: str | None = None
    limit: int | None = None  # use only this many MNIST training digits (quick runs, tests)
    camera_fraction: float = 0.5  # extra camera-style copies, as a fraction of the digits
    negative_fraction: float = 0.1  # "not a digit" examples, as a fraction of the digits
    printed_fraction: float = 0.0  # printed/meter digits (fonts), as a fraction of the digits
    shift_augment: bool = True  # random small shifts/rotations/zoom each epoch
    # Camera copies also drawn as pens draw them: names from digitd.train.digits.pen.KINDS.
    pen_variants: tuple[str, ...] = ()
    init: str | None = None  # start from this trained .keras model (fine-tuning)
    out: str = "runs/edge"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    model_path: Path
    report_dir: Path
    metrics: dict[str, Any]


def build_training_set(cfg: TrainConfig, train: Split) -> Split:
    """MNIST digits, camera-style copies of some of them, user crops, and negatives."""
    rng = np.random.default_rng(cfg.seed)
    parts = [train]
    n_camera = int(len(train) * cfg.camera_fraction)
    if n_camera:
        idx = rng.choice(len(train), n_camera, replace=n_camera > len(train))
        t0 = time.monotonic()
        labels = train.labels[idx] if cfg.pen_variants else None
        parts.append(
            Split(
                camera_batch(train.images[idx], cfg.seed + 1, labels, cfg.pen_variants),
                train.labels[idx],
            )
        )
        logger.info("%d camera-style digits in %.1f s", n_camera, time.monotonic() - t0)
    n_printed = int(len(train) * cfg.printed_fraction)
    if n_printed:
        from ..common.printed import printed_digits

        t0 = time.monotonic()
        parts.append(printed_digits(n_printed, seed=cfg.seed + 3, fonts="train"))
        logger.info("%d printed/meter digits in %.1f s", n_printed, time.monotonic() - t0)
    if cfg.images_dir:
        parts.append(load_image_folder(cfg.images_dir))
    n_neg = int(len(train) * cfg.negative_fraction)
    if n_neg:
        digits_but_ones = train.images[train.labels != 1]
        neg = negatives(n_neg, digits_but_ones, cfg.seed + 2)
        parts.append(Split(neg, np.full(n_neg, NOT_A_DIGIT, np.uint8)))
        logger.info("%d 'not a digit' examples", n_neg)
    return concat(*parts)


def _dataset(split: Split, cfg: TrainConfig, training: bool) -> Any:
    import keras
    import tensorflow as tf

    x = split.images[..., None].astype(np.float32) / 255.0
    ds = tf.data.Dataset.from_tensor_slices((x, split.labels.astype(np.int32)))
    if training:
        ds = ds.shuffle(len(split), seed=cfg.seed, reshuffle_each_iteration=True)
    ds = ds.batch(cfg.batch_size)
    if training and cfg.shift_augment:
        jitter = keras.Sequential(
            [
                keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=cfg.seed),
                keras.layers.RandomRotation(0.025, fill_mode="constant", seed=cfg.seed),
                keras.layers.RandomZoom(0.08, fill_mode="constant", seed=cfg.seed),
            ]
        )
        ds = ds.map(lambda a, b: (jitter(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


class _ProgressLog:
    """Epoch lines through logging (Keras' own bar is unreadable in a journal or a log file)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.start = time.monotonic()

    def __call__(self, epoch: int, logs: dict[str, float] | None) -> None:
        logs = logs or {}
        elapsed = time.monotonic() - self.start
        eta = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        logger.info(
            "epoch %d/%d  loss %.4f  acc %.4f  val_acc %.4f  (%.0f s, ~%.0f s left)",
            epoch + 1,
            self.epochs,
            logs.get("loss", float("nan")),
            logs.get("accuracy", float("nan")),
            logs.get("val_accuracy", float("nan")),
            elapsed,
            eta,
        )


def _initial_model(path: Path, arch: str) -> Any:
    """A trained model to fine-tune, checked to be the architecture asked for."""
    import keras

    if not path.is_file():
        raise FileNotFoundError(
            f"--init {path}: no such file; give the model.keras of an earlier run"
        )
    model = keras.models.load_model(path, compile=False)
    if model.name != arch or model.output_shape[-1] != NUM_CLASSES:
        raise ValueError(
            f"--init {path}: a {model.name!r} model with {model.output_shape[-1]} outputs; "
            f"expected {arch!r} with {NUM_CLASSES} (give arch = \"{model.name}\" in the recipe, "
            "or another model)"
        )
    logger.info("fine-tuning %s", path)
    return model


def train(cfg: TrainConfig) -> TrainResult:
    import_tensorflow()
    import keras

    from ..common.models import build
    from .report import write_curves

    keras.utils.set_random_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)

    # A wrong --init fails before minutes of building the training set, not after.
    initial = _initial_model(Path(cfg.init), cfg.arch) if cfg.init else None
    train_split, test_split = load_mnist(cfg.mnist_dir)
    if cfg.limit:
        train_split = train_split.take(cfg.limit, cfg.seed)
    training_set = build_training_set(cfg, train_split)
    logger.info("training on %d examples (%d MNIST digits)", len(training_set), len(train_split))

    model = initial if initial is not None else build(cfg.arch, NUM_CLASSES)
    steps = max(1, -(-len(training_set) // cfg.batch_size)) * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate / 10, steps, warmup_target=cfg.learning_rate, warmup_steps=steps // 20
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    progress = _ProgressLog(cfg.epochs)
    t0 = time.monotonic()
    history = model.fit(
        _dataset(training_set, cfg, training=True),
        validation_data=_dataset(test_split, cfg, training=False),
        epochs=cfg.epochs,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=progress)],
    )
    train_seconds = time.monotonic() - t0

    probs = model.predict(test_split.images[..., None].astype(np.float32) / 255.0, verbose=0)
    predicted = probs.argmax(axis=1)
    accuracy = float((predicted == test_split.labels).mean())
    model_path = out / "model.keras"
    model.save(model_path)

    metrics: dict[str, Any] = {
        "arch": cfg.arch,
        "params": int(model.count_params()),
        "float_accuracy_mnist_test": accuracy,
        "mnist_test_n": len(test_split),
        "rejected_as_not_a_digit": int((predicted == NOT_A_DIGIT).sum()),
        "train_examples": len(training_set),
        "train_mnist_digits": len(train_split),
        "train_seconds": round(train_seconds, 1),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "labels": list(LABELS),
        "preprocessing_version": PREPROCESSING_VERSION,
        "digitd_version": __version__,
        "settings": asdict(cfg),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "validation": "MNIST test split, monitored only (no early stopping or selection on it)",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_curves(metrics["history"], out / "training_curves.png", title=f"digitd {cfg.arch}")
    logger.info(
        "%s: float accuracy %.4f on %d MNIST test digits; model %s",
        cfg.arch,
        accuracy,
        len(test_split),
        model_path,
    )
    return TrainResult(model_path, out, metrics)
