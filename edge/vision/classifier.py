"""Classify normalised 28x28 digits with a TFLite model, a whole frame in one call.

The interpreter is built once. Shapes, dtypes and quantisation are read from the
model, so a float or an int8 model works the same way; the batch dimension is
resized only when the number of digits in a frame changes.
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import EXIT_CONFIG
from ..reading import Prediction
from .golden import GoldenFormatError, GoldenSet, compare, from_card
from .labels import NOT_A_DIGIT, NUM_DIGITS
from .model_card import ModelError, default_model_path, read_card, sha256_of
from .runtime import Runtime, broken_runtime_fix, native_stderr_to_log, runtime_for
from .wheel import NUM_WINDOW_CLASSES, WheelEstimate, estimate
from .window import HEIGHT, WIDTH

logger = logging.getLogger(__name__)

TFLITE_IDENTIFIER = b"TFL3"


def _check_tflite(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    if not path.is_file():
        raise ModelError(f"{path}: not a file")
    with path.open("rb") as fh:
        head = fh.read(8)
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(f"{path}: not a TFLite model (no 'TFL3' identifier); expected a .tflite")


class RuntimeBrokenError(ModelError):
    """The runtime loads the model but reads its known inputs wrong on this machine."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, wrong: int, total: int) -> None:
        super().__init__(message)
        self.wrong, self.total = wrong, total


class TfliteModel:
    """A TFLite model with its card: loads it, feeds uint8 images, returns probabilities.

    Subclasses say which kind of model they need and which input it takes.
    """

    kind = "digit"
    preprocessing_version: int | None = None  # None: the digit or window model's

    def __init__(
        self,
        model_path: str | Path | None = None,
        num_threads: int = 1,
        require_card: bool = True,
        runtime: Runtime | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path(self.kind)
        _check_tflite(self.model_path)
        self.card: dict[str, Any] = (
            read_card(self.model_path, kind=self.kind,
                      preprocessing_version=self.preprocessing_version)
            if require_card else {}
        )
        if runtime is None:
            sha = self.card.get("sha256") or sha256_of(self.model_path)
            self.runtime_info, cls = runtime_for(sha)
        else:
            self.runtime_info, cls = runtime, runtime.interpreter_class()
        self.runtime = self.runtime_info.package
        try:
            with native_stderr_to_log():
                self._interp = cls(model_path=str(self.model_path), num_threads=num_threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.model_path}: the interpreter cannot load it ({exc})") from exc
        inputs = self._interp.get_input_details()
        outputs = self._interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.model_path}: expected one input and one output tensor")
        self._in, self._out = inputs[0], outputs[0]
        shape = tuple(int(s) for s in self._in["shape"])
        self._check_input(shape)
        self.input_size = (shape[1], shape[2])
        self.num_classes = int(self._out["shape"][-1])
        self._check_classes()
        self._batch = shape[0]
        self.num_threads = num_threads
        self.golden_checked = self._check_golden()
        logger.info(
            "%s model %s (%s input, %d classes) on %s, %d thread(s)",
            self.kind,
            self.model_path.name,
            np.dtype(self._in["dtype"]).name,
            self.num_classes,
            self.runtime_info,
            num_threads,
        )

    def _check_golden(self) -> int:
        """Read the card's known inputs; refuse a runtime that reads any of them wrong.

        Returns how many were read (0: the card keeps none)."""
        try:
            golden: GoldenSet | None = from_card(self.card)
        except GoldenFormatError as exc:
            raise ModelError(f"{self.model_path}: the model card is damaged: {exc}") from None
        if golden is None:
            return 0
        if golden.inputs.shape[1:] != self.input_size:
            raise ModelError(
                f"{self.model_path}: the card's known inputs are {golden.inputs.shape[1:]}, "
                f"the model takes {self.input_size}; the card belongs to another model"
            )
        result = compare(golden, self.probabilities(golden.inputs))
        if not result.ok:
            raise RuntimeBrokenError(
                f"{self.model_path.name}: {self.runtime_info} on {platform.machine()} reads "
                f"{len(result.wrong)} of the {result.total} known inputs in its card wrong "
                "(it computes wrong results on this machine, so every frame would read "
                f"nothing or nonsense); {broken_runtime_fix(self.runtime_info)}",
                len(result.wrong), result.total,
            )
        logger.debug("%s: %d known inputs read right on %s", self.model_path.name,
                     result.total, self.runtime_info)
        return result.total

    def _check_input(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 4 or shape[1:] != (28, 28, 1):
            raise ModelError(
                f"{self.model_path}: input shape {list(shape)}, expected [N, 28, 28, 1]; "
                "this is not a digitd digit model"
            )

    def _check_classes(self) -> None:
        if self.num_classes not in (NUM_DIGITS, NUM_DIGITS + 1):
            raise ModelError(
                f"{self.model_path}: {self.num_classes} outputs, expected 10 digits "
                "(+1 'not a digit')"
            )

    def _quantise(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
        real = images.astype(np.float32)[..., None] / 255.0
        dtype = np.dtype(self._in["dtype"])
        scale, zero = self._in["quantization"]
        if dtype.kind == "f" or not scale:
            return real.astype(dtype)
        info = np.iinfo(dtype)
        q = np.round(real / scale) + zero
        return np.clip(q, info.min, info.max).astype(dtype)

    def _dequantise(self, raw: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        scale, zero = self._out["quantization"]
        if np.dtype(self._out["dtype"]).kind == "f" or not scale:
            return raw.astype(np.float32)
        return ((raw.astype(np.float32) - zero) * scale).astype(np.float32)

    def probabilities(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Class probabilities, shape (N, classes), for N uint8 inputs of the model's size."""
        h, w = self.input_size
        if images.ndim != 3 or images.shape[1:] != (h, w):
            raise ValueError(f"expected a stack of {h}x{w} images, got shape {images.shape}")
        n = len(images)
        if n == 0:
            return np.zeros((0, self.num_classes), np.float32)
        if n != self._batch:
            self._interp.resize_tensor_input(self._in["index"], [n, h, w, 1])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in["index"], self._quantise(images))
        self._interp.invoke()
        # Output shapes are only final after invoke() once the batch was resized.
        return self._dequantise(self._interp.get_tensor(self._out["index"]))


class WindowClassifier(TfliteModel):
    """The meter-window model: whole boxes (:mod:`~digitd.edge.vision.window`) to positions."""

    kind = "window"

    def _check_input(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 4 or shape[1:] != (HEIGHT, WIDTH, 1):
            raise ModelError(
                f"{self.model_path}: input shape {list(shape)}, expected [N, {HEIGHT}, {WIDTH}, 1]"
                "; this is not a digitd meter-window model"
            )

    def _check_classes(self) -> None:
        if self.num_classes != NUM_WINDOW_CLASSES:
            raise ModelError(
                f"{self.model_path}: {self.num_classes} outputs, expected {NUM_WINDOW_CLASSES} "
                "(wheel positions in tenths + 'not a digit')"
            )

    def estimate(self, inputs: npt.NDArray[np.uint8]) -> list[WheelEstimate]:
        return estimate(self.probabilities(inputs))


class Classifier(TfliteModel):
    """A digit model with its card; :meth:`classify` takes a batch of 28x28 digits."""

    kind = "digit"

    def classify(self, images: npt.NDArray[np.uint8], alternatives: int = 2) -> list[Prediction]:
        probs = self.probabilities(images)
        result: list[Prediction] = []
        for row in probs:
            best = int(row.argmax())
            digit_scores = row[:NUM_DIGITS]
            order = [int(i) for i in np.argsort(-digit_scores)]
            top_digit = order[0]
            alts = tuple(
                (d, round(float(digit_scores[d]), 4))
                for d in order
                if d != (best if best < NUM_DIGITS else top_digit)
            )[:alternatives]
            if best == NOT_A_DIGIT:
                alts = ((top_digit, round(float(digit_scores[top_digit]), 4)), *alts)[:alternatives]
            result.append(
                Prediction(
                    digit=None if best == NOT_A_DIGIT else best,
                    confidence=float(row[best]),
                    scores=tuple(round(float(s), 4) for s in digit_scores),
                    not_a_digit=float(row[NOT_A_DIGIT]) if self.num_classes > NUM_DIGITS else 0.0,
                    alternatives=alts,
                )
            )
        return result
