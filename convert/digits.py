"""The digit model (Keras) -> full-int8 .tflite, its model card, and the accuracy gate.

The representative set that calibrates quantisation is drawn from training data
as the device will see it: clean MNIST digits, camera-style digits and "not a
digit" examples, so activation ranges cover all three. The model is written only
after it passes the gate, so a bad conversion never replaces a good model.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..edge.vision.classifier import Classifier
from ..edge.vision.labels import LABELS
from ..edge.vision.model_card import write_card
from ..edge.vision.normalise import PREPROCESSING_DESCRIPTION, PREPROCESSING_VERSION
from ..train.common.data import Split, load_mnist
from ..train.digits.augment import camera_batch
from ..train.digits.negatives import negatives
from .golden import add_golden, digit_golden
from .int8 import (
    ConvertResult,
    GateError,
    int8_input,
    load_for_conversion,
    provenance,
    to_int8_tflite,
    training_record,
)

logger = logging.getLogger(__name__)


def representative_images(train: Split, n: int, seed: int) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    n_clean, n_camera = int(n * 0.6), int(n * 0.25)
    n_neg = max(0, n - n_clean - n_camera)
    pick = rng.choice(len(train), n_clean + n_camera, replace=False)
    clean = train.images[pick[:n_clean]]
    camera = camera_batch(train.images[pick[n_clean:]], seed)
    neg = negatives(n_neg, train.images[:1000], seed)
    return np.concatenate([clean, camera, neg])


def float_accuracy(model: Any, test: Split) -> float:
    x = test.images[..., None].astype(np.float32) / 255.0
    probs = model.predict(x, verbose=0, batch_size=512)
    return float((probs.argmax(axis=1) == test.labels).mean())


def tflite_accuracy(path: Path, test: Split) -> float:
    clf = Classifier(path, num_threads=2, require_card=False)
    correct = 0
    for start in range(0, len(test), 500):
        probs = clf.probabilities(test.images[start : start + 500])
        correct += int((probs.argmax(axis=1) == test.labels[start : start + 500]).sum())
    return correct / max(1, len(test))


def convert(
    keras_path: str | Path,
    out_path: str | Path,
    mnist_dir: str | Path | None,
    representative: int = 500,
    max_drop_points: float = 0.3,
    eval_limit: int | None = None,
    seed: int = 0,
) -> ConvertResult:
    model, keras_file, out_file = load_for_conversion(keras_path, out_path)

    train, test = load_mnist(mnist_dir)
    if eval_limit:
        test = Split(test.images[:eval_limit], test.labels[:eval_limit])
    t0 = time.monotonic()
    flat = to_int8_tflite(model, representative_images(train, representative, seed))
    logger.info("converted to int8 in %.1f s: %d bytes", time.monotonic() - t0, len(flat))

    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_file.parent) as tmp:
        candidate = Path(tmp) / out_file.name
        candidate.write_bytes(flat)
        acc_float = float_accuracy(model, test)
        acc_int8 = tflite_accuracy(candidate, test)
        drop = (acc_float - acc_int8) * 100.0
        logger.info(
            "MNIST test (%d): float %.4f, int8 %.4f, drop %.2f points",
            len(test), acc_float, acc_int8, drop,
        )
        if drop > max_drop_points:
            raise GateError(
                f"int8 accuracy {acc_int8:.4f} is {drop:.2f} points below the float model's "
                f"{acc_float:.4f} (allowed: {max_drop_points}); the model was not written. "
                "Use more representative digits (--representative) or check the model"
            )
        details = Classifier(candidate, require_card=False)._in
        os.replace(candidate, out_file)

    training = training_record(keras_file)
    training.pop("history", None)
    scale, zero = details["quantization"]
    card = {
        "name": out_file.stem,
        "arch": training.get("arch", model.name),
        "params": int(model.count_params()),
        "labels": list(LABELS[: int(model.output_shape[-1])]),
        "input": int8_input([1, 28, 28, 1], scale, zero,
                            "MNIST-style digit, white on black; int8 = uint8 pixel - 128"),
        "output": {"dtype": "int8", "meaning": "softmax over labels, dequantised by the device"},
        "preprocessing": {
            "version": PREPROCESSING_VERSION,
            "description": PREPROCESSING_DESCRIPTION,
        },
        "accuracy": {
            "dataset": "MNIST test split",
            "n": len(test),
            "float": round(acc_float, 6),
            "int8": round(acc_int8, 6),
            "gate_max_drop_points": max_drop_points,
        },
        "representative_images": representative,
        "training": training,
        **provenance(keras_file),
    }
    card_file = write_card(out_file, card)
    # Known inputs for the device's check that its runtime computes as this one does.
    add_golden(out_file, digit_golden(out_file, mnist_dir))
    return ConvertResult(out_file, card_file, json.loads(card_file.read_text()))
