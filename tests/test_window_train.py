"""A real, tiny run of the meter-window half: train on real crops -> convert -> evaluate,
fine-tuning on a user's labelled folder, and the errors a user meets on the way."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from digitd.edge.vision.classifier import WindowClassifier
from digitd.edge.vision.model_card import read_card
from digitd.train.wheels.folder import position_of_folder
from tests.meter_strips import METER_CROPS, SEVENSEG_CELLS, meter_crops

pytestmark = pytest.mark.slow


def _digitd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", *args],
        capture_output=True, text=True, timeout=600,
    )


def _recipe(path: Path, kind: str = "window", **settings: object) -> str:
    """A recipe file (``digitd train --recipe``) with these settings."""
    lines = [f"kind = {json.dumps(kind)}"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed real crops (128 from training meters), two short epochs."""
    out = tmp_path_factory.mktemp("window")
    recipe = _recipe(out.parent / "window-recipe.toml", copies=2, synthetic=300, dot_matrix=0.5)
    proc = _digitd(
        "train", "--recipe", recipe, "--meter-dir", str(METER_CROPS),
        "--sevenseg-dir", str(SEVENSEG_CELLS), "--epochs", "2", "--seed", "2", "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "meter-window model" in proc.stdout
    return out


def test_training_report_names_data_and_watches_the_dev_meters(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["kind"] == "window" and metrics["input"] == {"height": 32, "width": 20}
    train_crops = sum(1 for c in meter_crops() if c.split == "train")
    # Real training crops, the LCD cells' training part (4 of each class's 5), nothing of dev.
    assert metrics["train_real_crops"] == train_crops + 44
    assert len(metrics["dev_history"]) == 2
    assert {"near_whole_accuracy", "legible_refused", "median_position_error"} <= set(
        metrics["dev_history"][-1]
    )
    assert metrics["settings"]["dot_matrix"] == 0.5
    repos = {d["repository"] for d in metrics["datasets"]}
    assert repos == {"haverland/Tenth-of-step-of-a-meter-digit",
                     "Kazuhito00/7segment-display-reader"}


def test_convert_writes_an_int8_window_model_with_its_card(trained: Path) -> None:
    out = trained / "meter.tflite"
    proc = _digitd("convert", str(trained / "model.keras"), "--out", str(out),
                   "--meter-dir", str(METER_CROPS), "--max-drop", "100")
    assert proc.returncode == 0, proc.stderr
    card = read_card(out, kind="window")
    assert card["kind"] == "window" and card["input"]["shape"] == [1, 32, 20, 1]
    assert card["accuracy"]["int8"]["n"] == sum(1 for c in meter_crops() if c.split == "dev")
    assert len(card["labels"]) == 101 and card["labels"][35] == "3.5"
    clf = WindowClassifier(out)
    probs = clf.probabilities(np.zeros((3, 32, 20), np.uint8))
    assert probs.shape == (3, 101) and np.allclose(probs.sum(axis=1), 1.0, atol=0.05)
    # The gate refuses, and writes nothing, when int8 may not lose a single crop.
    refused = trained / "refused.tflite"
    proc = _digitd("convert", str(trained / "model.keras"), "--out", str(refused),
                   "--meter-dir", str(METER_CROPS), "--max-drop", "-100")
    assert proc.returncode == 1 and "refused" in proc.stderr
    assert not refused.exists()


def test_fine_tuning_on_a_users_labelled_crops(trained: Path, tmp_path: Path) -> None:
    """``--images DIR/<position>/`` with ``--init``: a user's own meter, no data sets needed."""
    labelled = tmp_path / "labelled"
    for c in meter_crops()[:40]:
        folder = labelled / f"{c.position:.1f}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(c.file, folder / c.file.name)
    out = tmp_path / "tuned"
    recipe = _recipe(tmp_path / "tune.toml", copies=1, synthetic=0, learning_rate=3e-4,
                     neighbour_share=0.5)
    proc = _digitd("train", "--recipe", recipe, "--init", str(trained / "model.keras"),
                   "--images", str(labelled), "--epochs", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_real_crops"] == 40 and metrics["datasets"] == []
    assert metrics["settings"]["neighbour_share"] == 0.5


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "labelled" / "three").mkdir(parents=True)
    proc = _digitd("train", "--kind", "window", "--images", str(tmp_path / "labelled"),
                   "--out", str(tmp_path / "x"))
    assert proc.returncode == 1
    assert "not wheel positions" in proc.stderr and "Traceback" not in proc.stderr
    proc = _digitd("train", "--kind", "window", "--meter-dir", str(tmp_path),
                   "--out", str(tmp_path / "y"))
    assert proc.returncode == 1 and "labels.csv" in proc.stderr
    proc = _digitd("train", "--recipe", _recipe(tmp_path / "n.toml", neighbour_share=1.5),
                   "--meter-dir", str(tmp_path), "--out", str(tmp_path / "z"))
    assert proc.returncode == 1 and "neighbour_share = 1.5" in proc.stderr
    assert "share from 0 to 1" in proc.stderr and "Traceback" not in proc.stderr
    proc = _digitd("train", "--recipe", _recipe(tmp_path / "d.toml", dot_matrix=-0.1),
                   "--meter-dir", str(tmp_path), "--out", str(tmp_path / "z"))
    assert proc.returncode == 1 and "dot_matrix = -0.1" in proc.stderr
    assert "share from 0 to 1" in proc.stderr and "Traceback" not in proc.stderr
    proc = _digitd("evaluate", "--model", "models/digits.tflite")
    assert proc.returncode == 1 and "--meter-dir" in proc.stderr


def test_folder_names_are_positions() -> None:
    assert position_of_folder("3") == 3.0
    assert position_of_folder("3.5") == 3.5
    assert position_of_folder("not_a_digit") == -1.0
    assert position_of_folder("10") is None
    assert position_of_folder("3.55") is None
    assert position_of_folder("three") is None


def test_a_neighbouring_cell_shows_beside_a_box_drawn_too_wide() -> None:
    """The evaluation's fault for boxes wider than their cell (wheels.evaluate; training does
    not use it): the crop stays whole, and the strip beside it is the neighbour's near
    edge (real crops of one meter)."""
    import cv2

    from digitd.train.wheels.data import side_neighbours

    crops = [c for c in meter_crops() if c.meter == "powermeter/Heliowatt"][:2]
    cell, other = (np.asarray(cv2.imread(str(c.file), cv2.IMREAD_COLOR), np.uint8)
                   for c in crops)
    h, w = cell.shape[:2]
    rng = np.random.default_rng(0)
    wide = side_neighbours(cell, other, None, rng)
    extra = wide.shape[1] - w
    assert wide.shape[0] == h and round(0.1 * w) <= extra <= round(0.35 * w)
    assert np.array_equal(wide[:, extra:], cell)
    scaled = cv2.resize(other, (round(other.shape[1] * h / other.shape[0]), h),
                        interpolation=cv2.INTER_AREA)
    assert np.array_equal(wide[:, :extra], scaled[:, scaled.shape[1] - extra :])
    # A grey neighbour beside a colour crop is made colour; the crop sits between the two.
    both = side_neighbours(cell, other, cv2.cvtColor(other, cv2.COLOR_BGR2GRAY), rng)
    assert both.ndim == 3 and both.shape[1] >= w + 2
    assert any(np.array_equal(both[:, left : left + w], cell)
               for left in range(1, both.shape[1] - w))


def _student(teacher: Path, labelled: Path, out: Path, weight: str) -> Path:
    """A short fine-tune of ``teacher`` on ``labelled`` that learns from ``teacher`` too."""
    recipe = _recipe(out.parent / f"student-{weight}.toml", teachers=[str(teacher)],
                     teacher_weight=float(weight), copies=1, synthetic=0, batch_size=8)
    proc = _digitd("train", "--recipe", recipe, "--init", str(teacher), "--images", str(labelled),
                   "--epochs", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_student_follows_its_teachers_where_the_labels_are_wrong(
    trained: Path, tmp_path: Path
) -> None:
    """``--teacher``: the targets blend the teachers' scores with the labels. Given crops
    all labelled 5.0, a student that only learns the labels (weight 0) says 5.0 for them;
    one that only learns the teacher (weight 1) keeps reading them as the teacher does."""
    import keras

    from digitd.train.wheels.data import load_meter_digits, window_examples

    crops = [c for c in meter_crops() if abs(c.position - 5.0) > 1.0][:40]
    wrong = tmp_path / "labelled" / "5.0"
    wrong.mkdir(parents=True)
    for c in crops:
        shutil.copy(c.file, wrong / c.file.name)
    teacher = trained / "model.keras"
    dev = load_meter_digits(str(METER_CROPS), "dev")
    x = window_examples(dev, None)[..., None].astype(np.float32) / 255.0

    def says(model_dir: Path) -> np.ndarray:
        model = keras.models.load_model(model_dir / "model.keras", compile=False)
        return np.asarray(model.predict(x, verbose=0)).argmax(axis=1)

    before = says(trained)
    labels_only = says(_student(teacher, tmp_path / "labelled", tmp_path / "w0", "0"))
    teacher_only_dir = _student(teacher, tmp_path / "labelled", tmp_path / "w1", "1")
    teacher_only = says(teacher_only_dir)
    assert np.mean(labels_only == 50) > 0.5  # learnt the wrong labels
    assert np.mean(teacher_only == 50) < 0.2
    assert np.mean(teacher_only == before) > np.mean(labels_only == before) + 0.3
    settings = json.loads((teacher_only_dir / "metrics.json").read_text())["settings"]
    assert settings["teachers"] == [str(teacher)] and settings["teacher_weight"] == 1.0


def test_teacher_scores_are_the_teachers_mean(trained: Path, tmp_path: Path) -> None:
    import keras

    from digitd.train.wheels.distill import blend, load_teachers, teacher_scores

    first = keras.models.load_model(trained / "model.keras", compile=False)
    other = keras.models.clone_model(first)  # same shape, fresh random weights
    other.save(tmp_path / "other.keras")
    x = np.random.default_rng(0).integers(0, 256, (5, 32, 20), dtype=np.uint8)
    teachers = load_teachers([str(trained / "model.keras"), str(tmp_path / "other.keras")])
    mean = teacher_scores(teachers, x)
    inputs = x[..., None].astype(np.float32) / 255.0
    want = (first.predict(inputs, verbose=0) + other.predict(inputs, verbose=0)) / 2
    assert mean.shape == (5, 101) and np.allclose(mean, want, atol=1e-5)
    labels = np.zeros_like(mean)
    labels[:, 30] = 1.0
    mixed = blend(labels, mean, 0.25)
    assert np.allclose(mixed.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(mixed, 0.75 * labels + 0.25 * mean)
    with pytest.raises(ValueError, match=r"teacher weight 1\.5"):
        blend(labels, mean, 1.5)


def test_teacher_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    import keras

    digitish = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(11, activation="softmax")])
    digitish.save(tmp_path / "digits.keras")
    base = ("train", "--meter-dir", str(METER_CROPS), "--out", str(tmp_path / "x"))

    def recipe(name: str, **settings: Any) -> tuple[str, str]:
        return "--recipe", _recipe(tmp_path / f"{name}.toml", synthetic=0, **settings)

    proc = _digitd(*base, *recipe("missing", teachers=[str(tmp_path / "missing.keras")]))
    assert proc.returncode == 1 and "missing.keras: no such file" in proc.stderr
    proc = _digitd(*base, *recipe("digits", teachers=[str(tmp_path / "digits.keras")]))
    assert proc.returncode == 1 and "a meter-window model takes (32, 20, 1)" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _digitd(*base, *recipe("weight", teachers=[str(tmp_path / "digits.keras")],
                                  teacher_weight=2))
    assert proc.returncode == 1 and "teacher_weight = 2.0" in proc.stderr
    digit_teachers = _recipe(tmp_path / "dt.toml", kind="digit",
                             teachers=[str(tmp_path / "digits.keras")])
    proc = _digitd("train", "--recipe", digit_teachers, "--out", str(tmp_path / "y"))
    assert proc.returncode == 1 and "unknown key 'teachers' for a digit model" in proc.stderr
    proc = _digitd("train", "--recipe", _recipe(tmp_path / "dg.toml", kind="digit", glare=0.3),
                   "--out", str(tmp_path / "y"))
    assert proc.returncode == 1 and "unknown key 'glare' for a digit model" in proc.stderr
    proc = _digitd(*base, *recipe("glare", glare=1.5))
    assert proc.returncode == 1 and "glare = 1.5: give a share from 0 to 1" in proc.stderr


def test_teachers_can_score_each_crop_as_it_is() -> None:
    """``--teacher-sees crops``: every training example points at its crop without the
    augmentation's faults, real copies at the real crop and generated windows at their
    own plain rendering, so a teacher's misreading of a fault is not taught."""
    from digitd.train.wheels.data import load_meter_digits, synthetic_windows, window_examples
    from digitd.train.wheels.train import WindowTrainConfig, build_training_set, training_crops

    cfg = WindowTrainConfig(meter_dir=str(METER_CROPS), sevenseg_dir=None, copies=2,
                            synthetic=40, glare=0.5, teachers=("t.keras",),
                            teacher_sees="crops", workers=1)
    real = training_crops(cfg)
    data = build_training_set(cfg, real)
    n = len(real)
    assert len(data.x) == len(data.plain_of) == 3 * n + 40
    as_is = window_examples(load_meter_digits(str(METER_CROPS), "train"), None)
    for copy in range(3):
        assert np.array_equal(data.plain[data.plain_of[copy * n:(copy + 1) * n]], as_is)
    # The augmented copies are not what the teachers see; the generated ones map to theirs.
    assert not np.array_equal(data.x[n:2 * n], as_is)
    synth = synthetic_windows(40, cfg.seed + 7, "train", 1, cfg.dot_matrix)
    assert np.array_equal(data.plain[data.plain_of[3 * n:]], window_examples(synth, None))
    assert np.array_equal(data.positions[3 * n:], synth.positions)


def test_the_teachers_score_what_teacher_sees_names(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``augmented`` (the default) scores every training example, ``crops`` each crop once;
    anything else is refused before the data is built."""
    from digitd.train.wheels import train as window_train
    from digitd.train.wheels.train import WindowTrainConfig, train_window

    class Scored(Exception):
        pass

    seen: list[int] = []

    def spy(_teachers: object, x: np.ndarray) -> np.ndarray:
        seen.append(len(x))
        raise Scored  # what was scored is all this test needs: no training

    monkeypatch.setattr(window_train, "teacher_scores", spy)
    for sees in ("augmented", "crops"):
        cfg = WindowTrainConfig(meter_dir=str(METER_CROPS), sevenseg_dir=None, copies=2,
                                synthetic=0, teachers=(str(trained / "model.keras"),),
                                teacher_sees=sees, workers=1, out=str(tmp_path / sees))
        with pytest.raises(Scored):
            train_window(cfg)
    n = sum(1 for c in meter_crops() if c.split == "train")
    assert seen == [3 * n, n]
    cfg = WindowTrainConfig(meter_dir=str(METER_CROPS), teachers=(str(trained / "model.keras"),),
                            teacher_sees="clean", out=str(tmp_path / "x"))
    with pytest.raises(ValueError, match="teacher_sees = 'clean': give one of augmented, crops"):
        train_window(cfg)


def test_generated_windows_can_have_teachers_of_their_own(trained: Path, tmp_path: Path) -> None:
    """``--generated-teacher``: the generated windows' targets come from those models, the
    real crops' from the ``--teacher`` models, each example's own teachers' scores blended
    in at the teacher weight; each crop scored once when teachers see crops as they are."""
    import keras

    from digitd.train.wheels.distill import blend, load_teachers, teacher_scores
    from digitd.train.wheels.train import (
        WindowTrainConfig,
        build_training_set,
        taught_targets,
        training_crops,
    )

    first = keras.models.load_model(trained / "model.keras", compile=False)
    other = keras.models.clone_model(first)  # same shape, other (random) weights
    other.save(tmp_path / "other.keras")
    real_teachers = load_teachers([str(trained / "model.keras")])
    generated_teachers = load_teachers([str(tmp_path / "other.keras")], "--generated-teacher")
    for sees in ("augmented", "crops"):
        cfg = WindowTrainConfig(meter_dir=str(METER_CROPS), sevenseg_dir=None, copies=1,
                                synthetic=30, teachers=("t.keras",),
                                generated_teachers=("g.keras",), teacher_sees=sees, workers=1)
        real = training_crops(cfg)
        data = build_training_set(cfg, real)
        assert not data.generated[:2 * len(real)].any() and data.generated[2 * len(real):].all()
        labels = np.zeros((len(data.x), 101), np.float32)
        labels[:, 30] = 1.0
        got = taught_targets(labels, data, real_teachers, generated_teachers, 0.8, sees)
        seen = data.x if sees == "augmented" else data.plain[data.plain_of]
        for rows, teachers in ((~data.generated, real_teachers),
                               (data.generated, generated_teachers)):
            want = blend(labels[rows], teacher_scores(teachers, seen[rows]), 0.8)
            assert np.allclose(got[rows], want, atol=1e-5)
        # The two teachers differ, so the rows did not all get one model's scores.
        assert not np.allclose(teacher_scores(real_teachers, seen[data.generated]),
                               teacher_scores(generated_teachers, seen[data.generated]),
                               atol=1e-3)
        # Without --teacher the real crops keep their labels' targets.
        alone = taught_targets(labels, data, [], generated_teachers, 0.8, sees)
        assert np.array_equal(alone[~data.generated], labels[~data.generated])
        assert np.allclose(alone[data.generated], got[data.generated], atol=1e-6)


def test_generated_teacher_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    base = ("train", "--meter-dir", str(METER_CROPS), "--out", str(tmp_path / "x"))
    missing = _recipe(tmp_path / "m.toml", generated_teachers=[str(tmp_path / "missing.keras")])
    proc = _digitd(*base, "--recipe", missing)
    assert proc.returncode == 1
    assert "generated_teachers" in proc.stderr and "missing.keras: no such file" in proc.stderr
    none = _recipe(tmp_path / "n.toml", synthetic=0,
                   generated_teachers=[str(tmp_path / "g.keras")])
    proc = _digitd(*base, "--recipe", none)
    assert proc.returncode == 1 and "synthetic = 0 makes none" in proc.stderr
    digit = _recipe(tmp_path / "d.toml", kind="digit",
                    generated_teachers=[str(tmp_path / "g.keras")])
    proc = _digitd("train", "--recipe", digit, "--out", str(tmp_path / "y"))
    assert proc.returncode == 1 and "unknown key 'generated_teachers'" in proc.stderr
    assert "Traceback" not in proc.stderr
