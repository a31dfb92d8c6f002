"""Dial Keras model -> full-int8 .tflite, its model card with the held-out figures, and a gate.

    digitd convert runs/dial/model.keras --out models/dial.tflite

Calibrated on generated dials of the tuning styles, as the device sees them. Gated on
fresh dials of the tuning styles: the int8 model's position head must put as many of
them within 0.3 as the float model, less ``max_drop_points``, or nothing is written.
The card's figures are :mod:`.evaluate`'s, on the held-out styles, of the int8 model.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..edge.vision.dial import (
    ANGLE_STEP,
    DIAL_PREPROCESSING_VERSION,
    MIN_CONFIDENCE,
    NUM_DIAL_OUTPUTS,
    POSITION,
    SIDE,
    DialModel,
)
from ..edge.vision.model_card import write_card
from ..edge.vision.wheel import NUM_POSITIONS, STEPS, estimate
from ..train.dials.data import training_dials
from ..train.dials.evaluate import WITHIN, circular_error, evaluate
from ..train.dials.render import HELD_OUT_STYLES, NEGATIVES, TUNE_STYLES
from .golden import add_golden, dial_golden
from .int8 import (
    GateError,
    int8_input,
    load_for_conversion,
    provenance,
    to_int8_tflite,
    training_record,
)

logger = logging.getLogger(__name__)

LABELS = ([f"position {k / STEPS:.1f}" for k in range(NUM_POSITIONS)] + ["not_a_dial"]
          + [f"angle {k * ANGLE_STEP:.1f}" for k in range(NUM_POSITIONS)] + ["cw", "ccw"])


def _within(probs: npt.NDArray[np.float32], positions: npt.NDArray[np.float32]) -> float:
    """Share of the dials whose position head reads within 0.3 (direction found itself)."""
    found = estimate(probs[:, POSITION])
    return float(np.mean([circular_error(e.position, float(p)) <= WITHIN
                          for e, p in zip(found, positions, strict=True)]))


def convert_dial(keras_path: str | Path, out_path: str | Path, representative: int = 600,
                 gate_dials: int = 2000, max_drop_points: float = 1.5, eval_n: int = 3200,
                 seed: int = 0) -> Path:
    model, keras_file, out_file = load_for_conversion(keras_path, out_path)

    if tuple(model.input_shape[1:]) != (SIDE, SIDE, 3) or model.output_shape[-1] != \
            NUM_DIAL_OUTPUTS:
        raise ValueError(f"{keras_file}: not a dial model (input {model.input_shape}, "
                         f"{model.output_shape[-1]} outputs)")
    calib = training_dials(representative, seed + 100, workers=2).inputs
    t0 = time.monotonic()
    flat = to_int8_tflite(model, calib)
    logger.info("converted to int8 in %.1f s: %d bytes", time.monotonic() - t0, len(flat))

    check = training_dials(gate_dials, seed + 200, negative_share=0.0, workers=2)
    float_within = _within(model.predict(check.inputs.astype(np.float32) / 255.0, verbose=0,
                                         batch_size=512), check.positions)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_file.parent) as tmp:
        candidate = Path(tmp) / out_file.name
        candidate.write_bytes(flat)
        dial = DialModel(candidate, require_card=False)
        int8_within = _within(dial.probabilities(check.inputs), check.positions)
        drop = (float_within - int8_within) * 100.0
        logger.info("tuning-style dials within 0.3: float %.4f, int8 %.4f, drop %.2f points",
                    float_within, int8_within, drop)
        if drop > max_drop_points:
            raise GateError(f"int8 reads {int8_within:.4f} of the check dials within 0.3, "
                            f"{drop:.2f} points below the float model's {float_within:.4f} "
                            f"(allowed: {max_drop_points}); the model was not written")
        scale, zero = dial._in["quantization"]
        held_out = evaluate(dial, HELD_OUT_STYLES, n=eval_n, seed=0)
        del dial
        os.replace(candidate, out_file)

    training = training_record(keras_file)
    card = {
        "name": out_file.stem,
        "kind": "dial",
        "serves": "pointer dials: one box per dial, its direction of numbering auto, cw or ccw",
        "arch": training.get("arch", model.name),
        "params": int(model.count_params()),
        "labels": LABELS,
        "input": int8_input([1, SIDE, SIDE, 3], scale, zero,
                            "the dial's box, BGR, resized; int8 = uint8 - 128"),
        "output": {
            "dtype": "int8",
            "meaning": "three softmaxes side by side: [0:101] the reading in tenths as the "
            "numerals say it and 'not a dial'; [101:201] the needle's angle from the scale's 0 "
            "mark in 3.6° steps, clockwise; [201:203] numbering cw, ccw",
        },
        "preprocessing": {
            "name": "dial",
            "version": DIAL_PREPROCESSING_VERSION,
            "description": f"digitd.edge.vision.dial.dial_input: the box (BGR; grey repeated, "
            f"alpha dropped) resized to {SIDE}x{SIDE} by area averaging",
        },
        "position": {
            "decoding": "digitd.edge.vision.dial.decode (digitd.edge.vision.wheel.estimate on "
            "the position or angle head)",
            "min_confidence": MIN_CONFIDENCE,
        },
        "datasets": [{
            "name": "generated pointer dials (digitd.train.dials.render)",
            "styles": list(TUNE_STYLES),
            "held_out_styles": list(HELD_OUT_STYLES),
            "negatives": list(NEGATIVES),
            "note": "each training dial mixes features of the tuning styles and jitters "
            "colours and sizes (digitd.train.dials.data); the held-out styles are only measured",
        }],
        "accuracy": {
            "dataset": f"held-out styles, {eval_n} generated dials at 80 px, both directions "
            "(python -m digitd.train.dials.evaluate)",
            "gate": {"dials": gate_dials, "float_within_0.3": round(float_within, 4),
                     "int8_within_0.3": round(int8_within, 4),
                     "max_drop_points": max_drop_points},
            "held_out": held_out,
        },
        "representative_images": len(calib),
        "training": training,
        **provenance(keras_file),
    }
    write_card(out_file, card)
    # Known inputs for the device's check that its runtime computes as this one does.
    add_golden(out_file, dial_golden(out_file))
    return out_file
