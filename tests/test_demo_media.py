"""The bundled demo video: small, readable here, reproducible, and its ground truth is true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from digitd.edge.camera.stream import CameraStream, StreamState
from digitd.edge.config import load_config
from digitd.train.digits.demo_media import NUMBERS, main, make_demo

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
Mnist = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def truth(folder: Path = DEMO) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "digits.json").read_text(encoding="utf-8"))
    return data


def decode(video: Path) -> list[npt.NDArray[np.uint8]]:
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened(), f"OpenCV cannot read {video}"
    frames: list[npt.NDArray[np.uint8]] = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(np.asarray(image, np.uint8))
    cap.release()
    return frames


def test_committed_demo_is_small_and_readable() -> None:
    video = DEMO / "digits.avi"
    assert video.stat().st_size < 1_000_000
    doc = truth()
    frames = decode(video)
    assert len(frames) == doc["frame_count"] == len(doc["frames"])
    assert 10 <= doc["frame_count"] / doc["fps"] <= 20  # seconds
    assert all(f.shape == (doc["height"], doc["width"], 3) for f in frames)
    assert [n["value"] for n in doc["numbers"]] == list(NUMBERS)
    shown = [f["value"] for f in doc["frames"]]
    assert all(shown[i] <= shown[i + 1] for i in range(len(shown) - 1))  # counting up
    assert set("".join(NUMBERS)) == set("0123456789")


def test_glyphs_are_real_mnist_digits_with_their_labels(mnist_test: Mnist) -> None:
    images, labels = mnist_test
    doc = truth()
    for glyph in doc["glyphs"]:
        assert int(labels[glyph["mnist_index"]]) == glyph["digit"]
    # Each digit box of a frame holds that MNIST image: compare at 28x28.
    frames = decode(DEMO / "digits.avi")
    index = {(g["position"], g["digit"]): g["mnist_index"] for g in doc["glyphs"]}
    for entry in doc["frames"][:: len(doc["frames"]) // 8]:
        frame = cv2.cvtColor(frames[entry["index"]], cv2.COLOR_BGR2GRAY)
        for pos, (ch, box) in enumerate(zip(entry["value"], entry["boxes"], strict=True)):
            x, y, w, h = box
            ink = 255.0 - frame[y : y + h, x : x + w].astype(np.float32)
            source = images[index[(pos, int(ch))]]
            ys, xs = np.nonzero(source > 64)
            tight = source[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32)
            ink = cv2.resize(ink, (tight.shape[1], tight.shape[0]), interpolation=cv2.INTER_AREA)
            corr = float(np.corrcoef(ink.ravel(), tight.ravel())[0, 1])
            assert corr > 0.8, (entry["index"], pos, corr)


def test_shipped_model_reads_the_ground_truth() -> None:
    """The reference check: the real model, on the true digit boxes, reads the true numbers."""
    pytest.importorskip("ai_edge_litert")
    from digitd.edge.vision.classifier import Classifier
    from digitd.edge.vision.normalise import normalise_digit

    model = ROOT / "models" / "digits.tflite"
    if not model.exists():
        pytest.skip("no shipped model")
    clf = Classifier(model)
    doc = truth()
    wrong = []
    for image, entry in zip(decode(DEMO / "digits.avi"), doc["frames"], strict=True):
        crops = [
            normalise_digit(image[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8])
            for x, y, w, h in entry["boxes"]
        ]
        got = "".join(str(p.digit) for p in clf.classify(np.stack(crops)))
        if got != entry["value"]:
            wrong.append((entry["index"], entry["value"], got))
    assert not wrong


def test_regenerating_gives_the_same_media(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert truth(tmp_path) == truth()
    mine, committed = decode(tmp_path / "digits.avi"), decode(DEMO / "digits.avi")
    assert len(mine) == len(committed)
    # Byte equality would tie the test to one JPEG encoder build; pixels are what matter.
    for a, b in zip(mine, committed, strict=True):
        assert float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()) < 1.0


def test_another_seed_changes_the_glyphs(tmp_path: Path) -> None:
    make_demo(tmp_path, seed=1)
    assert truth(tmp_path)["glyphs"] != truth()["glyphs"]


def test_demo_config_reads_the_video_relative_to_its_folder(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    config = load_config(DEMO / "demo.toml")
    assert config.mqtt.host is None and config.locate.mode == "auto"
    assert config.decision.stable_count == 2 and config.camera.source == "digits.avi"
    monkeypatch.chdir(tmp_path)  # wherever the daemon is started from
    doc = truth()
    with CameraStream(config.camera, (DEMO / "demo.toml").parent) as stream:
        assert not stream.live
        frames = [stream.read(timeout=2.0) for _ in range(doc["frame_count"])]
        assert stream.state is StreamState.OK
        assert stream.read(timeout=0.5) is None  # loop = false: one pass, then it ends
        assert stream.state is StreamState.ENDED
    assert all(f is not None for f in frames)
    assert stream.stats().frames == doc["frame_count"]
