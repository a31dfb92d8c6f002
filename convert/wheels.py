"""Meter-window Keras model -> full-int8 .tflite, its model card, and the accuracy gate.

Calibrated on real training crops as the device sees them (clean and with camera
faults) plus generated windows, gated on the dev meters: the int8 model must read
the near-whole wheels of the unseen meters within ``max_drop_points`` of the
float model, or nothing is written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ..edge.vision.classifier import WindowClassifier
from ..edge.vision.model_card import write_card
from ..edge.vision.wheel import BLANK, IN_VIEW, NUM_POSITIONS, STEPS
from ..edge.vision.window import HEIGHT, MIN_RANGE, WIDTH, WINDOW_PREPROCESSING_VERSION
from ..train.wheels.data import (
    METER_DIGITS_SOURCE,
    SEVENSEG_SOURCE,
    load_meter_digits,
    synthetic_windows,
    window_examples,
)
from ..train.wheels.figures import crop_figures
from .golden import add_golden, window_golden
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

WINDOW_LABELS = [f"{k / STEPS:.1f}" for k in range(NUM_POSITIONS)] + ["not_a_digit"]


def convert_window(
    keras_path: str | Path,
    out_path: str | Path,
    meter_dir: str | Path,
    representative: int = 600,
    max_drop_points: float = 1.0,
    seed: int = 0,
) -> ConvertResult:
    model, keras_file, out_file = load_for_conversion(keras_path, out_path)

    if tuple(model.input_shape[1:]) != (HEIGHT, WIDTH, 1) or model.output_shape[-1] != BLANK + 1:
        raise ValueError(
            f"{keras_file}: not a meter-window model (input {model.input_shape}, "
            f"{model.output_shape[-1]} outputs); train one with 'digitd train --kind window'"
        )

    rng = np.random.default_rng(seed)
    train = load_meter_digits(meter_dir, "train")
    pick = rng.choice(len(train), min(len(train), representative * 2 // 3), replace=False)
    mask = np.zeros(len(train), bool)
    mask[pick] = True
    sample = train.subset(mask)
    calib = np.concatenate([
        window_examples(sample, None),
        window_examples(sample, seed + 1),
        window_examples(synthetic_windows(max(1, representative // 3), seed + 2), seed + 3),
    ])
    calib = calib[rng.permutation(len(calib))[:representative]]
    t0 = time.monotonic()
    flat = to_int8_tflite(model, calib)
    logger.info("converted to int8 in %.1f s: %d bytes", time.monotonic() - t0, len(flat))

    dev = load_meter_digits(meter_dir, "dev")
    x_dev = window_examples(dev, None)
    float_figs = crop_figures(
        model.predict(x_dev[..., None].astype(np.float32) / 255.0, verbose=0, batch_size=1024),
        dev.positions,
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_file.parent) as tmp:
        candidate = Path(tmp) / out_file.name
        candidate.write_bytes(flat)
        clf = WindowClassifier(candidate, require_card=False)
        int8_figs = crop_figures(clf.probabilities(x_dev), dev.positions)
        drop = (float_figs["near_whole_accuracy"] - int8_figs["near_whole_accuracy"]) * 100.0
        logger.info(
            "dev near-whole digits (%d): float %.4f, int8 %.4f, drop %.2f points",
            int8_figs["near_whole_n"], float_figs["near_whole_accuracy"],
            int8_figs["near_whole_accuracy"], drop,
        )
        if drop > max_drop_points:
            raise GateError(
                f"int8 reads {int8_figs['near_whole_accuracy']:.4f} of the dev wheels, {drop:.2f} "
                f"points below the float model's {float_figs['near_whole_accuracy']:.4f} "
                f"(allowed: {max_drop_points}); the model was not written"
            )
        scale, zero = clf._in["quantization"]
        del clf
        os.replace(candidate, out_file)

    training = training_record(keras_file)
    history = training.pop("dev_history", [])
    card = {
        "name": out_file.stem,
        "kind": "window",
        "serves": "locate mode 'boxes' (meters): one fixed box per wheel or display cell",
        "arch": training.get("arch", model.name),
        "params": int(model.count_params()),
        "labels": WINDOW_LABELS,
        "input": int8_input([1, HEIGHT, WIDTH, 1], scale, zero,
                            "the whole box, grey, resized, contrast stretched; int8 = uint8 - 128"),
        "output": {
            "dtype": "int8",
            "meaning": "softmax over wheel positions in tenths (0.0 .. 9.9) and 'not a digit'",
        },
        "preprocessing": {
            "name": "window",
            "version": WINDOW_PREPROCESSING_VERSION,
            "description": f"digitd.edge.vision.window: box to grey, resized to {HEIGHT}x{WIDTH}, "
            f"contrast stretched (2nd-98th percentile, range at least {MIN_RANGE:g} levels)",
        },
        "position": {"in_view": IN_VIEW, "decoding": "digitd.edge.vision.wheel.estimate"},
        "datasets": training.get("datasets", [METER_DIGITS_SOURCE, SEVENSEG_SOURCE]),
        "accuracy": {
            "dataset": "meter-digits dev split: 8 meters in no training image",
            "n": int8_figs["n"],
            "float": float_figs,
            "int8": int8_figs,
            "gate_max_drop_points": max_drop_points,
        },
        "dev_history_last": history[-1] if history else None,
        "representative_images": len(calib),
        "training": training,
        **provenance(keras_file),
    }
    card_file = write_card(out_file, card)
    # Known inputs for the device's check that its runtime computes as this one does.
    add_golden(out_file, window_golden(out_file, meter_dir))
    return ConvertResult(out_file, card_file, json.loads(card_file.read_text()))
