"""Examples of "not a digit": what a locator or a fixed box can hand the model that is no digit.

Blank and textured paper, noise, ruler lines and stray strokes, fragments of
digits, two digits touching, and digits cut by the edge of the box. Each is
photographed like a real digit crop and normalised by the device code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ...edge.vision.normalise import normalise_digit
from .augment import photograph

Float = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def _blank(rng: np.random.Generator, digits: U8) -> Float:
    size = int(rng.integers(12, 60))
    return np.zeros((size, int(size * rng.uniform(0.5, 1.2)) + 1), np.float32)


def _texture(rng: np.random.Generator, digits: U8) -> Float:
    import cv2

    h, w = int(rng.integers(12, 60)), int(rng.integers(10, 50))
    noise = rng.random((h, w)).astype(np.float32)
    noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), rng.uniform(0.5, 3.0)), np.float32)
    noise -= noise.min()
    return (noise / max(float(noise.max()), 1e-6)) * rng.uniform(0.2, 1.0)


def _lines(rng: np.random.Generator, digits: U8) -> Float:
    import cv2

    h, w = int(rng.integers(16, 60)), int(rng.integers(12, 50))
    ink = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        if rng.random() < 0.6:  # a ruler line or a box edge: straight across
            y = int(rng.integers(0, h))
            p1, p2 = (0, y), (w - 1, int(np.clip(y + rng.integers(-3, 4), 0, h - 1)))
        else:  # a short stray stroke
            p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(ink, p1, p2, 1.0, int(rng.integers(1, max(2, h // 8) + 1)), cv2.LINE_AA)
    return ink


def _fragment(rng: np.random.Generator, digits: U8) -> Float:
    """A small piece of a digit: a quarter or less of it."""
    d = digits[rng.integers(len(digits))].astype(np.float32) / 255.0
    ys, xs = np.nonzero(d > 0.2)
    if ys.size == 0:
        return d
    fh = max(3, int((ys.max() - ys.min()) * rng.uniform(0.2, 0.4)))
    fw = max(3, int((xs.max() - xs.min()) * rng.uniform(0.2, 0.5)))
    y0 = int(rng.integers(ys.min(), max(ys.min() + 1, ys.max() - fh + 1)))
    x0 = int(rng.integers(xs.min(), max(xs.min() + 1, xs.max() - fw + 1)))
    out = np.zeros_like(d)
    out[y0 : y0 + fh, x0 : x0 + fw] = d[y0 : y0 + fh, x0 : x0 + fw]
    return out


def _touching(rng: np.random.Generator, digits: U8) -> Float:
    """Two digits side by side in one box, overlapping a little."""
    a = digits[rng.integers(len(digits))].astype(np.float32) / 255.0
    b = digits[rng.integers(len(digits))].astype(np.float32) / 255.0
    overlap = int(rng.integers(8, 14))
    out = np.zeros((28, 56 - overlap), np.float32)
    out[:, :28] = a
    out[:, 28 - overlap :] = np.maximum(out[:, 28 - overlap :], b)
    return out


def _cut(rng: np.random.Generator, digits: U8) -> Float:
    """A digit with 40-65 % of it cut off by one edge of the box."""
    d = digits[rng.integers(len(digits))].astype(np.float32) / 255.0
    ys, xs = np.nonzero(d > 0.2)
    if ys.size == 0:
        return d
    frac = rng.uniform(0.4, 0.65)
    side = int(rng.integers(4))
    if side == 0:
        return d[: ys.min() + int((ys.max() - ys.min()) * (1 - frac)), :]
    if side == 1:
        return d[ys.min() + int((ys.max() - ys.min()) * frac) :, :]
    if side == 2:
        return d[:, : xs.min() + max(1, int((xs.max() - xs.min()) * (1 - frac)))]
    return d[:, xs.min() + int((xs.max() - xs.min()) * frac) :]


KINDS: dict[str, Callable[[np.random.Generator, U8], Float]] = {
    "blank": _blank,
    "texture": _texture,
    "lines": _lines,
    "fragment": _fragment,
    "touching": _touching,
    "cut": _cut,
}


def negative_crop(rng: np.random.Generator, digits: U8, kind: str | None = None) -> U8:
    """One grey camera-like crop that is not a single whole digit."""
    import cv2

    name = kind or str(rng.choice(list(KINDS)))
    ink = KINDS[name](rng, digits)
    if name in ("fragment", "touching", "cut"):
        scale = rng.uniform(0.6, 2.0)
        size = (max(2, round(ink.shape[1] * scale)), max(2, round(ink.shape[0] * scale)))
        ink = np.asarray(cv2.resize(ink, size, interpolation=cv2.INTER_LINEAR), np.float32)
        angle = rng.uniform(-8, 8)
        mat = cv2.getRotationMatrix2D((ink.shape[1] / 2, ink.shape[0] / 2), angle, 1.0)
        ink = np.asarray(cv2.warpAffine(ink, mat, (ink.shape[1], ink.shape[0])), np.float32)
    return photograph(np.clip(ink, 0, 1).astype(np.float32), rng)


def looks_like_a_one(image: U8) -> bool:
    """A tall thin stroke normalises to the picture of a 1: never call that a negative."""
    ys, xs = np.nonzero(image > 50)
    if ys.size == 0:
        return False
    return bool(xs.max() - xs.min() < 9 and ys.max() - ys.min() > 12)


def negatives(n: int, digits: U8, seed: int) -> U8:
    """``n`` normalised 28x28 "not a digit" examples, reproducibly from ``seed``."""
    rng = np.random.default_rng(seed)
    out: list[U8] = []
    while len(out) < n:
        image = normalise_digit(negative_crop(rng, digits))
        if not looks_like_a_one(image):
            out.append(image)
    return np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)

