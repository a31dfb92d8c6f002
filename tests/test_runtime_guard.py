"""The guard against a runtime that is broken on the machine it runs on.

A model whose outputs are wrong is the shipped model with its last layer's classes
rotated by one (real int8 weights, edited with TensorFlow's flatbuffer tools): every
known input in the card then reads as the next class, as a kernel computing nonsense
would. A runtime that crashes is a stand-in ``tflite_runtime`` package put first on the
path whose interpreter really dies with SIGSEGV in its constructor, as LiteRT 2.2+ does
under an emulator (the arm64 wheels that do that cannot run on this x86 machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from digitd.edge.vision.classifier import Classifier, RuntimeBrokenError, WindowClassifier
from digitd.edge.vision.golden import GoldenFormatError, compare, from_card, pick
from digitd.edge.vision.model_card import ModelError, card_path, load_card, write_card
from digitd.edge.vision.runtime import PREFERENCE_ENV, installed_runtimes
from digitd.edge.vision.vet import NoSoundRuntimeError, vet
from tests.daemon_proc import Daemon
from tests.mqtt_broker import Mosquitto, Subscriber

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
VIDEO = ROOT / "demo" / "digits.avi"
NUMBERS = [n["value"] for n in json.loads((ROOT / "demo" / "digits.json").read_text())["numbers"]]


def _wrong_model(tmp_path: Path) -> Path:
    """The shipped digit model with the rows of its last fully connected layer rotated: it
    reads a 3 as a 4, and "not a digit" as a 0, with the confidence it had."""
    from tensorflow.lite.tools import flatbuffer_utils as fu

    model = fu.read_model(str(MODELS / "digits.tflite"))
    graph = model.subgraphs[0]
    codes = [model.operatorCodes[op.opcodeIndex].builtinCode for op in graph.operators]
    fc = graph.operators[len(codes) - 1 - codes[::-1].index(9)]  # the last FULLY_CONNECTED
    weights, bias = (graph.tensors[i] for i in fc.inputs[1:3])
    n = int(weights.shape[0])
    w = model.buffers[weights.buffer]
    w.data = np.roll(np.frombuffer(bytes(w.data), np.int8).reshape(n, -1), 1, axis=0).ravel()
    b = model.buffers[bias.buffer]
    b.data = np.roll(np.frombuffer(bytes(b.data), np.int32), 1).view(np.uint8)
    for q in (weights.quantization, bias.quantization):
        if q.scale is not None and len(q.scale) == n:
            q.scale = np.roll(q.scale, 1)
    out = tmp_path / "digits.tflite"
    fu.write_model(model, str(out))
    card = {k: v for k, v in load_card(MODELS / "digits.tflite").items()
            if k not in ("format", "card_version", "model_file", "sha256", "size_bytes")}
    write_card(out, card)  # a card written for this very file, with the shipped known inputs
    return out


def _crashing_runtime(tmp_path: Path, how: str = "crash") -> dict[str, str]:
    """An installed ``tflite_runtime`` 2.14.0 (first in line) that crashes or will not import;
    the environment that puts it in front of LiteRT."""
    site = tmp_path / "site"
    pkg = site / "tflite_runtime"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    body = {
        "crash": """
            import os, signal

            class OpResolverType:
                BUILTIN_WITHOUT_DEFAULT_DELEGATES = 2

            class Interpreter:
                def __init__(self, *args, **kwargs):
                    os.kill(os.getpid(), signal.SIGSEGV)
            """,
        "import": "raise ImportError('libtensorflowlite_c.so: cannot open shared object file')",
    }[how]
    (pkg / "interpreter.py").write_text(textwrap.dedent(body))
    info = site / "tflite_runtime-2.14.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tflite-runtime\nVersion: 2.14.0\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, PREFERENCE_ENV: "tflite-runtime"}


def _digitd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitd.edge.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})


# -- the known inputs in the shipped cards ----------------------------------------------------

def test_shipped_cards_keep_known_inputs_of_every_class_and_read_them() -> None:
    digits, meter = Classifier(), WindowClassifier()
    assert digits.golden_checked == 11 and meter.golden_checked == 10
    g = from_card(digits.card)
    assert g is not None and list(g.top) == list(range(11))
    gm = from_card(meter.card)
    assert gm is not None and list(gm.top) == [10 * d for d in range(10)]


def test_pick_keeps_the_widest_margin_of_each_class_and_round_trips() -> None:
    images = np.arange(4 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2)
    probs = np.array([[0.6, 0.4], [0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])  # row 3 misread
    golden = pick(images, [0, 0, 1, 1], probs, [0, 1])
    assert golden.top == (0, 1)
    assert (golden.inputs == images[[1, 2]]).all()
    back = from_card({"golden": golden.to_card()})
    assert back is not None and back.top == golden.top and (back.inputs == golden.inputs).all()
    assert compare(back, probs[[1, 2]]).ok
    result = compare(back, probs[[2, 1]])
    assert result.right == 0 and result.wrong == ((0, 0, 1), (1, 1, 0))


def test_a_damaged_golden_section_is_a_model_error(tmp_path: Path) -> None:
    model = tmp_path / "digits.tflite"
    model.write_bytes((MODELS / "digits.tflite").read_bytes())
    card = json.loads((MODELS / "digits.card.json").read_text())
    card["golden"]["inputs"] = card["golden"]["inputs"][:-40]
    card_path(model).write_text(json.dumps(card))
    with pytest.raises(GoldenFormatError):
        from_card(card)
    with pytest.raises(ModelError, match="card is damaged"):
        Classifier(model)


# -- a model whose outputs are wrong ------------------------------------------------------------

def test_a_model_that_reads_its_known_inputs_wrong_is_refused(tmp_path: Path) -> None:
    model = _wrong_model(tmp_path)
    with pytest.raises(RuntimeBrokenError) as err:
        Classifier(model)
    message = str(err.value)
    assert "ai-edge-litert 2.3" in message and "11 of the 11 known inputs" in message
    assert "pip install" in message  # the fix
    assert err.value.exit_code == 78
    # Without the check the same model loads and reads a real 3 as a 4: what it guards.
    loose = Classifier(model, require_card=False)
    g = from_card(load_card(model))
    assert g is not None
    assert [int(x) for x in loose.probabilities(g.inputs).argmax(1)] == [
        (t + 1) % 11 for t in g.top]


def test_every_runtime_reading_wrong_is_one_error_naming_each(tmp_path: Path) -> None:
    model = _wrong_model(tmp_path)
    with pytest.raises(NoSoundRuntimeError) as err:
        vet(model, "digit")
    message = str(err.value)
    assert message.count("read 11 of the 11 known inputs") == 2  # with and without XNNPACK
    assert "without XNNPACK" in message and err.value.exit_code == 78


def test_check_config_and_the_daemon_refuse_a_model_read_wrong(tmp_path: Path) -> None:
    model = _wrong_model(tmp_path)
    config = tmp_path / "digitd.toml"
    config.write_text(f'[camera]\nsource = "{VIDEO}"\n[model]\npath = "{model}"\n'
                      f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n')
    checked = _digitd("check-config", str(config))
    assert checked.returncode == 78, checked.stdout + checked.stderr
    assert "no installed TFLite runtime reads it right" in checked.stdout
    daemon = Daemon(config)
    assert daemon.wait(60) == 78
    assert "known inputs in its card wrong" in daemon.log()


# -- a runtime that crashes or does not import --------------------------------------------------

def test_a_crashing_runtime_is_caught_in_a_child_and_the_next_is_used(tmp_path: Path) -> None:
    env = _crashing_runtime(tmp_path)
    checked = _digitd("check-config", "demo/demo.toml", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "tflite-runtime 2.14.0 crashed (SIGSEGV) loading it; trying the next" in checked.stderr
    assert "model digits.tflite: ai-edge-litert 2.3" in checked.stdout
    assert "read its 11 known inputs right" in checked.stdout


def test_the_daemon_reads_the_video_past_a_crashing_runtime_and_keeps_the_result(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    env = _crashing_runtime(tmp_path)
    state = tmp_path / "state"
    config = tmp_path / "digitd.toml"
    config.write_text(
        f'[device]\nid = "guard"\n[camera]\nsource = "{VIDEO}"\ninterval = 0\nloop = false\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n[daemon]\nstate_dir = "{state}"\n')
    with Subscriber(mosquitto, ["digitd/guard/state"]) as sub:
        daemon = Daemon(config, "--exit-at-end", env=env)
        assert daemon.wait(120) == 0, daemon.log()
        sub.wait_for(lambda: len(sub.on("digitd/guard/state")) >= len(NUMBERS), 10)
        values = [json.loads(m.payload)["value"] for m in sub.on("digitd/guard/state")]
    assert values == NUMBERS
    assert daemon.count(r"tflite-runtime 2\.14\.0 crashed \(SIGSEGV\)") == 1
    assert daemon.count(r"tflite-runtime 2\.14\.0 without XNNPACK crashed \(SIGSEGV\)") == 1
    kept = json.loads((state / "runtime_check.json").read_text())
    assert sorted((v["runtime"], v["ok"]) for v in kept.values()) == [
        (next(str(r) for r in installed_runtimes() if r.package == "ai-edge-litert"), True),
        ("tflite-runtime 2.14.0", False), ("tflite-runtime 2.14.0 without XNNPACK", False)]
    # The next start trusts what was kept: no child crashes again.
    again = Daemon(config, "--exit-at-end", env=env)
    assert again.wait(120) == 0, again.log()
    assert again.count("crashed") == 0


def test_a_runtime_that_does_not_import_falls_back(tmp_path: Path) -> None:
    env = _crashing_runtime(tmp_path, how="import")
    loaded = subprocess.run(
        [sys.executable, "-c", "from digitd.edge.vision.classifier import Classifier; "
         "c = Classifier(); print(c.runtime_info, c.golden_checked)"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("ai-edge-litert 2.3") and loaded.stdout.split()[-1] == "11"
    assert "tflite-runtime 2.14.0 does not import" in loaded.stderr
    checked = _digitd("check-config", "demo/demo.toml", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "libtensorflowlite_c.so" in checked.stderr  # the child's reason, in the warning
