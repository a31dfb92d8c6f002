"""Rebuild tests/data/mnist-sample/ from the full MNIST (how the committed fixture was made).

    python tests/data/make_mnist_sample.py ../shared/data/mnist

800 training digits and 1,000 test digits, drawn at random (seed 2026) from the
official files and written back in the same IDX format, so the sample is a
drop-in --mnist-dir for quick runs and tests.
"""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np

from digitd.train.common.idx import MNIST_FILES, load_mnist_dir

HERE = Path(__file__).parent / "mnist-sample"
SIZES = {"train": 800, "test": 1000}


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    # mtime=0 keeps the bytes reproducible from run to run.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(header + array.astype(np.uint8).tobytes())


def main(source: str) -> None:
    HERE.mkdir(exist_ok=True)
    rng = np.random.default_rng(2026)
    for split, n in SIZES.items():
        images, labels = load_mnist_dir(source, split)
        idx = np.sort(rng.choice(len(labels), n, replace=False))
        write_idx(HERE / MNIST_FILES[f"{split}_images"], images[idx], 0x803)
        write_idx(HERE / MNIST_FILES[f"{split}_labels"], labels[idx], 0x801)
        print(split, n, np.bincount(labels[idx], minlength=10))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist")
