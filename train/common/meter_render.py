"""Meter digits as ink, lit and photographed: plate print, counter wheels mid-roll,
segment cells with their unlit segments; colours, tilt, glare and the camera."""

from __future__ import annotations

import logging
import math

import numpy as np

from ...edge.vision.image import to_gray
from ...edge.vision.labels import NOT_A_DIGIT
from . import camera
from .fonts import U8, Float, Glyphs, Style

logger = logging.getLogger(__name__)

# Counter wheels: ``roll`` is how far (fraction of the digit pitch) the wheel has
# turned from showing ``lower`` towards ``lower + 1``.
NEARLY_THERE = 0.12  # within this of a digit, it is that digit
HALF_WAY = (0.25, 0.75)  # in here, the window shows no one digit
# Between the two bands the truth is debatable; no examples are made there.


# -- labels -----------------------------------------------------------------------------------
def wheel_label(lower: int, roll: float) -> int | None:
    """What a wheel window showing ``lower`` rolled ``roll`` (0..1) towards the next digit reads.

    Nearly there either way: the digit mostly showing (9 rolls to 0). Half-way:
    "not a digit". In between: None, no agreed answer, so no example is made.
    """
    roll = roll % 1.0
    if roll < NEARLY_THERE:
        return lower % 10
    if roll > 1.0 - NEARLY_THERE:
        return (lower + 1) % 10
    if HALF_WAY[0] <= roll <= HALF_WAY[1]:
        return NOT_A_DIGIT
    return None


# -- ink layouts ------------------------------------------------------------------------------
def _resize(ink: Float, w: int, h: int) -> Float:
    import cv2

    w, h = max(1, w), max(1, h)
    interp = cv2.INTER_AREA if h < ink.shape[0] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(ink, (w, h), interpolation=interp), np.float32)


def scaled_cell(g: Glyphs, char: str, height: float, aspect: float = 1.0) -> Float:
    """A character's whole cell, scaled so that its digits are ``height`` px tall."""
    cell = g.ink[char]
    scale = height / g.digit_height
    return _resize(cell, round(cell.shape[1] * scale * aspect), round(cell.shape[0] * scale))


def print_ink(g: Glyphs, digit: int, height: float, aspect: float = 1.0) -> Float:
    """A printed digit's ink, cut tight and scaled to ``height`` px."""
    y0, y1, x0, x1 = g.tight[str(digit)]
    scale = height / g.digit_height
    return _resize(
        g.ink[str(digit)][y0:y1, x0:x1], round((x1 - x0) * scale * aspect), round((y1 - y0) * scale)
    )


def segment_ink(g: Glyphs, char: str | None, off: float, height: float,
                aspect: float = 1.0) -> Float:
    """A segment display cell: ``char`` lit (None: nothing) over every segment at ``off``."""
    lit = scaled_cell(g, char, height, aspect) if char else None
    unlit = scaled_cell(g, g.all_segments, height, aspect)
    if lit is None:
        return (unlit * off).astype(np.float32)
    return np.maximum(lit, unlit * off) if off > 0 else lit


def wheel_window(
    g: Glyphs,
    lower: int | None,
    roll: float,
    height: float,
    rng: np.random.Generator,
) -> tuple[Float, Float]:
    """Ink and light of a counter-wheel window: ``lower`` rolled ``roll`` towards the next digit.

    The digits sit on a drum, one pitch apart; the window shows a band of it, so
    the digits near its top and bottom edges look squashed and darker. ``lower``
    None draws an empty wheel.
    """
    pitch = height * rng.uniform(1.3, 1.7)
    win_h = max(4, round(rng.uniform(max(1.08 * height, 0.7 * pitch), pitch)))
    aspect = rng.uniform(0.85, 1.15)
    cells = [
        scaled_cell(g, str((lower + k) % 10), height, aspect) if lower is not None else None
        for k in (-1, 0, 1, 2)
    ]
    cell_w = round(g.ink["0"].shape[1] * height / g.digit_height * aspect)
    win_w = max(4, round(cell_w * rng.uniform(1.1, 1.5)))
    strip_h = math.ceil(4 * pitch) + 2
    strip = np.zeros((strip_h, win_w), np.float32)
    for k, cell in enumerate(cells):
        if cell is None:
            continue
        ch, cw = cell.shape
        top = round((k + 0.5) * pitch - ch / 2)
        left = (win_w - cw) // 2
        sx0, dx0 = max(0, -left), max(0, left)
        width = min(cw - sx0, win_w - dx0)
        top = min(max(top, 0), strip_h - ch)
        strip[top : top + ch, dx0 : dx0 + width] = np.maximum(
            strip[top : top + ch, dx0 : dx0 + width], cell[:, sx0 : sx0 + width]
        )
    # Rows of the window seen on the drum: arc length grows faster than height near the edges.
    y = np.arange(win_h, dtype=np.float32) + 0.5 - win_h / 2
    if rng.random() < 0.7:
        radius = (win_h / 2) / math.sin(rng.uniform(0.5, 1.1))
        angle = np.arcsin(np.clip(y / radius, -1, 1))
        arc = radius * angle
        shade = 1.0 - rng.uniform(0.2, 0.6) * (1.0 - np.cos(angle))
    else:
        arc, shade = y, np.ones_like(y)
    src = np.clip(1.5 * pitch + roll * pitch + arc - 0.5, 0, strip_h - 1.001)
    r0 = src.astype(np.int32)
    frac = (src - r0)[:, None].astype(np.float32)
    window = strip[r0] * (1.0 - frac) + strip[r0 + 1] * frac
    light = np.repeat(shade[:, None].astype(np.float32), win_w, axis=1)
    return window.astype(np.float32), light


# -- colours and camera -----------------------------------------------------------------------
def luma(bg: tuple[float, float, float], fg: tuple[float, float, float]) -> tuple[float, float]:
    """Grey levels of two BGR colours through the device's own to_gray.

    to_gray is a weighted sum of the channels, so mixing ink in grey equals mixing
    in colour and converting afterwards (clipping and JPEG chroma aside), at a
    third of the work.
    """
    g = to_gray(np.array([[bg, fg]], np.float32).clip(0, 255).astype(np.uint8))
    return float(g[0, 0]), float(g[0, 1])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def palette(style: Style, rng: np.random.Generator) -> tuple[
    tuple[float, float, float], tuple[float, float, float]
]:
    """A background and an ink colour (BGR) a meter of this style shows."""
    r = rng.random()
    if style == "wheel":
        if r < 0.5:  # black wheel, white digits
            base = _u(rng, 10, 60)
            bg = (base + _u(rng, -8, 8), base, base + _u(rng, -8, 8))
            fg = (_u(rng, 190, 250),) * 3
        elif r < 0.75:  # red decimal wheel, white digits
            bg = (_u(rng, 20, 70), _u(rng, 20, 70), _u(rng, 130, 220))
            fg = (_u(rng, 200, 250), _u(rng, 200, 250), _u(rng, 200, 250))
        elif r < 0.95:  # white wheel, black digits
            bg = (_u(rng, 180, 245),) * 3
            fg = (_u(rng, 10, 60),) * 3
        else:  # white wheel, red digits
            bg = (_u(rng, 190, 245),) * 3
            fg = (_u(rng, 20, 60), _u(rng, 20, 60), _u(rng, 170, 230))
    elif style == "segment":
        if r < 0.5:  # reflective LCD: grey-green glass, dark segments
            bg = (_u(rng, 110, 170), _u(rng, 130, 190), _u(rng, 110, 170))
            fg = (_u(rng, 15, 60),) * 3
        elif r < 0.65:  # backlit negative LCD: blue glass, light segments
            bg = (_u(rng, 120, 220), _u(rng, 40, 110), _u(rng, 0, 40))
            fg = (_u(rng, 210, 255), _u(rng, 210, 255), _u(rng, 200, 255))
        else:  # LED: dark face, coloured light
            colours = ((30, 30, 235), (60, 230, 60), (20, 170, 250), (250, 220, 180))
            c = colours[int(rng.integers(len(colours)))]
            bg = (_u(rng, 0, 35),) * 3
            fg = (c[0] + _u(rng, -20, 5), c[1] + _u(rng, -20, 5), c[2] + _u(rng, -20, 5))
    else:
        if r < 0.65:  # dark print on a light (maybe tinted) plate or paper
            base = _u(rng, 150, 245)
            bg = (base + _u(rng, -25, 10), base + _u(rng, -25, 10), base + _u(rng, -25, 10))
            fg = (_u(rng, 0, 70), _u(rng, 0, 70), _u(rng, 0, 70))
        else:  # light print on a dark (maybe coloured) plate
            bg = (_u(rng, 0, 110), _u(rng, 0, 80), _u(rng, 0, 110))
            base = _u(rng, 170, 255)
            fg = (base, base - _u(rng, 0, 20), base - _u(rng, 0, 20))
    return bg, fg


def glare_blob(h: int, w: int, rng: np.random.Generator) -> Float:
    """A soft bright ellipse (peak 1) where a lamp or the sun reflects off the window."""
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    sy = rng.uniform(0.1, 0.45) * h + 1
    sx = rng.uniform(0.1, 0.45) * w + 1
    yy = ((np.arange(h, dtype=np.float32) - cy) / sy) ** 2
    xx = ((np.arange(w, dtype=np.float32) - cx) / sx) ** 2
    return np.exp(-0.5 * (yy[:, None] + xx[None, :])).astype(np.float32)


def tilt(ink: Float, rng: np.random.Generator, rotation: float = 4.0,
         perspective: float = 0.05) -> Float:
    """A small rotation, shear and perspective, as a camera not quite square to the meter."""
    import cv2

    h, w = ink.shape
    angle = math.radians(rng.uniform(-rotation, rotation))
    shear = rng.uniform(-0.08, 0.08)
    cos, sin = math.cos(angle), math.sin(angle)
    lin = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    centre = np.array([w / 2, h / 2])
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = (src - centre) @ lin.T + centre
    dst += rng.uniform(-perspective, perspective, (4, 2)) * [w, h]
    mat = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return np.asarray(cv2.warpPerspective(ink, mat, (w, h), flags=cv2.INTER_LINEAR), np.float32)


def shoot(
    ink: Float,
    bg: float,
    fg: float,
    rng: np.random.Generator,
    light: Float | None = None,
    glare: float = 0.0,
) -> U8:
    """Grey camera crop of an ink map: light, glare, blur, low resolution, noise, JPEG."""

    h, w = ink.shape
    img = bg + (fg - bg) * ink
    if light is not None:
        img = img * light
    if glare:
        img = img + glare * glare_blob(h, w, rng)
    if rng.random() < 0.5:
        img = camera.light_ramp(img, rng, 0.25)
    img = img.astype(np.float32)
    if rng.random() < 0.6:
        img = camera.blur(img, rng, 0.02 * max(h, w) + 0.6)
    if rng.random() < 0.15 and min(h, w) >= 12:
        img = camera.low_resolution(img, rng)
    if rng.random() < 0.7:
        img = camera.sensor_noise(img, rng, 7.0, dtype=np.float32)
    out = camera.to_u8(img)
    if rng.random() < 0.35:
        out = camera.jpeg(out, rng, 30, 90)
    return out
