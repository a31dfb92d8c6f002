"""A real, tiny run of the workstation half: train -> convert -> evaluate, and the gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.model_card import read_card

pytestmark = pytest.mark.slow

Digits = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def _recipe(path: Path, **settings: object) -> str:
    """A recipe file (``digitd train --recipe``) with these settings of a digit model."""
    lines = ['kind = "digit"'] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _digitd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", *args],
        capture_output=True, text=True, timeout=600,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist_sample_dir: Path) -> Path:
    """800 real training digits, a few epochs, through the real command line."""
    out = tmp_path_factory.mktemp("run")
    proc = _digitd(
        "train", "--mnist-dir", str(mnist_sample_dir),
        "--epochs", "10", "--seed", "3", "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "float accuracy" in proc.stdout
    return out


@pytest.fixture(scope="module")
def converted(trained: Path, mnist_sample_dir: Path) -> Path:
    model = trained / "digits.tflite"
    # Ten epochs on 800 digits leave many test digits near a decision boundary, so
    # int8 moves three or four of 1,000 either way from run to run: the gate gets
    # room here; its refusal is tested on a damaged model below.
    proc = _digitd(
        "convert", str(trained / "model.keras"), "--out", str(model),
        "--mnist-dir", str(mnist_sample_dir), "--representative", "200", "--max-drop", "1.0",
    )
    assert proc.returncode == 0, proc.stderr
    return model


def test_training_writes_model_and_report(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["settings"]["seed"] == 3 and metrics["settings"]["epochs"] == 10
    assert metrics["train_mnist_digits"] == 800
    assert len(metrics["history"]["loss"]) == 10
    # Ten short epochs on 800 digits already learn far more than chance (10 %).
    assert metrics["float_accuracy_mnist_test"] > 0.8
    assert (trained / "training_curves.png").stat().st_size > 1000
    assert (trained / "model.keras").exists()


def test_fine_tuning_starts_from_the_trained_model(trained: Path, tmp_path: Path,
                                                   mnist_sample_dir: Path) -> None:
    out = tmp_path / "tuned"
    proc = _digitd(
        "train", "--init", str(trained / "model.keras"), "--mnist-dir", str(mnist_sample_dir),
        "--recipe", _recipe(tmp_path / "tune.toml", learning_rate=3e-4),
        "--epochs", "1", "--seed", "3", "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    before = json.loads((trained / "metrics.json").read_text())
    after = json.loads((out / "metrics.json").read_text())
    assert after["settings"]["init"] == str(trained / "model.keras")
    # One gentle epoch from trained weights stays near them; from random weights
    # one epoch on 800 digits lands far lower.
    assert after["float_accuracy_mnist_test"] >= before["float_accuracy_mnist_test"] - 0.03
    wrong = _digitd("train", "--recipe", _recipe(tmp_path / "seed.toml", arch="seed"),
                    "--init", str(trained / "model.keras"),
                    "--mnist-dir", str(mnist_sample_dir), "--epochs", "1", "--out", str(out))
    assert wrong.returncode != 0
    assert "expected 'seed'" in wrong.stderr and 'arch = "edge"' in wrong.stderr


def test_conversion_is_full_int8_with_card(converted: Path) -> None:
    card = read_card(converted)
    assert card["input"]["dtype"] == "int8"
    assert card["input"]["zero_point"] == -128
    assert card["input"]["scale"] == pytest.approx(1 / 255, rel=1e-3)
    assert card["labels"][-1] == "not_a_digit" and len(card["labels"]) == 11
    assert card["accuracy"]["n"] == 1000
    assert card["accuracy"]["float"] - card["accuracy"]["int8"] <= 0.01
    assert card["accuracy"]["gate_max_drop_points"] == 1.0
    assert card["training"]["settings"]["arch"] == "edge"
    clf = Classifier(converted)
    assert clf._in["dtype"] == np.int8 and clf._out["dtype"] == np.int8


def test_int8_agrees_with_float_on_real_digits(trained: Path, converted: Path,
                                               mnist_test: Digits) -> None:
    import keras

    images, _ = mnist_test
    float_model = keras.models.load_model(trained / "model.keras", compile=False)
    float_pred = float_model.predict(images[..., None] / 255.0, verbose=0).argmax(axis=1)
    int8_pred = Classifier(converted).probabilities(images).argmax(axis=1)
    assert (float_pred == int8_pred).mean() >= 0.97


def test_evaluate_round_trip(converted: Path, mnist_sample_dir: Path, tmp_path: Path) -> None:
    proc = _digitd(
        "evaluate", "--model", str(converted), "--mnist-dir", str(mnist_sample_dir),
        "--json", "--report-dir", str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 1000
    assert result["accuracy"] == pytest.approx(read_card(converted)["accuracy"]["int8"], abs=1e-6)
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
    assert (tmp_path / "errors.png").stat().st_size > 100
    cm = np.array(json.loads((tmp_path / "evaluation.json").read_text())["confusion_matrix"])
    assert cm.sum() == 1000 and np.trace(cm) == round(result["accuracy"] * 1000)


def test_gate_refuses_a_model_damaged_for_quantisation(trained: Path, tmp_path: Path,
                                                       mnist_sample_dir: Path) -> None:
    """One huge, unused activation channel: float is unchanged, int8 loses all resolution."""
    import keras

    model = keras.models.load_model(trained / "model.keras", compile=False)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    gamma, beta, mean, var = bns[1].get_weights()
    beta[0] = 1e5
    bns[1].set_weights([gamma, beta, mean, var])
    (kernel,) = convs[2].get_weights()
    kernel[:, :, 0, :] = 0.0  # the next layer ignores the huge channel: float output unchanged
    convs[2].set_weights([kernel])
    damaged = tmp_path / "damaged.keras"
    model.save(damaged)
    out = tmp_path / "damaged.tflite"
    proc = _digitd(
        "convert", str(damaged), "--out", str(out), "--mnist-dir", str(mnist_sample_dir),
        "--representative", "100",
    )
    assert proc.returncode == 1
    assert "refused" in proc.stderr and "points below the float model" in proc.stderr
    assert not out.exists()


def test_bad_model_file_is_a_clear_error(tmp_path: Path, mnist_sample_dir: Path) -> None:
    fake = tmp_path / "fake.tflite"
    fake.write_text("not a model")
    proc = _digitd("evaluate", "--model", str(fake), "--mnist-dir", str(mnist_sample_dir))
    assert proc.returncode == 1
    assert "not a TFLite model" in proc.stderr and "Traceback" not in proc.stderr


def test_unconvert_gives_back_a_trainable_model_of_the_shipped_one(
    tmp_path: Path, mnist_test: Digits, mnist_sample_dir: Path
) -> None:
    """The shipped int8 model back as Keras (its .keras file is gone): it reads the real
    digits as the int8 model does, and ``train --init`` fine-tunes it."""
    import keras

    out = tmp_path / "shipped" / "model.keras"
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.train.digits.unconvert", "models/digits.tflite",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    images, labels = mnist_test
    model = keras.models.load_model(out, compile=False)
    float_pred = model.predict(images[..., None] / 255.0, verbose=0).argmax(axis=1)
    int8_pred = Classifier().probabilities(images).argmax(axis=1)
    assert (float_pred == int8_pred).mean() >= 0.995
    assert (float_pred == labels).mean() >= 0.99
    # Folded normalisation stays frozen: batch statistics would undo the folded weights.
    norms = [la for la in model.layers if la.__class__.__name__ == "BatchNormalization"]
    assert len(norms) == 6 and not any(la.trainable for la in norms)
    tuned = tmp_path / "tuned"
    proc = _digitd("train", "--init", str(out), "--mnist-dir", str(mnist_sample_dir),
                   "--recipe", _recipe(tmp_path / "tune.toml", learning_rate=1e-4),
                   "--epochs", "1", "--out", str(tuned))
    assert proc.returncode == 0, proc.stderr
    after = json.loads((tuned / "metrics.json").read_text())
    assert after["float_accuracy_mnist_test"] >= 0.98


def test_unconvert_refuses_a_model_of_another_shape(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.train.digits.unconvert", "models/meter.tflite",
         "--out", str(tmp_path / "m.keras")],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode != 0
    assert "not a converted 'edge' digit model" in proc.stderr
    assert not (tmp_path / "m.keras").exists()
