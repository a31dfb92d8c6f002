"""Training dials: the tuning styles mixed and jittered, photographed under varied conditions.

Only :data:`~.render.TUNE_STYLES` are drawn on, so that the held-out styles measure
dials of makes the model never saw. Nine styles are few for a CNN; each training dial
takes every feature (face, needle shape, font, colours, ...) from its own style or, a
third of the time, from another tuning style, and its colours and sizes are jittered:
the model learns what a needle and a numeral are, not nine pictures.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.vision.dial import SIDE, dial_input
from ..common.parallel import map_chunks
from .render import (
    NEGATIVES,
    STYLES,
    TUNE_STYLES,
    DialStyle,
    Direction,
    Shot,
    everyday_shot,
    needle_angle,
    render,
    render_negative,
)

_COLOURS = ("face", "body", "ring", "numeral_colour", "tick_colour", "needle_colour",
            "hub_colour")
_SIZES = ("face_radius", "ring_width", "numeral_height", "numeral_thickness", "numeral_radius",
          "tick_length", "needle_length", "needle_width", "tail", "hub_radius")


@dataclass(frozen=True)
class DialSet:
    """Model inputs and what each shows."""

    inputs: npt.NDArray[np.uint8]  # (N, SIDE, SIDE, 3)
    positions: npt.NDArray[np.float32]  # the reading; -1: not a dial
    angles: npt.NDArray[np.float32]  # the needle from the scale's 0 mark, degrees clockwise
    ccw: npt.NDArray[np.bool_]  # numbered counter-clockwise
    numerals: npt.NDArray[np.bool_]  # the scale has numerals (else its direction is unknowable)


def mixed_style(rng: np.random.Generator) -> DialStyle:
    """A tuning style with some features of another and jittered colours and sizes."""
    base = STYLES[TUNE_STYLES[int(rng.integers(len(TUNE_STYLES)))]]
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(DialStyle):
        donor = (STYLES[TUNE_STYLES[int(rng.integers(len(TUNE_STYLES)))]]
                 if rng.random() < 0.33 else base)
        fields[f.name] = getattr(donor, f.name)
    for name in _COLOURS:
        colour = fields[name]
        if colour is not None:
            jittered = np.array(colour) * rng.uniform(0.8, 1.15) + rng.normal(0, 14, 3)
            fields[name] = tuple(int(v) for v in np.clip(jittered, 0, 255))
    for name in _SIZES:
        fields[name] = float(fields[name]) * float(rng.uniform(0.85, 1.15))
    fields["face_radius"] = min(0.46, fields["face_radius"])
    return DialStyle(**fields)


def training_shot(rng: np.random.Generator) -> Shot:
    """Everyday pictures, a quarter of them each with a box off-centre, an oblique view,
    a flash, or a poor focus and JPEG; more than the evaluation asks, so that it is inside."""
    shot = replace(everyday_shot(rng), cast=float(rng.uniform(0.02, 0.1)))
    if rng.random() < 0.25:
        shot = replace(shot, off_centre=float(rng.uniform(0.0, 0.11)))
    if rng.random() < 0.25:
        shot = replace(shot, oblique=float(rng.uniform(0.0, 22.0)))
    if rng.random() < 0.2:
        shot = replace(shot, flash=float(rng.uniform(0.3, 0.85)),
                       flash_on_needle=bool(rng.random() < 0.5))
    if rng.random() < 0.25:
        shot = replace(shot, blur=float(rng.uniform(0.8, 1.8)), jpeg=int(rng.integers(25, 61)))
    return shot


def _chunk(n: int, seed: np.random.SeedSequence | None, negative_share: float) -> DialSet:
    rng = np.random.default_rng(seed)
    inputs = np.empty((n, SIDE, SIDE, 3), np.uint8)
    positions = np.full(n, -1.0, np.float32)
    angles = np.zeros(n, np.float32)
    ccw = np.zeros(n, bool)
    numerals = np.zeros(n, bool)
    for i in range(n):
        style = mixed_style(rng)
        size = int(rng.integers(52, 101))  # the box as a camera frames it, in pixels
        if rng.random() < negative_share:
            kind = NEGATIVES[int(rng.integers(len(NEGATIVES)))]
            crop = render_negative(rng, kind, style, size)
        else:
            direction: Direction = "ccw" if rng.random() < 0.5 else "cw"
            positions[i] = float(rng.uniform(0.0, 10.0))
            angles[i] = needle_angle(float(positions[i]), direction)
            ccw[i], numerals[i] = direction == "ccw", style.numerals
            crop = render(rng, style, float(positions[i]), direction, training_shot(rng), size)
        inputs[i] = dial_input(crop)
    return DialSet(inputs, positions, angles, ccw, numerals)


def training_dials(n: int, seed: int, negative_share: float = 0.12,
                   workers: int = 2, chunk: int = 2000) -> DialSet:
    """``n`` training inputs (``negative_share`` of them no dial), the same for any
    ``workers``."""
    sizes = [min(chunk, n - start) for start in range(0, n, chunk)]
    parts = map_chunks(_chunk, sizes, seed, workers, negative_share)
    return DialSet(*(np.concatenate([getattr(p, f.name) for p in parts])
                     for f in dataclasses.fields(DialSet)))
