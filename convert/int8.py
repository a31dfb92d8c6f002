"""What every conversion shares: a Keras model to full-int8 TFLite (int8 in, int8 out, input
scale 1/255 and zero point -128 as the device feeds it), the model loaded with each
problem named first, and the gate's error. One module per model kind beside it
(:mod:`.digits`, :mod:`.wheels`, :mod:`.dials`) writes that kind's card.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..edge.vision.runtime import native_stderr_to_log
from ..train.common.quiet import import_tensorflow

logger = logging.getLogger(__name__)


class GateError(RuntimeError):
    """The int8 model lost too much accuracy against its float model."""


@dataclass(frozen=True)
class ConvertResult:
    tflite_path: Path
    card_path: Path
    card: dict[str, Any]


def to_int8_tflite(model: Any, representative: npt.NDArray[np.uint8]) -> bytes:
    import tensorflow as tf

    def calibration() -> Any:
        for image in representative:
            # A grey image gets its channel axis; a colour one (the dials') has it.
            batch = image[None, :, :, None] if image.ndim == 2 else image[None]
            yield [batch.astype(np.float32) / 255.0]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # The export prints a TensorSpec per endpoint to stdout, the C++ side notices to
    # stderr: both go to the debug log (-vv), not the terminal.
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), native_stderr_to_log(notices=True,
                                                                        name="converter"):
            return bytes(converter.convert())
    finally:
        for line in printed.getvalue().splitlines():
            if line.strip():
                logger.debug("converter: %s", line.rstrip())


def load_for_conversion(keras_path: str | Path, out_path: str | Path) -> tuple[Any, Path, Path]:
    """The Keras model to convert and both paths, each problem named before any work."""
    import_tensorflow()
    import keras

    keras_path, out_path = Path(keras_path), Path(out_path)
    if not keras_path.exists():
        raise FileNotFoundError(f"{keras_path}: Keras model not found")
    if out_path.suffix != ".tflite":
        raise ValueError(f"{out_path}: the output should end in .tflite")
    try:
        model = keras.models.load_model(keras_path, compile=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{keras_path}: not a loadable Keras model ({exc})") from exc
    return model, keras_path, out_path


def training_record(keras_file: Path) -> dict[str, Any]:
    """What the training run wrote beside the model (``metrics.json``: its settings and
    figures), for the card; nothing when the model came from elsewhere."""
    metrics = keras_file.with_name("metrics.json")
    return dict(json.loads(metrics.read_text())) if metrics.exists() else {}


def int8_input(shape: list[int], scale: float, zero: int, meaning: str) -> dict[str, Any]:
    """The card's ``input``: the shape and quantisation the device feeds."""
    return {"shape": shape, "dtype": "int8", "scale": float(scale), "zero_point": int(zero),
            "meaning": meaning}


def provenance(keras_file: Path) -> dict[str, Any]:
    """The card's record of where the model came from and when."""
    import tensorflow as tf

    from ..edge import __version__

    return {"source_model": keras_file.name, "tensorflow_version": tf.__version__,
            "digitd_version": __version__,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
