"""Accuracy of a digit .tflite model on the MNIST test split, through LiteRT.

Needs only the edge extra: the IDX reader and the classifier, no TensorFlow. A
digit the model calls "not a digit" counts as an error, as it would on the device.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.vision.classifier import Classifier
from ...edge.vision.labels import LABELS, NOT_A_DIGIT
from .report import confusion_matrix, draw_confusion, draw_error_grid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    n: int
    errors: int
    rejected: int  # digits called "not a digit"
    per_class: dict[str, float]
    predicted: npt.NDArray[np.int64]
    seconds: float

    def summary(self, model: Path) -> dict[str, Any]:
        return {
            "model": str(model),
            "accuracy": round(self.accuracy, 6),
            "n": self.n,
            "errors": self.errors,
            "rejected_as_not_a_digit": self.rejected,
            "per_class_accuracy": self.per_class,
            "ms_per_digit_batched": round(self.seconds * 1000.0 / max(1, self.n), 4),
        }


def evaluate(
    classifier: Classifier, images: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8]
) -> Evaluation:
    predicted = np.empty(len(images), np.int64)
    t0 = time.perf_counter()
    for start in range(0, len(images), 256):
        probs = classifier.probabilities(images[start : start + 256])
        predicted[start : start + 256] = probs.argmax(axis=1)
    seconds = time.perf_counter() - t0
    correct = predicted == labels
    per_class = {
        str(c): round(float(correct[labels == c].mean()), 6)
        for c in range(10)
        if (labels == c).any()
    }
    return Evaluation(
        accuracy=float(correct.mean()) if len(labels) else 0.0,
        n=len(labels),
        errors=int((~correct).sum()),
        rejected=int((predicted == NOT_A_DIGIT).sum()),
        per_class=per_class,
        predicted=predicted,
        seconds=seconds,
    )


def write_report(
    report_dir: Path,
    result: Evaluation,
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.uint8],
    num_classes: int,
    summary: dict[str, Any],
) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    cm = confusion_matrix(labels, result.predicted, num_classes)
    draw_confusion(cm, list(LABELS[:num_classes]), report_dir / "confusion_matrix.png")
    wrong = np.flatnonzero(result.predicted != labels)
    errors_png = report_dir / "errors.png"
    draw_error_grid(images[wrong], labels[wrong], result.predicted[wrong], errors_png)
    (report_dir / "evaluation.json").write_text(
        json.dumps({**summary, "confusion_matrix": cm.tolist()}, indent=2) + "\n"
    )
    logger.info("report written to %s", report_dir)
