"""The model in models/: what the device uses when no model is configured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.labels import LABELS
from digitd.edge.vision.model_card import read_card
from digitd.edge.vision.normalise import PREPROCESSING_VERSION
from tests.conftest import SHIPPED_MODEL


def test_shipped_model_reads_the_committed_mnist_sample(mnist_sample_dir: Path) -> None:
    """1,000 real MNIST test digits through `digitd evaluate` with the default model."""
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", "evaluate", "--json",
         "--mnist-dir", str(mnist_sample_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 1000
    assert result["accuracy"] >= 0.99, result


def test_shipped_model_is_the_default_and_fits_the_device() -> None:
    clf = Classifier()  # no path: the shipped model, its card checked on load
    assert clf.model_path.resolve() == SHIPPED_MODEL.resolve()
    assert SHIPPED_MODEL.stat().st_size <= 100_000
    card = read_card(SHIPPED_MODEL)
    assert card["labels"] == list(LABELS)
    assert card["preprocessing"]["version"] == PREPROCESSING_VERSION
    assert card["input"]["dtype"] == "int8" and card["output"]["dtype"] == "int8"
    assert card["accuracy"]["n"] == 10000  # measured on the full MNIST test split
    # The budget: int8 within 0.1 point of the float model it came from.
    assert card["accuracy"]["float"] - card["accuracy"]["int8"] <= 0.001
