"""The camera every generator photographs with: light across the picture, blur, a
low-resolution sensor, noise, JPEG.

Each effect takes its strength and draws its own randomness from the generator it is
given, in a fixed order; the generators (:func:`digitd.train.digits.augment.photograph` for
single digits, :func:`digitd.train.common.meter_render.shoot` for meter crops,
:func:`digitd.train.common.scenes.photograph_scene` for whole frames) decide which effects a
picture gets and how strong, so all of them simulate the same camera.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Img = npt.NDArray[np.floating]
U8 = npt.NDArray[np.uint8]


def light_ramp(img: Img, rng: np.random.Generator, strength: float) -> Img:
    """Uneven light: brightness changing linearly across the picture in a random
    direction, by a random amount up to ``strength`` (a fraction) at the far side."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (xx * math.cos(theta) + yy * math.sin(theta)) / max(h, w)
    return img * (1.0 + rng.uniform(-strength, strength) * ramp)


def fixed_light_ramp(img: Img, rng: np.random.Generator, strength: float) -> Img:
    """As :func:`light_ramp` centred on the picture, with exactly ``strength``."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - w / 2) * math.cos(theta) + (yy - h / 2) * math.sin(theta)) / max(h, w)
    return img * (1.0 + strength * ramp)


def blur(img: npt.NDArray[np.float32], rng: np.random.Generator, largest: float,
         smallest: float = 0.3) -> npt.NDArray[np.float32]:
    """Focus and motion: a Gaussian of a random sigma up to ``largest`` pixels."""
    import cv2

    return np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(smallest, largest)),
                      np.float32)


def low_resolution(img: npt.NDArray[np.float32], rng: np.random.Generator,
                   factor: tuple[float, float] = (2.0, 4.0), smallest: int = 2,
                   blocky: bool = True) -> npt.NDArray[np.float32]:
    """A low-resolution sensor, or a frame scaled down (by a random ``factor``) and back up;
    ``blocky``: sometimes scaled up without smoothing."""
    import cv2

    h, w = img.shape[:2]
    f = rng.uniform(*factor)
    small = cv2.resize(img, (max(smallest, round(w / f)), max(smallest, round(h / f))),
                       interpolation=cv2.INTER_AREA)
    interp = cv2.INTER_NEAREST if blocky and rng.random() < 0.3 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(small, (w, h), interpolation=interp), np.float32)


def sensor_noise(img: Img, rng: np.random.Generator, largest: float, smallest: float = 1.0,
                 dtype: type[np.floating] = np.float64) -> Img:
    """Grain: Gaussian noise of a random strength from ``smallest`` to ``largest`` grey levels."""
    return img + rng.normal(0, rng.uniform(smallest, largest), img.shape).astype(dtype)


def to_u8(img: Img) -> U8:
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def jpeg(image: U8, rng: np.random.Generator, worst: int, best: int) -> U8:
    """The picture as it comes back from a JPEG of a random quality in [worst, best)."""
    return jpeg_roundtrip(image, int(rng.integers(worst, best)))


def jpeg_roundtrip(image: U8, quality: int) -> U8:
    """The image as it comes back from a JPEG at ``quality`` (grey stays grey, BGR stays BGR)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    flag = cv2.IMREAD_GRAYSCALE if image.ndim == 2 else cv2.IMREAD_COLOR
    decoded = cv2.imdecode(buf, flag) if ok else None
    return image if decoded is None else np.asarray(decoded, np.uint8)
