"""Read the IDX files MNIST ships in (optionally gzipped), with errors that name the file.

IDX: a big-endian header (two zero bytes, a type code, the number of dimensions,
then one uint32 per dimension) followed by the data. MNIST uses type 0x08 (uint8):
magic 0x00000803 for images (count, rows, cols) and 0x00000801 for labels (count).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class IdxError(ValueError):
    """An IDX file that is missing, truncated, corrupt or not what was expected."""


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise IdxError(f"{path}: file not found")
    if not path.is_file():
        raise IdxError(f"{path}: not a regular file")
    with path.open("rb") as fh:
        head = fh.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                return gz.read()
        return path.read_bytes()
    except (EOFError, OSError, zlib.error) as exc:
        raise IdxError(
            f"{path}: gzip data is truncated or corrupt ({exc}); download the file again"
        ) from exc


def read_idx(path: str | Path, expected_magic: int) -> npt.NDArray[np.uint8]:
    """Read one uint8 IDX file and return its array, checking header and size."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 8:
        raise IdxError(f"{path}: only {len(data)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
        raise IdxError(
            f"{path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"for an IDX {kind} file; is this the right file?"
        )
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxError(f"{path}: header truncated ({len(data)} of {header_len} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing data"
        raise IdxError(
            f"{path}: {what}: header says {'x'.join(map(str, dims))} = {expected} bytes "
            f"of data, file has {actual}"
        )
    return np.frombuffer(data, np.uint8, offset=header_len).reshape(dims)


def read_images(path: str | Path) -> npt.NDArray[np.uint8]:
    images = read_idx(path, IMAGES_MAGIC)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{path}: images are {images.shape[1:]}, expected 28x28")
    return images


def read_labels(path: str | Path) -> npt.NDArray[np.uint8]:
    labels = read_idx(path, LABELS_MAGIC)
    if labels.size and int(labels.max()) > 9:
        raise IdxError(f"{path}: label {int(labels.max())} found, MNIST labels are 0-9")
    return labels


def load_split(
    images_path: str | Path, labels_path: str | Path
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Read a matching pair of image and label files."""
    images = read_images(images_path)
    labels = read_labels(labels_path)
    if len(images) != len(labels):
        raise IdxError(
            f"{images_path} has {len(images)} images but {labels_path} has "
            f"{len(labels)} labels; the files do not belong together"
        )
    return images, labels


def load_mnist_dir(
    directory: str | Path, split: str = "test"
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Load the ``train`` or ``test`` split from a folder holding the four standard files.

    Files may also be present uncompressed (without ``.gz``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise IdxError(f"{directory}: MNIST folder not found (expected the four IDX files)")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")

    def locate(key: str) -> Path:
        gz = directory / MNIST_FILES[key]
        plain = gz.with_suffix("")
        if gz.exists() or not plain.exists():
            return gz
        return plain

    return load_split(locate(f"{split}_images"), locate(f"{split}_labels"))
