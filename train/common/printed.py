"""Printed meter digits made here: installed fonts rendered with Pillow, photographed like crops.

Meters show digits three ways: printed on a plate, on counter wheels (the next
digit rolls in from below) and on LCD/LED segment displays (unlit segments still
faintly visible). No user photos are needed: each digit is rendered from an
installed font, laid out as the meter shows it, lit, blurred, compressed, cut out
the way the device's locator hands crops over, and normalised by the device's own
:func:`~digitd.edge.vision.normalise.normalise_digit`.
Fonts: :mod:`digitd.train.common.fonts`; ink, light and camera:
:mod:`digitd.train.common.meter_render`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ...edge.vision.labels import NOT_A_DIGIT
from ...edge.vision.normalise import normalise_digit
from .data import Split
from .fonts import (
    SEGMENT_SYMBOLS,
    U8,
    Float,
    FontPool,
    Glyphs,
    Style,
    font_pool,
)
from .meter_render import (
    HALF_WAY,
    NEARLY_THERE,
    luma,
    palette,
    print_ink,
    scaled_cell,
    segment_ink,
    shoot,
    tilt,
    wheel_label,
    wheel_window,
)
from .parallel import map_chunks

logger = logging.getLogger(__name__)


# -- one crop ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CropSpec:
    """What one example shows; ``label`` is what the model must answer."""

    kind: str  # print, wheel, segment | wheel_halfway, blank_wheel, blank_cell, glare,
    #            segment_off, segment_symbol
    style: Style
    label: int
    digit: int | None = None  # the digit drawn (wheels: the lower one)
    roll: float = 0.0
    symbol: str | None = None


@dataclass(frozen=True)
class Crop:
    image: U8  # grey crop as the locator hands it over
    dark_ink: bool  # the polarity the device would pass to normalise_digit


# Blank cells and glare look like nothing in particular, so they need more
# examples than their share of real meters would suggest before the model stops
# finding a faint digit in them.
NEGATIVE_KINDS: dict[str, float] = {
    "wheel_halfway": 0.28,
    "blank_wheel": 0.08,
    "blank_cell": 0.18,
    "glare": 0.22,
    "segment_off": 0.13,
    "segment_symbol": 0.11,
}
DIGIT_STYLES: dict[Style, float] = {"print": 0.35, "wheel": 0.30, "segment": 0.35}


def draw_spec(label: int, rng: np.random.Generator) -> CropSpec:
    """A random example of class ``label`` (0-9, or 10 for a meter's "not a digit")."""
    if label != NOT_A_DIGIT:
        style: Style = _choice(rng, DIGIT_STYLES)
        if style != "wheel":
            return CropSpec(style, style, label, label)
        roll = rng.uniform(-NEARLY_THERE, NEARLY_THERE) * 0.999
        lower = label if roll >= 0 else (label - 1) % 10
        return CropSpec("wheel", "wheel", label, lower, roll % 1.0)
    kind = _choice(rng, NEGATIVE_KINDS)
    if kind == "wheel_halfway":
        roll = rng.uniform(*HALF_WAY)
        return CropSpec(kind, "wheel", label, int(rng.integers(10)), roll)
    if kind == "blank_wheel":
        return CropSpec(kind, "wheel", label)
    if kind in ("blank_cell", "glare"):
        return CropSpec(kind, _choice(rng, DIGIT_STYLES), label)
    if kind == "segment_symbol":
        symbol = SEGMENT_SYMBOLS[int(rng.integers(len(SEGMENT_SYMBOLS)))]
        return CropSpec(kind, "segment", label, symbol=symbol)
    return CropSpec(kind, "segment", label)


K = TypeVar("K", bound=str)


def _choice(rng: np.random.Generator, weights: Mapping[K, float]) -> K:
    names = list(weights)
    p = np.array(list(weights.values()), np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _margins(ink: Float, height: float, rng: np.random.Generator,
             box: tuple[int, int, int, int] | None = None) -> Float:
    """Pad (or cut to) a box around the ink the way a locator or a set-up box frames a digit."""
    tight = rng.random() < 0.25
    hi = 0.06 if tight else 0.45
    m = [round(rng.uniform(0.0 if tight else 0.02, hi) * height) for _ in range(4)]
    if box is not None:
        y0, y1, x0, x1 = box
        ink = ink[y0:y1, x0:x1]
    return np.pad(ink, ((m[0], m[1]), (m[2], m[3])))


def render_crop(spec: CropSpec, g: Glyphs, rng: np.random.Generator) -> Crop:
    """The grey crop the device would cut around one meter digit (or non-digit)."""
    while True:
        bg_c, fg_c = palette(spec.style, rng)
        bg, fg = luma(bg_c, fg_c)
        if abs(fg - bg) >= 45:
            break
    contrast = abs(fg - bg)
    height = rng.uniform(10, 70)
    aspect = rng.uniform(0.85, 1.15)
    light: Float | None = None
    if spec.style == "wheel":
        ink, light = wheel_window(g, spec.digit, spec.roll, height, rng)
        if rng.random() < 0.5:
            ink = tilt(ink, rng, rotation=3.0, perspective=0.03)
        # The set-up box sits a little inside the window.
        h, w = ink.shape
        t, b = (round(rng.uniform(0, 0.1) * h) for _ in range(2))
        lft, rgt = (round(rng.uniform(0, 0.1) * w) for _ in range(2))
        ink, light = ink[t : h - b, lft : w - rgt], light[t : h - b, lft : w - rgt]
    elif spec.style == "segment":
        off = 0.0
        char = str(spec.digit) if spec.digit is not None else spec.symbol
        if char is None:
            # An empty cell: unlit segments too faint to pass normalisation's contrast
            # floor. Fainter ones than that but visible make a perfect "8" once scaled;
            # labelled "not a digit" they would only teach the model to doubt real 8s
            # (the reader's row-contrast rule refuses those cells instead).
            off = rng.uniform(3.0, 18.0) / contrast
        elif rng.random() < 0.7:
            off = rng.uniform(0.03, 0.3)
        ink = segment_ink(g, char, off, height, aspect)
        if fg > bg and rng.random() < 0.6:  # LED and backlight bloom
            import cv2

            glow = cv2.GaussianBlur(ink, (0, 0), rng.uniform(1.0, 0.08 * height + 1.5))
            ink = np.clip(ink + rng.uniform(0.2, 0.6) * glow, 0, 1).astype(np.float32)
        box = None
        if char and rng.random() < 0.5:  # auto mode: a box around the lit segments
            lit = scaled_cell(g, char, height, aspect)
            ys, xs = np.nonzero(lit > 0.3)
            if ys.size:
                box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        ink = _margins(ink, height, rng, box)
        if rng.random() < 0.4:
            ink = tilt(ink, rng)
    else:
        if spec.digit is None:
            ink = np.zeros((round(height * rng.uniform(1.1, 1.6)),
                            round(height * rng.uniform(0.6, 1.1))), np.float32)
        else:
            ink = _margins(print_ink(g, spec.digit, height, aspect), height, rng)
            if rng.random() < 0.5:
                ink = tilt(ink, rng)
    glare = 0.0
    if spec.kind == "glare":
        glare = rng.uniform(40, 160)
    elif rng.random() < 0.12:
        glare = rng.uniform(0.1, 0.35) * contrast
    return Crop(shoot(ink, bg, fg, rng, light, glare), dark_ink=fg < bg)


# -- the data set -----------------------------------------------------------------------------
def _acceptable(spec: CropSpec, image: U8) -> bool:
    """Keep an example only if its label still tells the truth after normalisation."""
    if spec.label != NOT_A_DIGIT:
        # Light, glare or blur did not wash the digit out (a thin "1" holds ~25 px of ink).
        return float(image.sum()) / 255.0 >= 12.0
    if spec.kind == "segment_off":
        return int((image >= 128).sum()) < 40  # noise lifted the unlit segments into an "8"
    return True


def render_example(label: int, pool: FontPool, rng: np.random.Generator) -> tuple[U8, CropSpec]:
    """One normalised 28x28 example of ``label`` and what it shows."""
    image, spec = np.zeros((28, 28), np.uint8), draw_spec(label, rng)
    for _ in range(8):
        spec = draw_spec(label, rng)
        g = pool.pick(spec.style == "segment", rng)
        crop = render_crop(spec, g, rng)
        image = normalise_digit(crop.image, crop.dark_ink)
        if _acceptable(spec, image):
            break
    return image, spec


def render_digit_crop(
    digit: int | None,
    style: Style,
    seed: int,
    fonts: str = "train",
    roll: float = 0.0,
) -> Crop:
    """One grey crop of ``digit`` (None: an empty cell) in a style, for tests and previews."""
    rng = np.random.default_rng(seed)
    label = wheel_label(digit, roll) if style == "wheel" and digit is not None else digit
    spec = CropSpec(
        style if digit is not None else "blank_cell",
        style,
        NOT_A_DIGIT if label is None else label,
        digit,
        roll,
    )
    return render_crop(spec, font_pool(fonts).pick(style == "segment", rng), rng)


@dataclass(frozen=True)
class PrintedSet:
    images: U8
    labels: npt.NDArray[np.uint8]
    kinds: tuple[str, ...]  # CropSpec.kind of each example

    def split(self) -> Split:
        return Split(self.images, self.labels)


CHUNK = 512


def _chunk(labels: npt.NDArray[np.uint8], seed: np.random.SeedSequence,
           fonts: str) -> tuple[U8, list[str]]:
    rng = np.random.default_rng(seed)
    pool = font_pool(fonts)
    images: list[U8] = []
    kinds: list[str] = []
    for label in labels:
        image, spec = render_example(int(label), pool, rng)
        images.append(image)
        kinds.append(spec.kind)
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8), kinds


def printed_examples(n: int, seed: int, fonts: str = "train", workers: int = 1) -> PrintedSet:
    """``n`` normalised meter examples, classes 0-9 and 10 in equal shares, with their kinds.

    Reproducible from ``seed`` whatever ``workers`` is: each chunk of examples has
    its own seed spawned from it.
    """
    font_pool(fonts)  # fail early, naming any missing font package
    labels = np.random.default_rng(seed).permutation(np.arange(n) % (NOT_A_DIGIT + 1))
    labels = labels.astype(np.uint8)
    parts = [labels[i : i + CHUNK] for i in range(0, n, CHUNK)]
    results = map_chunks(_chunk, parts, seed, workers, fonts)
    if not results:
        return PrintedSet(np.zeros((0, 28, 28), np.uint8), labels, ())
    images = np.concatenate([r[0] for r in results])
    kinds = tuple(k for r in results for k in r[1])
    return PrintedSet(images, labels, kinds)


def printed_digits(n: int, seed: int, fonts: str = "train", workers: int = 1) -> Split:
    """``n`` printed/wheel/segment meter digits and meter "not a digit" examples, balanced."""
    return printed_examples(n, seed, fonts, workers).split()
