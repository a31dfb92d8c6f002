"""A user's own labelled meter crops: ``DIR/<position>/*.png`` for meter-window fine-tuning.

Folder names are wheel positions: ``3`` or ``3.0`` (a centred 3), ``3.5`` (half-way
to 4), and ``not_a_digit`` for empty or broken cells. ``digitd run`` with
``[daemon] collect_dir`` saves crops it doubted; sort them into such folders and
train with ``digitd train --kind window --init models/meter.keras --images DIR``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..common.data import IMAGE_SUFFIXES
from .data import NOT_A_DIGIT_POSITION, WindowSet

logger = logging.getLogger(__name__)

NOT_A_DIGIT_NAMES = {"not_a_digit", "not-a-digit", "none", "blank", "reject"}


def position_of_folder(name: str) -> float | None:
    """The wheel position a folder name stands for, -1 for "not a digit", None if neither."""
    name = name.strip().lower()
    if name in NOT_A_DIGIT_NAMES:
        return NOT_A_DIGIT_POSITION
    try:
        value = float(name)
    except ValueError:
        return None
    if not 0.0 <= value < 10.0 or round(value, 1) != value:
        return None
    return value


def load_window_folder(root: str | Path) -> WindowSet:
    import cv2

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: image folder not found")
    crops: list[npt.NDArray[np.uint8]] = []
    positions: list[float] = []
    unknown: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        position = position_of_folder(sub.name)
        if position is None:
            unknown.append(sub.name)
            continue
        for file in sorted(sub.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None or image.size == 0:
                logger.warning("%s: not a readable image, skipped", file)
                continue
            crops.append(np.asarray(image, np.uint8))
            positions.append(position)
    if unknown:
        raise ValueError(
            f"{root}: folders {unknown} are not wheel positions; name them like 3, 3.5 or "
            "not_a_digit"
        )
    if not crops:
        raise ValueError(f"{root}: no images found in position folders (3, 3.5, not_a_digit)")
    logger.info("%d labelled meter crops from %s", len(crops), root)
    return WindowSet(crops, np.array(positions, np.float32), ("user",) * len(crops))
