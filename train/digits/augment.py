"""Make MNIST digits look like camera crops, then normalise them the way the device does.

A located digit on the device is a loose box cut from a photo: any size, a little
rotated or sheared, blurred, noisy, JPEG-compressed, unevenly lit, dark ink on
paper or light segments on a dark display. :func:`render_crop` turns a 28x28
MNIST digit into such a crop; :func:`camera_digit` then runs the device's own
:func:`~digitd.edge.vision.normalise.normalise_digit` on it, so the network trains on
exactly what the device will feed it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ...edge.vision.normalise import normalise_digit
from ..common import camera

Float = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def _affine(ink: Float, rng: np.random.Generator, height: float, max_rot: float) -> Float:
    """Scale the 28x28 ink so its 20-pixel box becomes ``height`` px; rotate and shear a little."""
    import cv2

    scale = height / 20.0
    angle = math.radians(rng.uniform(-max_rot, max_rot))
    shear = rng.uniform(-0.15, 0.15)
    aspect = rng.uniform(0.85, 1.15)
    cos, sin = math.cos(angle), math.sin(angle)
    lin = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    lin = lin @ np.diag([scale * aspect, scale])
    size = math.ceil(28 * scale * 1.5) + 2
    centre_in = np.array([14.0, 14.0])
    centre_out = np.array([size / 2.0, size / 2.0])
    offset = centre_out - lin @ centre_in
    mat = np.hstack([lin, offset[:, None]]).astype(np.float32)
    warped = cv2.warpAffine(ink, mat, (size, size), flags=cv2.INTER_LINEAR)
    return np.asarray(warped, np.float32)


def _stroke(ink: Float, rng: np.random.Generator) -> Float:
    import cv2

    r = rng.random()
    kernel = np.ones((2, 2), np.uint8)
    if r < 0.2:
        return np.asarray(cv2.dilate(ink, kernel), np.float32)
    if r < 0.35:
        thinner = np.asarray(cv2.erode(ink, kernel), np.float32)
        if float(thinner.max()) > 0.5:
            return thinner
    return ink


def _loose_box(ink: Float, rng: np.random.Generator, height: float) -> Float:
    """Cut a box around the ink with uneven margins, as a digit locator would."""
    ys, xs = np.nonzero(ink > 0.15)
    if ys.size == 0:
        return ink
    pad = max(1.0, 0.3 * height)
    top = max(0, ys.min() - int(rng.uniform(0.05, 1.0) * pad))
    bottom = min(ink.shape[0], ys.max() + 1 + int(rng.uniform(0.05, 1.0) * pad))
    left = max(0, xs.min() - int(rng.uniform(0.05, 1.0) * pad))
    right = min(ink.shape[1], xs.max() + 1 + int(rng.uniform(0.05, 1.0) * pad))
    return ink[top:bottom, left:right]


def photograph(ink: Float, rng: np.random.Generator, light_on_dark: bool | None = None) -> U8:
    """Turn an ink map (0..1, any size) into a grey camera crop: paper, light, blur, noise, JPEG."""

    h, w = ink.shape
    if light_on_dark is None:
        light_on_dark = rng.random() < 0.3
    if light_on_dark:
        background = rng.uniform(0, 90)
        contrast = rng.uniform(60, 255 - background)
        img = background + contrast * ink
    else:
        background = rng.uniform(100, 250)
        contrast = rng.uniform(60, background)
        img = background - contrast * ink
    if rng.random() < 0.5:
        img = camera.light_ramp(img, rng, 0.3)
    if rng.random() < 0.5:
        img = camera.blur(img.astype(np.float32), rng, 0.025 * max(h, w) + 0.5).astype(np.float64)
    if rng.random() < 0.6:
        img = camera.sensor_noise(img, rng, 12.0)
    out = camera.to_u8(img)
    if rng.random() < 0.3:
        out = camera.jpeg(out, rng, 25, 90)
    return out


def render_crop(
    digit: U8, rng: np.random.Generator, light_on_dark: bool | None = None,
    border: float = 0.0,
) -> U8:
    """A camera-like grey crop of one 28x28 white-on-black MNIST digit; with probability
    ``border`` the crop also shows part of a grid cell's border."""
    height = rng.uniform(12, 60)
    ink = _stroke(digit.astype(np.float32) / 255.0, rng)
    ink = _affine(ink, rng, height, max_rot=10.0)
    ink = _loose_box(ink, rng, height)
    if border and rng.random() < border:
        from .pen import cell_border

        ink = cell_border(ink, rng)
    return photograph(ink, rng, light_on_dark)


def camera_digit(
    digit: U8, rng: np.random.Generator, label: int | None = None,
    kinds: tuple[str, ...] = (),
) -> U8:
    """A 28x28 training image: the digit photographed, then normalised by the device code.

    A photograph so bad that the digit lost most of its ink would teach the model
    to read noise, so such a draw is retried and, failing that, the clean digit used.
    """
    if label is not None and kinds:
        from .pen import pen_variant

        digit = pen_variant(digit, label, rng, kinds)
    border = 0.1 if "border" in kinds else 0.0
    clean_mass = float(digit.sum())
    for _ in range(4):
        out = normalise_digit(render_crop(digit, rng, border=border))
        if float(out.sum()) >= 0.5 * clean_mass:
            return out
    return digit


def camera_batch(
    images: U8, seed: int, labels: npt.NDArray[np.uint8] | None = None,
    kinds: tuple[str, ...] = (),
) -> U8:
    """:func:`camera_digit` over a stack of digits, reproducibly from ``seed``.

    With ``labels`` and ``kinds`` (names from :data:`digitd.train.digits.pen.KINDS`) the
    digits are also drawn as people's pens draw them
    (:func:`digitd.train.digits.pen.pen_variant`) and, with ``"border"``, some crops show a
    cell border.
    """
    rng = np.random.default_rng(seed)
    if not len(images):
        return images
    if labels is None:
        return np.stack([camera_digit(d, rng) for d in images])
    return np.stack(
        [camera_digit(d, rng, int(y), kinds) for d, y in zip(images, labels, strict=True)]
    )
