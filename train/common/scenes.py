"""Photos of numbers written with real MNIST digits: paper, light, shadow, blur, noise, JPEG, tilt.

Used by the tests (the known number is the ground truth), the benchmarks and the
demo media. No TensorFlow: only numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import camera

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SceneStyle:
    width: int = 640
    height: int = 480
    digit_height: tuple[int, int] = (50, 110)
    light_on_dark: bool = False
    uneven_light: float = 0.35  # strength of the brightness ramp across the photo
    shadow: bool = True
    blur: float = 1.0  # largest Gaussian sigma
    noise: float = 6.0  # largest noise sigma (grey levels)
    jpeg: bool = True
    rotation: float = 4.0  # degrees, largest
    perspective: float = 0.04  # largest corner shift, fraction of the size
    gap: tuple[float, float] = (0.2, 0.5)  # space between digits, fraction of digit height


@dataclass(frozen=True)
class Scene:
    image: U8  # BGR photo
    number: str  # the digits shown, left to right
    boxes: list[tuple[int, int, int, int]]  # where each digit was drawn (before tilt)


def _tight(digit: U8) -> U8:
    ys, xs = np.nonzero(digit > 30)
    return digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def ink_layer(
    digits: list[U8], style: SceneStyle, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], list[tuple[int, int, int, int]]]:
    """Digits drawn left to right on an empty float canvas (1 = full ink)."""
    import cv2

    canvas = np.zeros((style.height, style.width), np.float32)
    height = int(rng.integers(style.digit_height[0], style.digit_height[1] + 1))
    scaled: list[npt.NDArray[np.float32]] = []
    for d in digits:
        t = _tight(d).astype(np.float32) / 255.0
        w = max(2, round(t.shape[1] * height / t.shape[0]))
        scaled.append(np.asarray(cv2.resize(t, (w, height), interpolation=cv2.INTER_LINEAR)))
    gaps = [int(rng.uniform(*style.gap) * height) for _ in digits[1:]]
    total = sum(s.shape[1] for s in scaled) + sum(gaps)
    if total > style.width - 80:  # shrink to fit the frame, with room for the tilt
        factor = (style.width - 80) / total
        return ink_layer(
            digits,
            SceneStyle(**{**style.__dict__, "digit_height": (int(height * factor),) * 2}),
            rng,
        )
    x = int(rng.integers(40, max(41, style.width - total - 40)))
    y = int(rng.integers(30, max(31, style.height - height - 30)))
    boxes = []
    for i, s in enumerate(scaled):
        dy = int(rng.integers(-height // 20, height // 20 + 1))
        yy = min(max(0, y + dy), style.height - height)
        canvas[yy : yy + height, x : x + s.shape[1]] = np.maximum(
            canvas[yy : yy + height, x : x + s.shape[1]], s
        )
        boxes.append((x, yy, s.shape[1], height))
        x += s.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return canvas, boxes


def photograph_scene(
    ink: npt.NDArray[np.float32], style: SceneStyle, rng: np.random.Generator
) -> U8:
    """Lay ink on paper (or a display), then light, tilt, blur, noise and compress it."""
    import cv2

    h, w = ink.shape
    if style.light_on_dark:
        background, contrast = rng.uniform(10, 60), rng.uniform(140, 200)
        grey = background + contrast * ink
    else:
        background, contrast = rng.uniform(170, 235), rng.uniform(120, 160)
        grey = background - contrast * ink
    texture = cv2.GaussianBlur(rng.normal(0, 4, (h, w)).astype(np.float32), (0, 0), 2.0)
    grey = grey + texture
    if style.uneven_light:
        grey = camera.fixed_light_ramp(grey, rng, style.uneven_light)
    if style.shadow:
        mask = np.zeros((h, w), np.float32)
        pts = np.array(
            [[rng.uniform(0, w), 0], [rng.uniform(0, w), h], [w, h], [w, 0]], np.int32
        )
        cv2.fillPoly(mask, [pts], 1.0)
        mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), rng.uniform(5, 25)), np.float32)
        grey = grey * (1.0 - rng.uniform(0.2, 0.4) * mask)
    tint = np.array([rng.uniform(0.85, 1.0), rng.uniform(0.9, 1.0), 1.0], np.float32)
    bgr = np.clip(grey[..., None] * tint, 0, 255).astype(np.float32)
    if style.rotation or style.perspective:
        angle = rng.uniform(-style.rotation, style.rotation)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        rotated = cv2.transform(src[None], rot)[0]
        jitter = rng.uniform(-style.perspective, style.perspective, (4, 2)) * [w, h]
        persp = cv2.getPerspectiveTransform(src, (rotated + jitter).astype(np.float32))
        bgr = cv2.warpPerspective(bgr, persp, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if style.blur:
        bgr = camera.blur(bgr, rng, style.blur)
    if style.noise:
        bgr = camera.sensor_noise(bgr, rng, style.noise, 0.5)
    out = camera.to_u8(bgr)
    if style.jpeg:
        out = camera.jpeg(out, rng, 50, 95)
    return out


def make_scene(
    images: U8,
    labels: npt.NDArray[np.uint8],
    n_digits: int,
    rng: np.random.Generator,
    style: SceneStyle | None = None,
) -> Scene:
    """A photo of ``n_digits`` real digits picked at random from ``images``/``labels``."""
    style = style or SceneStyle()
    idx = rng.choice(len(images), n_digits, replace=False)
    ink, boxes = ink_layer([images[i] for i in idx], style, rng)
    return Scene(photograph_scene(ink, style, rng), "".join(str(labels[i]) for i in idx), boxes)
