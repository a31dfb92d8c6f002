"""Where training digits come from: MNIST on disk (or Keras' download) and labelled folders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ...edge.vision.labels import LABELS, NOT_A_DIGIT
from ...edge.vision.normalise import normalise_digit
from .idx import load_mnist_dir

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


@dataclass(frozen=True)
class Split:
    """28x28 uint8 white-on-black images and their class indices (0-9, 10 = not a digit)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, n: int, seed: int = 0) -> Split:
        """A stratified-enough random subset of ``n`` examples (all of them if fewer)."""
        if n >= len(self):
            return self
        idx = np.random.default_rng(seed).permutation(len(self))[:n]
        return Split(self.images[idx], self.labels[idx])


def load_mnist(mnist_dir: str | Path | None) -> tuple[Split, Split]:
    """Train and test splits from a folder of the four IDX files, else from the cache of
    ``digitd fetch-mnist``, else from Keras (downloads)."""
    if mnist_dir is None:
        from .fetch import cached_mnist

        mnist_dir = cached_mnist()  # what 'digitd fetch-mnist' put there, if anything
    if mnist_dir is not None:
        train = load_mnist_dir(mnist_dir, "train")
        test = load_mnist_dir(mnist_dir, "test")
        logger.info("MNIST from %s: %d train, %d test", mnist_dir, len(train[0]), len(test[0]))
        return Split(*train), Split(*test)
    import keras

    logger.info("MNIST from keras.datasets.mnist (downloads on first use)")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return (
        Split(x_train.astype(np.uint8), y_train.astype(np.uint8)),
        Split(x_test.astype(np.uint8), y_test.astype(np.uint8)),
    )


def _class_of(folder_name: str) -> int | None:
    name = folder_name.strip().lower()
    if name.isdigit() and int(name) <= 9:
        return int(name)
    if name in {LABELS[NOT_A_DIGIT], "not_a_digit", "not-a-digit", "none", "reject"}:
        return NOT_A_DIGIT
    return None


def load_image_folder(root: str | Path) -> Split:
    """Labelled digit crops from ``root/<class>/*.png``: classes ``0``-``9`` and ``not_a_digit``.

    Each crop goes through the same normalisation the device uses, so a user's own
    meter crops (cut from ``digitd snapshot`` images) train exactly what the device sees.
    """
    import cv2

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: image folder not found")
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    unknown: list[str] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        cls = _class_of(sub.name)
        if cls is None:
            unknown.append(sub.name)
            continue
        for file in sorted(sub.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            img = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            if img is None or img.size == 0:
                logger.warning("%s: not a readable image, skipped", file)
                continue
            images.append(normalise_digit(img))
            labels.append(cls)
    if unknown:
        raise ValueError(
            f"{root}: folders {unknown} are not classes; name them 0-9 or not_a_digit"
        )
    if not images:
        raise ValueError(f"{root}: no images found in class folders 0-9 / not_a_digit")
    logger.info("%d labelled crops from %s", len(images), root)
    return Split(np.stack(images), np.asarray(labels, np.uint8))


def concat(*splits: Split) -> Split:
    return Split(
        np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits])
    )
