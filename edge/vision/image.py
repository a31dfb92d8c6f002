"""Bring any image array OpenCV can produce to 8-bit grey, the one form the pipeline works on;
and read an image file as a camera would see it."""

from __future__ import annotations

import os
from pathlib import Path

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


def load_image(path: str | Path) -> npt.NDArray[np.generic]:
    """Read an image as a camera would see it: EXIF orientation applied, alpha and depth kept."""
    import cv2

    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: file not found")
    if not path.is_file():
        raise ImageError(f"{path}: not a file")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise ImageError(f"{path}: the file is empty")
    try:
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # OpenCV refuses (e.g. more pixels than it may decode)
        limit = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
        raise ImageError(
            f"{path}: OpenCV refuses to decode it ({str(exc).strip().splitlines()[-1]}); "
            f"a picture may have at most {limit} pixels (OPENCV_IO_MAX_IMAGE_PIXELS)"
        ) from None
    if raw is None:
        raise ImageError(f"{path}: not an image OpenCV can read (PNG, JPEG, BMP, TIFF, WebP...)")
    image = np.asarray(raw)
    # IMREAD_UNCHANGED keeps alpha and 16 bits but ignores EXIF orientation; a plain
    # 8-bit photo (a phone JPEG) is decoded again so that its rotation is applied.
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] == 3):
        try:
            oriented = cv2.imdecode(data, cv2.IMREAD_COLOR)
        except cv2.error:
            oriented = None
        if oriented is not None:
            image = np.asarray(oriented)
    if min(image.shape[:2]) < 2:
        size = f"{image.shape[1]}x{image.shape[0]}"
        raise ImageError(f"{path}: the image is {size} pixels, too small to hold a digit")
    return image
