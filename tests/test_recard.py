"""``python -m digitd.convert.recard``: a digit model carried over to this preprocessing
version without retraining, the card saying so and nothing else changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.model_card import ModelError, card_path, sha256_of
from digitd.edge.vision.normalise import PREPROCESSING_VERSION

ROOT = Path(__file__).resolve().parents[1]


def _old_model(tmp_path: Path, name: str = "digits") -> Path:
    """The shipped digit model with its card as a model made for the previous version."""
    model = tmp_path / f"{name}.tflite"
    shutil.copy(ROOT / "models" / "digits.tflite", model)
    card = json.loads((ROOT / "models" / "digits.card.json").read_text())
    card["preprocessing"] = {"version": PREPROCESSING_VERSION - 1, "description": "older"}
    card_path(model).write_text(json.dumps(card))
    return model


def _recard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitd.convert.recard", *args],
                          capture_output=True, text=True, timeout=120)


def test_a_carried_over_model_loads_and_its_card_keeps_its_training(tmp_path: Path) -> None:
    model = _old_model(tmp_path)
    before = json.loads(card_path(model).read_text())
    with pytest.raises(ModelError, match="preprocessing version") as refused:
        Classifier(model)
    assert "digitd.convert.recard" in str(refused.value)  # the message names the way out
    digest = sha256_of(model)
    done = _recard(str(model), "--reason", "measured: figures in the README")
    assert done.returncode == 0, done.stderr
    assert f"{PREPROCESSING_VERSION - 1} -> {PREPROCESSING_VERSION}" in done.stdout
    after = json.loads(card_path(model).read_text())
    assert after["preprocessing"]["version"] == PREPROCESSING_VERSION
    carried = after["preprocessing"]["carried_over"]
    assert carried["from_version"] == PREPROCESSING_VERSION - 1
    assert carried["reason"] == "measured: figures in the README"
    # Only the preprocessing section moved: the training record and the file stay.
    assert {k: v for k, v in after.items() if k != "preprocessing"} == {
        k: v for k, v in before.items() if k != "preprocessing"
    }
    assert sha256_of(model) == digest
    Classifier(model)  # now accepted


@pytest.mark.parametrize("fault", ["another file", "current", "meter", "no reason"])
def test_what_cannot_be_carried_over_is_refused_by_name(tmp_path: Path, fault: str) -> None:
    model = _old_model(tmp_path)
    card = json.loads(card_path(model).read_text())
    reason, expect = "measured", ""
    if fault == "another file":
        card["sha256"] = "0" * 64
        expect = "another file"
    elif fault == "current":
        card["preprocessing"]["version"] = PREPROCESSING_VERSION
        expect = "already made for preprocessing version"
    elif fault == "meter":
        card["kind"] = "window"
        expect = "only digit models"
    else:
        reason, expect = "  ", "--reason"
    card_path(model).write_text(json.dumps(card))
    written = card_path(model).read_text()
    done = _recard(str(model), "--reason", reason)
    assert done.returncode == 2
    assert expect in done.stderr
    assert card_path(model).read_text() == written  # nothing written


def test_the_shipped_card_says_what_its_weights_were_trained_with() -> None:
    card = json.loads((ROOT / "models" / "digits.card.json").read_text())
    carried = card["preprocessing"].get("carried_over")
    if carried is None:  # a model trained with this version: nothing carried over
        assert card["training"]["preprocessing_version"] == PREPROCESSING_VERSION
    else:
        assert card["training"]["preprocessing_version"] == carried["from_version"]
        assert card["preprocessing"]["version"] == PREPROCESSING_VERSION
