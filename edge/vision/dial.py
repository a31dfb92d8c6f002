"""Analog pointer dials: where the needle of a small 0-9 scale points, read by a small CNN.

A water meter shows the fractions of a m³ on small dials, a needle over a round scale
with 0 at the top; neighbouring dials often turn opposite ways. The dial model
(``models/dial.tflite``, trained on generated dials: ``train/dials``) takes the dial's
box resized to :data:`SIDE` x :data:`SIDE` in colour (a red needle stays red) and
gives one row of :data:`NUM_DIAL_OUTPUTS` scores, three softmaxes side by side:

* :data:`POSITION` (101): the reading in tenths of a scale unit as the numerals say it,
  whichever way they run, and "not a dial" (as the meter-window model's classes:
  :mod:`~digitd.edge.vision.wheel`); used when the direction is "auto".
* :data:`ANGLE` (100): the needle's angle from the scale's 0 mark in steps of 3.6°,
  clockwise, whatever the numbering; used when the configuration gives the direction.
* :data:`DIRECTION` (2): clockwise or counter-clockwise numbering.

Nothing here imports TensorFlow: the model runs on the device's TFLite runtime.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .classifier import RuntimeBrokenError, TfliteModel
from .golden import GoldenFormatError, compare, from_card
from .model_card import ModelError
from .wheel import BLANK, NUM_POSITIONS, NUM_WINDOW_CLASSES, STEPS

logger = logging.getLogger(__name__)

Direction = Literal["cw", "ccw"]

SIDE = 48  # the model's input: numerals 4-5 px high on a dial filling the box
DIAL_PREPROCESSING_VERSION = 1
POSITION = slice(0, NUM_WINDOW_CLASSES)
ANGLE = slice(NUM_WINDOW_CLASSES, NUM_WINDOW_CLASSES + NUM_POSITIONS)
DIRECTION = slice(NUM_WINDOW_CLASSES + NUM_POSITIONS, NUM_WINDOW_CLASSES + NUM_POSITIONS + 2)
NUM_DIAL_OUTPUTS = DIRECTION.stop
DIRECTIONS: tuple[Direction, Direction] = ("cw", "ccw")
ANGLE_STEP = 360.0 / NUM_POSITIONS

# Below this the position is not given (the scores spread over the whole scale).
MIN_CONFIDENCE = 0.25
# The direction head must say this to call the direction found ("auto").
DIRECTION_SURE = 0.8
# This share of the dial's middle blown out (all channels >= 250): a flash's glare.
_GLARE_SHARE = 0.3


@dataclass(frozen=True)
class DialEstimate:
    """Where one dial's needle points."""

    position: float | None  # 0 <= position < 10 in scale units (9.95 is just before 0)
    confidence: float  # 0..1, how sure the position is within 0.3 of the truth
    direction: Direction  # the direction of numbering used (found, or as given)
    angle: float  # the needle, degrees clockwise from the scale's 0 mark (0 <= a < 360)
    hub: tuple[float, float]  # the hub's centre, crop pixels (x, y): the crop's centre
    refused: str | None = None  # why there is no position
    direction_sure: bool = True  # False when "auto" could not tell the direction well


def dial_input(crop: npt.NDArray[np.uint8], side: int = SIDE) -> npt.NDArray[np.uint8]:
    """A dial's box (BGR HxWx3, BGRA or grey HxW, uint8, any size) as the model takes it:
    ``side`` x ``side`` x 3 BGR. Training, evaluation and the device all use this."""
    import cv2

    if crop.ndim not in (2, 3) or crop.shape[0] < 8 or crop.shape[1] < 8:
        raise ValueError(f"a dial crop must be HxW or HxWx3 and at least 8x8, not {crop.shape}")
    if crop.ndim == 2:
        crop = np.repeat(crop[:, :, None], 3, axis=2)
    elif crop.shape[2] == 4:
        crop = crop[:, :, :3]
    elif crop.shape[2] != 3:
        raise ValueError(f"a dial crop has 1, 3 or 4 channels, not {crop.shape[2]}")
    # Area averaging when shrinking, so that a 1 px needle is not lost between samples.
    small = cv2.resize(np.ascontiguousarray(crop), (side, side), interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.uint8)


def position_of(angle: float, direction: Direction) -> float:
    """The scale reading of a needle at ``angle`` (degrees clockwise from the 0 mark)."""
    turn = angle if direction == "cw" else 360.0 - angle
    return float(round((turn / 36.0) % 10.0, 3) % 10.0)  # 9.9996 rounds to 10.0


def angle_of(position: float, direction: Direction) -> float:
    """Where the needle stands (degrees clockwise from the 0 mark) for a reading."""
    turn = 36.0 * position
    return float((turn if direction == "cw" else -turn) % 360.0)


# Scores this many classes either side of the best go into the reading (as wheel.estimate).
_SPREAD = 3
_OFFSETS = np.arange(-_SPREAD, _SPREAD + 1)
_OFFSET_LIST = _OFFSETS.tolist()


def peaks(scores: npt.NDArray[np.floating]) -> tuple[list[float], list[float]]:
    """Each row's reading (0 <= r < 10, in tenths of its 100 ordered classes) and the mass
    within 0.3 of it: :func:`~digitd.edge.vision.wheel.estimate`'s position and confidence
    without its per-digit scores (a frame's few dials cost more in numpy calls than in
    arithmetic, so each row's seven scores are summed in Python)."""
    scores = np.asarray(scores)[:, :NUM_POSITIONS]
    readings: list[float] = []
    masses: list[float] = []
    for row, best in zip(scores, scores.argmax(axis=1).tolist(), strict=True):
        w = row.take(_OFFSETS + best, mode="wrap").tolist()
        total = math.fsum(w)
        shift = math.fsum(o * v for o, v in zip(_OFFSET_LIST, w, strict=True))
        centre = best + (shift / total if total > 0 else 0.0)
        readings.append(round((centre / STEPS) % 10.0, 3) % 10.0)  # 9.9996 rounds to 10.0
        masses.append(min(1.0, total))
    return readings, masses


@lru_cache(maxsize=2)
def _middle(side: int) -> npt.NDArray[np.bool_]:
    yy, xx = np.mgrid[0:side, 0:side]
    c = (side - 1) / 2.0
    return np.asarray((xx - c) ** 2 + (yy - c) ** 2 < (0.3 * side) ** 2)


def _glare(image: npt.NDArray[np.uint8]) -> bool:
    blown = image[_middle(image.shape[0])].min(axis=1) >= 250
    return bool(blown.mean() >= _GLARE_SHARE)


def decode(probs: npt.NDArray[np.floating], directions: Sequence[str],
           hubs: Sequence[tuple[float, float]] | None = None,
           inputs: npt.NDArray[np.uint8] | None = None) -> list[DialEstimate]:
    """Each row of dial-model scores read with its direction ("auto", "cw" or "ccw"); the
    hubs default to the input's centre. With the model's ``inputs``, a box refused as no
    dial whose middle is blown out says so."""
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 2 or probs.shape[1] != NUM_DIAL_OUTPUTS:
        raise ValueError(f"expected (N, {NUM_DIAL_OUTPUTS}) scores, got {probs.shape}")
    if len(directions) != len(probs):
        raise ValueError(f"{len(probs)} rows of scores but {len(directions)} directions")
    n = len(probs)
    # Both ordered heads at once: one argmax over all rows.
    found, mass = peaks(np.concatenate([probs[:, :NUM_POSITIONS], probs[:, ANGLE]]))
    positions, position_mass, angles, angle_mass = found[:n], mass[:n], found[n:], mass[n:]
    cw, ccw = probs[:, DIRECTION.start], probs[:, DIRECTION.start + 1]
    ccw_share = (ccw / np.maximum(cw + ccw, 1e-6)).tolist()
    blank = probs[:, BLANK].tolist()
    middle = ((SIDE - 1) / 2.0, (SIDE - 1) / 2.0)
    out: list[DialEstimate] = []
    for i, given in enumerate(directions):
        angle = round(angles[i] * 36.0, 2) % 360.0
        if given == "auto":
            used: Direction = "ccw" if ccw_share[i] > 0.5 else "cw"
            sure = max(ccw_share[i], 1.0 - ccw_share[i]) >= DIRECTION_SURE
            position: float | None = positions[i]
            confidence = position_mass[i]
        elif given in DIRECTIONS:
            used, sure = ("cw" if given == "cw" else "ccw"), True
            position, confidence = position_of(angle, used), angle_mass[i]
        else:
            raise ValueError(f"a dial's direction is auto, cw or ccw, not {given!r}")
        refused = None
        if blank[i] >= 0.5:
            refused = ("flash glare covers the dial" if inputs is not None and _glare(inputs[i])
                       else "not a dial")
        elif confidence < MIN_CONFIDENCE:
            refused = "no clear needle"
        if refused is not None:
            position, confidence = None, 0.0
        hub = hubs[i] if hubs is not None else middle
        out.append(DialEstimate(position, round(confidence, 3), used, angle, hub, refused, sure))
    return out


class DialModel(TfliteModel):
    """The dial model with its card: :meth:`read` takes a frame's dial crops in one call."""

    kind = "dial"
    preprocessing_version = DIAL_PREPROCESSING_VERSION

    def _check_input(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 4 or shape[1:] != (SIDE, SIDE, 3):
            raise ModelError(
                f"{self.model_path}: input shape {list(shape)}, expected [N, {SIDE}, {SIDE}, 3]"
                "; this is not a digitd dial model"
            )

    def _check_classes(self) -> None:
        if self.num_classes != NUM_DIAL_OUTPUTS:
            raise ModelError(
                f"{self.model_path}: {self.num_classes} outputs, expected {NUM_DIAL_OUTPUTS} "
                f"(positions + 'not a dial', angles, directions)"
            )

    def _check_golden(self) -> int:
        # As the other kinds, on the position head: its top class is the one that matters,
        # and the three softmaxes side by side have no single top class between them.
        try:
            golden = from_card(self.card)
        except GoldenFormatError as exc:
            raise ModelError(f"{self.model_path}: the model card is damaged: {exc}") from None
        if golden is None:
            return 0
        if golden.inputs.shape[1:] != (SIDE, SIDE, 3):
            raise ModelError(f"{self.model_path}: the card's known inputs are "
                             f"{golden.inputs.shape[1:]}, the model takes {(SIDE, SIDE, 3)}")
        result = compare(golden, self.probabilities(golden.inputs)[:, POSITION])
        if not result.ok:
            raise RuntimeBrokenError(
                f"{self.model_path.name}: {self.runtime_info} reads {len(result.wrong)} of the "
                f"{result.total} known inputs in its card wrong (it computes wrong results on "
                "this machine, so every dial would read nothing or nonsense)",
                len(result.wrong), result.total,
            )
        return result.total

    def _quantise(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
        dtype = np.dtype(self._in["dtype"])
        scale, zero = self._in["quantization"]
        if dtype == np.int8 and zero == -128 and abs(scale * 255.0 - 1.0) < 1e-6:
            # uint8 - 128 as int8 is flipping the top bit: the usual input, without floats.
            return np.asarray(images ^ np.uint8(0x80)).view(np.int8)
        real = images.astype(np.float32) / 255.0
        if dtype.kind == "f" or not scale:
            return real.astype(dtype)
        info = np.iinfo(dtype)
        return np.clip(np.round(real / scale) + zero, info.min, info.max).astype(dtype)

    def probabilities(self, images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The scores, shape (N, :data:`NUM_DIAL_OUTPUTS`), of N inputs from :func:`dial_input`."""
        if images.ndim != 4 or images.shape[1:] != (SIDE, SIDE, 3):
            raise ValueError(f"expected a stack of {SIDE}x{SIDE}x3 inputs, got {images.shape}")
        n = len(images)
        if n == 0:
            return np.zeros((0, self.num_classes), np.float32)
        if n != self._batch:
            self._interp.resize_tensor_input(self._in["index"], [n, SIDE, SIDE, 3])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in["index"], self._quantise(images))
        self._interp.invoke()
        return self._dequantise(self._interp.get_tensor(self._out["index"]))

    def read(self, crops: Sequence[npt.NDArray[np.uint8]],
             directions: Sequence[str]) -> list[DialEstimate]:
        """Read each crop (BGR, any size) with its direction ("auto", "cw" or "ccw")."""
        if len(crops) != len(directions):
            raise ValueError(f"{len(crops)} dial crops but {len(directions)} directions")
        if not crops:
            return []
        inputs = np.empty((len(crops), SIDE, SIDE, 3), np.uint8)
        for i, crop in enumerate(crops):
            inputs[i] = dial_input(crop)
        hubs = [((c.shape[1] - 1) / 2.0, (c.shape[0] - 1) / 2.0) for c in crops]
        return decode(self.probabilities(inputs), directions, hubs, inputs)


def _refusal(box: tuple[int, int, int, int], direction: str, why: str) -> DialEstimate:
    used: Direction = "ccw" if direction == "ccw" else "cw"
    return DialEstimate(None, 0.0, used, 0.0, (box[2] / 2, box[3] / 2), why)


def read_dials(frame: npt.NDArray[np.uint8], boxes: Sequence[tuple[int, int, int, int]],
               directions: Sequence[str], model: DialModel) -> list[DialEstimate]:
    """Read each (x, y, w, h) box of ``frame`` with its direction ("auto", "cw" or "ccw"),
    all in one call of the model. A box is clipped to the frame; one wholly outside it is
    refused."""
    if len(boxes) != len(directions):
        raise ValueError(f"{len(boxes)} dial boxes but {len(directions)} directions")
    fh, fw = frame.shape[:2]
    out: list[DialEstimate | None] = []
    crops: list[npt.NDArray[np.uint8]] = []
    given: list[str] = []
    origins: list[tuple[int, int]] = []
    for (x, y, w, h), direction in zip(boxes, directions, strict=True):
        if direction not in ("auto", "cw", "ccw"):
            raise ValueError(f"a dial's direction is auto, cw or ccw, not {direction!r}")
        x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            out.append(_refusal((x, y, w, h), direction, "the dial box lies outside the frame"))
            continue
        out.append(None)
        crops.append(frame[y0:y1, x0:x1])
        given.append(direction)
        origins.append((x0 - x, y0 - y))
    read = iter(zip(model.read(crops, given), origins, strict=True))
    result: list[DialEstimate] = []
    for est in out:
        if est is not None:
            result.append(est)
            continue
        e, (dx, dy) = next(read)
        # The hub in the box's own pixels, as if the box had not been clipped.
        result.append(DialEstimate(e.position, e.confidence, e.direction, e.angle,
                                   (e.hub[0] + dx, e.hub[1] + dy), e.refused, e.direction_sure))
    return result
