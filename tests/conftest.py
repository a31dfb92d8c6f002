"""Shared fixtures: the committed real-MNIST sample and the shipped model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
MNIST_SAMPLE = ROOT / "tests" / "data" / "mnist-sample"
SHIPPED_MODEL = ROOT / "models" / "digits.tflite"


@pytest.fixture(scope="session")
def mnist_sample_dir() -> Path:
    return MNIST_SAMPLE


@pytest.fixture(scope="session")
def mnist_test() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """1,000 real MNIST test digits (random, committed) and their labels."""
    from digitd.train.idx import load_mnist_dir

    return load_mnist_dir(MNIST_SAMPLE, "test")
