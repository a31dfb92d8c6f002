"""Wheel positions: the meter-window model's classes and how its scores become a position.

The model has :data:`NUM_POSITIONS` classes, one per tenth of a turn (class ``k`` is
position ``k / 10``: ``35`` is a wheel half-way from 3 to 4, ``99`` a 0 almost in
place), then one class for "not a digit" (an empty or broken cell). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

STEPS = 10  # classes per digit: tenths
NUM_POSITIONS = 10 * STEPS
BLANK = NUM_POSITIONS  # the "not a digit" class
NUM_WINDOW_CLASSES = NUM_POSITIONS + 1
# A wheel within this much of a whole digit shows that digit; further off it is
# between two digits, and "digit" is None (its position still says where it is).
IN_VIEW = 0.3
# Scores this many tenths either side of the best class go into the position.
_SPREAD = 3


@dataclass(frozen=True)
class WheelEstimate:
    """What the scores of one box say."""

    position: float  # 0 <= position < 10, in digits (3.5: half-way from 3 to 4)
    digit_scores: tuple[float, ...]  # probability of each digit being the one nearest in view
    not_a_digit: float  # probability of "not a digit"
    confidence: float = 1.0  # probability that the wheel is within 0.3 of ``position``

    @property
    def nearest(self) -> int:
        return round(self.position) % 10

    @property
    def off_whole(self) -> float:
        """How far the wheel is from the nearest whole digit (0 .. 0.5)."""
        return abs(self.position - round(self.position))


def position_class(position: float) -> int:
    """The class index of a wheel position (rounded to the tenth, wrapped)."""
    return round(position * STEPS) % NUM_POSITIONS


def soft_targets(
    positions: npt.NDArray[np.floating], sigma: float = 1.0
) -> npt.NDArray[np.float32]:
    """Training targets: a circular Gaussian over position classes (sigma in tenths).

    Positions are labelled by eye to the tenth; neighbouring classes share the
    target so the model learns an ordered scale rather than 100 unrelated labels.
    A negative position means "not a digit" (the blank class alone).
    """
    positions = np.asarray(positions, np.float64)
    out = np.zeros((len(positions), NUM_WINDOW_CLASSES), np.float32)
    k = np.arange(NUM_POSITIONS, dtype=np.float64)
    blank = positions < 0
    centre = (positions * STEPS) % NUM_POSITIONS
    d = np.abs(k[None, :] - centre[:, None])
    d = np.minimum(d, NUM_POSITIONS - d)
    weights = np.exp(-0.5 * (d / sigma) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    out[:, :NUM_POSITIONS] = weights
    out[blank] = 0.0
    out[blank, BLANK] = 1.0
    return out


def digit_scores(probs: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Per digit: the probability mass of positions nearer to it than to any other.

    Shape (N, 10). Digit ``d`` owns positions ``d - 0.5 .. d + 0.4``.
    """
    probs = np.asarray(probs, np.float32)
    pos = probs[:, :NUM_POSITIONS]
    # Roll so that class d*STEPS - STEPS/2 lands at index d*STEPS, then sum blocks.
    rolled = np.roll(pos, STEPS // 2, axis=1)
    return rolled.reshape(len(probs), 10, STEPS).sum(axis=2)


def estimate(probs: npt.NDArray[np.floating]) -> list[WheelEstimate]:
    """Position, digit scores and "not a digit" for each row of window-model scores."""
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 2 or probs.shape[1] != NUM_WINDOW_CLASSES:
        raise ValueError(f"expected (N, {NUM_WINDOW_CLASSES}) scores, got {probs.shape}")
    digits = digit_scores(probs)
    pos = probs[:, :NUM_POSITIONS]
    best = pos.argmax(axis=1)
    offsets = np.arange(-_SPREAD, _SPREAD + 1)
    result: list[WheelEstimate] = []
    for row, b, dig, blank in zip(pos, best, digits, probs[:, BLANK], strict=True):
        idx = (b + offsets) % NUM_POSITIONS
        w = row[idx].astype(np.float64)
        # Weighted mean of the neighbourhood of the best class, on the unwrapped scale.
        centre = float(b) + (float((w * offsets).sum() / w.sum()) if w.sum() > 0 else 0.0)
        position = round((centre / STEPS) % 10.0, 3) % 10.0  # 9.9996 rounds to 10.0
        result.append(
            WheelEstimate(
                position=position,
                # int8 scores dequantised may add up to a hair over 1.
                digit_scores=tuple(min(1.0, float(s)) for s in dig),
                not_a_digit=min(1.0, float(blank)),
                confidence=min(1.0, float(w.sum())),
            )
        )
    return result


def wheel_digit(est: WheelEstimate) -> int | None:
    """The digit in view; None for an empty cell or a wheel between two digits. (The
    confidence floor is the decisions' to apply: :func:`..vision.decide.apply_floor`.)"""
    if est.not_a_digit >= max(est.digit_scores, default=0.0):
        return None
    if est.off_whole > IN_VIEW:
        return None
    return est.nearest
