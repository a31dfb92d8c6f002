"""Training targets from teachers: the mean scores of trained meter-window models.

Runs of the same recipe with other seeds each misread a few crops, mostly not the
same ones; read together (their scores averaged) they read the dev split better than
any one of them, but three models do not fit the device's budget. A student of the
same size trained towards their mean scores (besides the labels) learns what they
agree on: how sure to be of a crop, which neighbouring tenths are plausible, which
cells are empty. The teachers read the very examples the student is shown, augmented
ones included, so no new data comes in: only the training split, read by models
trained on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.vision.wheel import NUM_WINDOW_CLASSES
from ...edge.vision.window import HEIGHT, WIDTH

logger = logging.getLogger(__name__)

BATCH = 2048


def load_window_model(path: str, option: str) -> Any:
    """A trained meter-window Keras model (``option``: ``--init`` or a recipe key, named in
    the error for a missing file or a model of another shape)."""
    import keras

    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{option} {path}: no such file; give a model.keras that digitd train --kind "
            "window wrote"
        )
    model = keras.models.load_model(path, compile=False)
    if tuple(model.input_shape[1:]) != (HEIGHT, WIDTH, 1) or \
            model.output_shape[-1] != NUM_WINDOW_CLASSES:
        raise ValueError(
            f"{option} {path}: input {model.input_shape[1:]}, {model.output_shape[-1]} "
            f"outputs; a meter-window model takes ({HEIGHT}, {WIDTH}, 1) and gives "
            f"{NUM_WINDOW_CLASSES}"
        )
    return model


def load_teachers(paths: Sequence[str], option: str = "teachers") -> list[Any]:
    """The teacher models, each checked to be a meter-window model; errors name the file
    and the option that gave it."""
    return [load_window_model(path, option) for path in paths]


def teacher_scores(teachers: Sequence[Any], x: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The teachers' mean scores for uint8 model inputs ``x`` (N, HEIGHT, WIDTH)."""
    total = np.zeros((len(x), NUM_WINDOW_CLASSES), np.float64)
    t0 = time.monotonic()
    for k, model in enumerate(teachers):
        for start in range(0, len(x), BATCH):
            part = x[start:start + BATCH, ..., None].astype(np.float32) / 255.0
            total[start:start + BATCH] += model.predict_on_batch(part)
        logger.info("teacher %d/%d read %d examples (%.0f s)", k + 1, len(teachers), len(x),
                    time.monotonic() - t0)
    mean = total / len(teachers)
    return (mean / mean.sum(axis=1, keepdims=True)).astype(np.float32)


def blend(labels: npt.NDArray[np.float32], teachers: npt.NDArray[np.float32],
          weight: float) -> npt.NDArray[np.float32]:
    """``weight`` of the teachers' scores, the rest the labels' targets (rows sum to 1)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"teacher weight {weight}: give a share from 0 to 1")
    if labels.shape != teachers.shape:
        raise ValueError(f"targets {labels.shape} and teacher scores {teachers.shape} differ")
    return ((1.0 - weight) * labels + weight * teachers).astype(np.float32)
