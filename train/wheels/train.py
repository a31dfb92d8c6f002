"""Train the meter-window model: real meter crops + real LCD cells + generated windows.

Reads top to bottom: settings -> data -> model -> fit (the dev meters watched
after every epoch) -> report. The dev split is only measured: the run keeps the
weights of its last epoch, and runs are compared on the dev figures written to
``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...edge import __version__
from ...edge.vision.wheel import NUM_WINDOW_CLASSES, soft_targets
from ...edge.vision.window import HEIGHT, WIDTH, WINDOW_PREPROCESSING_VERSION
from ..common.quiet import import_tensorflow
from .data import (
    METER_DIGITS_SOURCE,
    SEVENSEG_SOURCE,
    WindowSet,
    concat_sets,
    load_meter_digits,
    load_sevenseg,
    synthetic_windows,
    window_examples,
)
from .distill import blend, load_teachers, load_window_model, teacher_scores
from .figures import crop_figures

logger = logging.getLogger(__name__)

TEACHER_SEES = ("augmented", "crops")


@dataclass
class WindowTrainConfig:
    meter_dir: str | None = "../shared/data/meter-digits"
    sevenseg_dir: str | None = "../shared/data/sevenseg-digits"
    epochs: int = 18
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 1
    copies: int = 4  # augmented copies of every real crop, besides the crop itself
    synthetic: int = 30000  # generated wheel windows and cells
    sigma: float = 1.0  # width of the soft position target, in tenths
    # Share of augmented crops shown with a strip of a neighbouring cell beside them (a box
    # drawn wider than its cell). 0 for the shipped model: see the README for the trade.
    neighbour_share: float = 0.0
    # Share of the generated segment cells drawn as a dot-matrix character LCD's.
    dot_matrix: float = 0.0
    limit: int | None = None  # use only this many real training crops (quick runs, tests)
    images_dir: str | None = None  # extra labelled crops (a user's own meter): DIR/<position>/
    init: str | None = None
    # Trained meter-window models (model.keras) whose mean scores are blended into the
    # targets (:mod:`digitd.train.wheels.distill`): teacher_weight of them, the rest the labels.
    teachers: tuple[str, ...] = ()
    teacher_weight: float = 0.8
    # What the teachers score: "augmented", every training example as the student sees it
    # (the recipe until commit 93ed787); "crops", each crop as it is, without the camera and
    # framing faults the student sees, so a fault the teachers misread is not taught.
    teacher_sees: str = "augmented"
    # Models whose mean scores the generated windows learn from instead of ``teachers``'
    # (which then teach only the real crops): a run that reads real crops best may read the
    # generator's held-out fonts worse than another, and each can teach what it reads best.
    generated_teachers: tuple[str, ...] = ()
    # Share of augmented crops also given an LED flash's glare (wheels.data.flash_glare).
    glare: float = 0.0
    workers: int = 2
    out: str = "runs/window"


def training_crops(cfg: WindowTrainConfig) -> WindowSet:
    parts: list[WindowSet] = []
    if cfg.meter_dir:
        meters = load_meter_digits(cfg.meter_dir, "train")
        if cfg.limit:
            keep = np.random.default_rng(cfg.seed).permutation(len(meters))[: cfg.limit]
            mask = np.zeros(len(meters), bool)
            mask[keep] = True
            meters = meters.subset(mask)
        parts.append(meters)
    if cfg.sevenseg_dir:
        parts.append(load_sevenseg(cfg.sevenseg_dir, "train"))
    if cfg.images_dir:
        from .folder import load_window_folder

        parts.append(load_window_folder(cfg.images_dir))
    if not parts:
        raise ValueError("no training crops: give --meter-dir, --sevenseg-dir or --images")
    return concat_sets(*parts)


@dataclass
class TrainingSet:
    """The model inputs and their positions; ``plain[plain_of[i]]`` is example ``i``'s crop
    as it is, without the faults augmentation added (what ``teacher_sees = "crops"``
    scores; generated windows' plain forms are made only for that); ``generated[i]``: example
    ``i`` is a generated window, not a real crop."""

    x: np.ndarray
    positions: np.ndarray
    plain: np.ndarray
    plain_of: np.ndarray
    generated: np.ndarray


def build_training_set(cfg: WindowTrainConfig, real: WindowSet) -> TrainingSet:
    t0 = time.monotonic()
    as_is = window_examples(real, None)
    xs = [as_is]
    ys = [real.positions]
    plain = [as_is]
    of = [np.arange(len(real))]
    for k in range(cfg.copies):
        xs.append(window_examples(real, cfg.seed * 1000 + k, cfg.workers,
                                  cfg.neighbour_share, cfg.glare))
        ys.append(real.positions)
        of.append(np.arange(len(real)))
        logger.info("augmented copy %d/%d of %d real crops (%.0f s)", k + 1, cfg.copies,
                    len(real), time.monotonic() - t0)
    if cfg.synthetic:
        synth = synthetic_windows(cfg.synthetic, cfg.seed + 7, "train", cfg.workers,
                                  cfg.dot_matrix)
        xs.append(window_examples(synth, cfg.seed + 8, cfg.workers, cfg.neighbour_share,
                                  cfg.glare))
        ys.append(synth.positions)
        # Generated windows are only ever seen augmented; their plain form is for teachers
        # that score crops as they are, and made only for them.
        if (cfg.teachers or cfg.generated_teachers) and cfg.teacher_sees == "crops":
            plain.append(window_examples(synth, None))
        of.append(len(real) + np.arange(len(synth)))
        logger.info("%d generated windows (%.0f s)", len(synth), time.monotonic() - t0)
    plain_of = np.concatenate(of)
    return TrainingSet(np.concatenate(xs), np.concatenate(ys).astype(np.float32),
                       np.concatenate(plain), plain_of, plain_of >= len(real))


def taught_targets(targets: np.ndarray, data: TrainingSet, teachers: list[Any],
                   generated_teachers: list[Any], weight: float, sees: str) -> np.ndarray:
    """``targets`` with ``weight`` of each example's teachers' mean scores blended in: the
    generated windows' from ``generated_teachers`` where given, every other example's from
    ``teachers``; an example without teachers keeps its label's targets."""
    targets = targets.copy()
    everything = np.ones(len(targets), bool)
    groups = [(generated_teachers, data.generated),
              (teachers, ~data.generated if generated_teachers else everything)]
    for models, rows in groups:
        if not models or not rows.any():
            continue
        if sees == "crops":
            # Each crop scored once, however many augmented copies of it there are.
            crops, copy_of = np.unique(data.plain_of[rows], return_inverse=True)
            scores = teacher_scores(models, data.plain[crops])[copy_of]
        else:
            scores = teacher_scores(models, data.x[rows])
        targets[rows] = blend(targets[rows], scores, weight)
    return targets


class _DevWatch:
    """Dev-split figures after each epoch, through the same decoding the device uses."""

    def __init__(self, model: Any, x: np.ndarray, positions: np.ndarray, epochs: int) -> None:
        self.model, self.x, self.positions, self.epochs = model, x, positions, epochs
        self.start = time.monotonic()
        self.history: list[dict[str, float]] = []

    def __call__(self, epoch: int, logs: dict[str, float] | None) -> None:
        probs = self.model.predict(self.x, verbose=0, batch_size=1024)
        figs = crop_figures(probs, self.positions)
        elapsed = time.monotonic() - self.start
        eta = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        row = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", float("nan"))), **figs}
        self.history.append(row)
        logger.info(
            "epoch %d/%d  loss %.4f  dev: near-whole %.4f  refused %.4f  median error %.3f  "
            "(%.0f s, ~%.0f s left)",
            epoch + 1, self.epochs, row["loss"], figs["near_whole_accuracy"],
            figs["legible_refused"], figs["median_position_error"], elapsed, eta,
        )


def train_window(cfg: WindowTrainConfig) -> Path:
    import_tensorflow()
    import keras
    import tensorflow as tf

    from ..common.models import build

    keras.utils.set_random_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    # Checked and loaded before the data is built: a mistake fails in seconds, not minutes.
    initial = load_window_model(cfg.init, "--init") if cfg.init else None
    if (cfg.teachers or cfg.generated_teachers) and not 0.0 <= cfg.teacher_weight <= 1.0:
        raise ValueError(f"teacher_weight = {cfg.teacher_weight}: give a share from 0 to 1 "
                         "(0.8: four fifths of the targets from the teachers' mean scores)")
    if cfg.teacher_sees not in TEACHER_SEES:
        raise ValueError(f"teacher_sees = {cfg.teacher_sees!r}: give one of "
                         + ", ".join(TEACHER_SEES))
    if cfg.generated_teachers and not cfg.synthetic:
        raise ValueError("generated_teachers teach the generated windows, and synthetic = 0 "
                         "makes none: give synthetic = N or use teachers")
    teachers = load_teachers(cfg.teachers) if cfg.teachers else []
    generated_teachers = (load_teachers(cfg.generated_teachers, "generated_teachers")
                          if cfg.generated_teachers else [])

    real = training_crops(cfg)
    data = build_training_set(cfg, real)
    x, positions = data.x, data.positions
    # Without a dev split there is nothing unseen to watch: the user's own crops, as they are.
    dev = load_meter_digits(cfg.meter_dir, "dev") if cfg.meter_dir else real
    x_dev = window_examples(dev, None)[..., None].astype(np.float32) / 255.0
    logger.info("training on %d examples (%d real crops); watching %d crops", len(x), len(real),
                len(dev))

    targets = soft_targets(positions, cfg.sigma)
    if teachers or generated_teachers:
        targets = taught_targets(targets, data, teachers, generated_teachers,
                                 cfg.teacher_weight, cfg.teacher_sees)
        del teachers, generated_teachers
    ds = (
        tf.data.Dataset.from_tensor_slices((x[..., None], targets))
        .shuffle(len(x), seed=cfg.seed, reshuffle_each_iteration=True)
        .batch(cfg.batch_size)
        .map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b))
        .prefetch(tf.data.AUTOTUNE)
    )
    model = initial if initial is not None else build("window", NUM_WINDOW_CLASSES)
    steps = max(1, -(-len(x) // cfg.batch_size)) * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate / 10, steps, warmup_target=cfg.learning_rate, warmup_steps=steps // 20
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy")
    watch = _DevWatch(model, x_dev, dev.positions, cfg.epochs)
    t0 = time.monotonic()
    model.fit(ds, epochs=cfg.epochs, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=watch)])
    seconds = time.monotonic() - t0
    model_path = out / "model.keras"
    model.save(model_path)
    metrics: dict[str, Any] = {
        "kind": "window",
        "arch": "window",
        "params": int(model.count_params()),
        "input": {"height": HEIGHT, "width": WIDTH},
        "window_preprocessing_version": WINDOW_PREPROCESSING_VERSION,
        "train_examples": len(x),
        "train_real_crops": len(real),
        "train_seconds": round(seconds, 1),
        "dev_history": watch.history,
        "datasets": ([METER_DIGITS_SOURCE] if cfg.meter_dir else [])
        + ([SEVENSEG_SOURCE] if cfg.sevenseg_dir else []),
        "settings": asdict(cfg),
        "digitd_version": __version__,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "validation": "meter-digits dev split (8 meters never trained on), watched only"
        if cfg.meter_dir else "the training crops themselves (no dev split given)",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    logger.info("window model %s (%d parameters, %.0f s)", model_path, metrics["params"], seconds)
    return model_path
