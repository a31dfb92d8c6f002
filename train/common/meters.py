"""Whole synthetic meter photos assembled from rendered digits, with the box of every digit.

A row of counter wheels (black for the whole units, red for the decimals, white
digits) in a dark window plate on a light face, or an LCD row with unlit segments
and a decimal point. The boxes are what a user would set up for
``LocateConfig(mode="boxes", boxes=..., decimals=...)``: wheels read light on dark,
the LCD dark on light.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .fonts import font_pool
from .meter_render import segment_ink, wheel_window

logger = logging.getLogger(__name__)

Float = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
BGR = tuple[float, float, float]


def _paint(canvas: Float, x: int, y: int, ink: Float, bg: BGR, fg: BGR,
           light: Float | None = None) -> None:
    h, w = ink.shape
    patch = np.asarray(bg, np.float32) + (np.subtract(fg, bg).astype(np.float32)) * ink[..., None]
    if light is not None:
        patch = patch * light[..., None]
    canvas[y : y + h, x : x + w] = patch


def meter_image(
    digits: str,
    seed: int,
    fonts: str = "heldout",
    kind: Literal["wheels", "lcd"] = "wheels",
    decimals: int = 3,
    rolls: Sequence[float] | None = None,
    size: tuple[int, int] = (640, 480),
) -> tuple[U8, list[list[int]]]:
    """A BGR photo of a meter showing ``digits`` and each digit's box [x, y, w, h].

    A space in ``digits`` is an empty wheel or an unlit cell. ``rolls`` turns each
    wheel that far (fraction of a digit) towards the next digit. Every random
    choice is drawn the same way whatever the digits, so two meters from one
    seed differ only inside the boxes.
    """
    import cv2

    rng = np.random.default_rng(seed)
    pool = font_pool(fonts)
    width, height = size
    n = len(digits)
    rolls = list(rolls) if rolls is not None else [float(rng.uniform(-0.03, 0.03)) for _ in digits]
    if len(rolls) != n:
        raise ValueError(f"{len(rolls)} rolls for {n} digits")
    face = float(rng.uniform(170, 225))
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = (face - rng.uniform(0, 15), face, face - rng.uniform(0, 10))
    digit_h = min(90.0, (width - 120) / (n * 1.3 * 1.45)) * rng.uniform(0.8, 1.0)
    boxes: list[list[int]] = []
    if kind == "wheels":
        g = pool.pick(False, rng)
        wheel_seed = int(rng.integers(2**31))  # one drum shape for every wheel
        windows = []
        for i, ch in enumerate(digits):
            # A wheel just short of its digit is the previous digit nearly rolled over.
            lower = None if ch == " " else (int(ch) + math.floor(rolls[i])) % 10
            roll = rolls[i] % 1.0
            windows.append(wheel_window(g, lower, roll, digit_h, np.random.default_rng(wheel_seed)))
        win_h, win_w = windows[0][0].shape
        gap = round(win_w * rng.uniform(0.15, 0.35))
        total = n * win_w + (n - 1) * gap
        x0 = int(rng.integers(40, max(41, width - total - 40)))
        y0 = int(rng.integers(40, max(41, height - win_h - 40)))
        plate = float(rng.uniform(5, 30))
        pad = round(0.25 * win_h)
        canvas[y0 - pad : y0 + win_h + pad, x0 - pad : x0 + total + pad] = plate
        black = (rng.uniform(15, 45),) * 3
        red = (rng.uniform(25, 60), rng.uniform(25, 60), rng.uniform(150, 210))
        white = (rng.uniform(215, 250),) * 3
        for i, (ink, light) in enumerate(windows):
            x = x0 + i * (win_w + gap)
            bg = red if i >= n - decimals else black
            _paint(canvas, x, y0, ink, bg, white, light)
            boxes.append([x + 1, y0 + 1, win_w - 2, win_h - 2])
    else:
        g = pool.pick(True, rng)
        off = float(rng.uniform(0.05, 0.2))
        cells = [segment_ink(g, None if ch == " " else ch, off, digit_h) for ch in digits]
        cell_h, cell_w = cells[0].shape
        gap = round(cell_w * rng.uniform(0.15, 0.3))
        total = n * cell_w + (n - 1) * gap
        x0 = int(rng.integers(50, max(51, width - total - 50)))
        y0 = int(rng.integers(50, max(51, height - cell_h - 50)))
        glass: BGR = (rng.uniform(120, 160), rng.uniform(145, 185), rng.uniform(125, 160))
        segments: BGR = (rng.uniform(20, 50),) * 3
        pad = round(0.3 * cell_h)
        canvas[y0 - pad - 12 : y0 + cell_h + pad + 12, x0 - pad - 12 : x0 + total + pad + 12] = 40
        canvas[y0 - pad : y0 + cell_h + pad, x0 - pad : x0 + total + pad] = glass
        for i, ink in enumerate(cells):
            x = x0 + i * (cell_w + gap)
            _paint(canvas, x, y0, ink, glass, segments)
            m = max(2, round(0.08 * cell_h))
            boxes.append([x - m, y0 - m, cell_w + 2 * m, cell_h + 2 * m])
        if 0 < decimals < n:  # the decimal point, in the gap before the first decimal
            x = x0 + (n - decimals) * (cell_w + gap) - gap // 2
            r = max(2, round(0.05 * cell_h))
            cv2.circle(canvas, (x, y0 + cell_h - r), r, segments, -1, cv2.LINE_AA)
    # The camera: uneven light, a soft reflection, blur, noise, JPEG.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - width / 2) * math.cos(theta) + (yy - height / 2) * math.sin(theta)) / width
    canvas *= (1.0 + rng.uniform(-0.3, 0.3) * ramp)[..., None]
    canvas = np.asarray(cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 1.2)), np.float32)
    canvas += rng.normal(0, rng.uniform(1, 4), canvas.shape).astype(np.float32)
    out = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    if ok:
        out = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)
    return out, boxes


# How many fixed meter photos of each kind tests/test_meter_reading.py reads.
TEST_METERS = 40


def fixed_meter_digits(seed: int) -> str:
    """The eight digits of ``tests/test_meter_reading.py``'s meter ``seed``."""
    return "".join(str((seed * 3 + i * 7) % 10) for i in range(8))


def read_test_meters(window: Any, kind: Literal["wheels", "lcd"], count: int = TEST_METERS
                     ) -> list[tuple[int, str, str]]:
    """``tests/test_meter_reading.py``'s ``count`` generated meters of ``kind`` (held-out
    fonts, five whole digits and three decimals, the last wheel a third of the way on)
    read through fixed boxes by the meter-window classifier ``window``: the ones read
    wrong, as (seed, digits, value read). ``wheels.evaluate`` prints the count."""
    from ...edge.config import LocateConfig
    from ...edge.vision.reader import Reader

    wrong = []
    for seed in range(1, count + 1):
        digits = fixed_meter_digits(seed)
        image, boxes = meter_image(digits, seed=seed, kind=kind, rolls=[0.0] * 7 + [0.3])
        locate = LocateConfig(mode="boxes", boxes=boxes, decimals=3)
        value = Reader(None, locate, window=window).read(image).value
        if value != f"{digits[:5]}.{digits[5:]}":
            wrong.append((seed, digits, value))
    return wrong
