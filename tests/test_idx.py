"""IDX parsing: the real sample reads right, and every kind of bad file names itself."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from digitd.train.common.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MNIST_FILES,
    IdxError,
    load_mnist_dir,
    read_images,
    read_labels,
)


def _write(path: Path, payload: bytes, gz: bool = True) -> Path:
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _idx(magic: int, dims: tuple[int, ...], data: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + data


def test_sample_reads_as_mnist(mnist_sample_dir: Path) -> None:
    images, labels = load_mnist_dir(mnist_sample_dir, "test")
    assert images.shape == (1000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1000,) and set(np.unique(labels)) == set(range(10))
    # Real MNIST digits: black background, white ink, average ink around 13 % of 255.
    assert images[:, 0, :].max() == 0
    assert 25 < images.mean() < 40


def test_uncompressed_files_are_read(tmp_path: Path, mnist_sample_dir: Path) -> None:
    for key in ("test_images", "test_labels"):
        with gzip.open(mnist_sample_dir / MNIST_FILES[key]) as src:
            (tmp_path / MNIST_FILES[key].removesuffix(".gz")).write_bytes(src.read())
    images, labels = load_mnist_dir(tmp_path, "test")
    assert len(images) == len(labels) == 1000


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match=r"t10k-images-idx3-ubyte\.gz: file not found"):
        load_mnist_dir(tmp_path, "test")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(IdxError, match="MNIST folder not found"):
        load_mnist_dir(tmp_path / "nope", "test")


def test_truncated_gzip(tmp_path: Path, mnist_sample_dir: Path) -> None:
    good = (mnist_sample_dir / MNIST_FILES["test_images"]).read_bytes()
    bad = tmp_path / "images.gz"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(IdxError, match=r"images\.gz: gzip data is truncated or corrupt"):
        read_images(bad)


def test_corrupt_gzip(tmp_path: Path, mnist_sample_dir: Path) -> None:
    data = bytearray((mnist_sample_dir / MNIST_FILES["test_images"]).read_bytes())
    data[100:140] = b"\x00" * 40
    bad = tmp_path / "images.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(IdxError, match="truncated or corrupt"):
        read_images(bad)


def test_truncated_data(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.gz", _idx(IMAGES_MAGIC, (3, 28, 28), b"\x00" * (2 * 784)))
    with pytest.raises(IdxError, match=r"truncated: header says 3x28x28 = 2352 bytes"):
        read_images(path)


def test_trailing_data(tmp_path: Path) -> None:
    path = _write(tmp_path / "y", _idx(LABELS_MAGIC, (2,), b"\x01\x02\x03"), gz=False)
    with pytest.raises(IdxError, match="has trailing data"):
        read_labels(path)


def test_wrong_magic_says_which_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "labels-as-images.gz", _idx(LABELS_MAGIC, (2,), b"\x01\x02"))
    with pytest.raises(IdxError, match=r"labels-as-images.gz: magic number 0x00000801"):
        read_images(path)


def test_short_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "tiny", b"\x00\x00", gz=False)
    with pytest.raises(IdxError, match="too short"):
        read_labels(path)


def test_labels_out_of_range(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.gz", _idx(LABELS_MAGIC, (2,), b"\x01\x0c"))
    with pytest.raises(IdxError, match="label 12"):
        read_labels(path)


def test_wrong_image_size(tmp_path: Path) -> None:
    path = _write(tmp_path / "i.gz", _idx(IMAGES_MAGIC, (1, 32, 32), b"\x00" * 1024))
    with pytest.raises(IdxError, match="expected 28x28"):
        read_images(path)


def test_mismatched_pair(tmp_path: Path, mnist_sample_dir: Path) -> None:
    for key in ("test_images", "test_labels"):
        shutil.copy(mnist_sample_dir / MNIST_FILES[key], tmp_path / MNIST_FILES[key])
    # Train labels (800) next to test images (1000): the pair does not belong together.
    shutil.copy(
        mnist_sample_dir / MNIST_FILES["train_labels"], tmp_path / MNIST_FILES["test_labels"]
    )
    with pytest.raises(IdxError, match=r"1000 images but .* has 800 labels"):
        load_mnist_dir(tmp_path, "test")
