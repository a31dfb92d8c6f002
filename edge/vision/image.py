"""Bring any image array OpenCV can produce to 8-bit grey, the one form the pipeline works on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import DigitdError

Gray = npt.NDArray[np.uint8]


class ImageError(DigitdError, ValueError):
    """An image that cannot be read as a picture of digits (empty, wrong shape, wrong type)."""


def to_uint8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Scale any numeric dtype to uint8 without clipping away the picture."""
    if image.dtype == np.uint8:
        return np.asarray(image, np.uint8)
    if image.dtype == np.bool_:
        return np.asarray(image, np.uint8) * np.uint8(255)
    if image.dtype == np.uint16:
        return (np.asarray(image, np.uint16) >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        data = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        # Floats in [0, 1] are the usual convention; anything else is stretched to fit.
        lo, hi = float(data.min()), float(data.max())
        if lo >= 0.0 and hi <= 1.0:
            return np.round(data * 255.0).astype(np.uint8)
        if hi - lo < 1e-12:
            return np.zeros(data.shape, np.uint8)
        return np.round((data - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        data64 = image.astype(np.int64)
        lo, hi = int(data64.min()), int(data64.max())
        if lo >= 0 and hi <= 255:
            return data64.astype(np.uint8)
        if hi == lo:
            return np.zeros(image.shape, np.uint8)
        return ((data64 - lo) * 255 // (hi - lo)).astype(np.uint8)
    raise ImageError(f"unsupported pixel type {image.dtype}; expected an integer or float image")


def to_gray(image: npt.NDArray[np.generic]) -> Gray:
    """Return a 2-D uint8 grey image from grey, BGR or BGRA input of any numeric dtype.

    Transparent pixels of a BGRA image are composited onto white, as a viewer would
    show them, so a digit drawn on a transparent background stays visible.
    """
    import cv2

    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageError(
            f"image has shape {image.shape}; expected HxW grey, HxWx3 BGR or HxWx4 BGRA"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError(f"image is empty (shape {image.shape})")
    img8 = to_uint8(image)
    if img8.ndim == 2:
        return np.ascontiguousarray(img8)
    if img8.shape[2] == 4:
        alpha = img8[:, :, 3:4].astype(np.float32) / 255.0
        rgb = img8[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        img8 = np.round(rgb).astype(np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(img8), cv2.COLOR_BGR2GRAY), np.uint8)
