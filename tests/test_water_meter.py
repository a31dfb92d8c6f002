"""A water meter read whole: real wheel crops and generated pointer dials through
``digitd recognize --dials`` and through the daemon (state with the composed value,
flow and leak in stats and discovery)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.meter_strips import water_meter
from tests.mqtt_broker import Mosquitto, Subscriber

ROOT = Path(__file__).resolve().parents[1]


def _spec(boxes: list[list[int]]) -> str:
    return ";".join(",".join(map(str, b)) for b in boxes)


def _digitd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitd.edge.cli", "-q", *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_recognize_composes_wheels_and_dials(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    counts = [5_208_983, 5_209_968, 5_210_012, 1_234_567]  # through the last wheel's carry
    paths, specs = [], None
    for k, count in enumerate(counts):
        image, boxes, dials, _ = water_meter(count, rng)
        paths.append(str(tmp_path / f"meter{k}.png"))
        cv2.imwrite(paths[-1], image)
        specs = (_spec(boxes), _spec(dials))
    assert specs is not None
    proc = _digitd("recognize", "--json", "--boxes", specs[0], "--dials", specs[1], *paths)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    exact = 0
    for count, result in zip(counts, results, strict=True):
        assert len(result["dials"]) == 4
        assert {d["direction"] for d in result["dials"]} <= {"cw", "ccw"}
        want = Decimal(count).scaleb(-4)
        assert abs(Decimal(result["value"]) - want) <= Decimal("0.0001"), (result, want)
        exact += Decimal(result["value"]) == want
        assert result["value"].split(".")[0] == f"{count // 10_000:05d}"  # the carry right
    assert exact >= 3
    # The directions given override "auto"; a bad one is one clear line.
    proc = _digitd("recognize", "--json", "--boxes", specs[0], "--dials", specs[1],
                   "--dial-directions", "cw,ccw,cw,ccw", paths[0])
    assert proc.returncode == 0, proc.stderr
    assert [d["direction"] for d in json.loads(proc.stdout)["dials"]] == ["cw", "ccw", "cw", "ccw"]
    proc = _digitd("recognize", "--dials", specs[1], "--dial-directions", "up", paths[0])
    assert proc.returncode != 0 and "dial_directions" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_daemon_publishes_the_whole_water_meter(tmp_path: Path,
                                                    mosquitto: Mosquitto) -> None:
    """Water running through the last wheel's carry: every state to the litre, never
    decreasing; discovery with flow and leak; stats with the flow."""
    rng = np.random.default_rng(9)
    frames = tmp_path / "frames"
    frames.mkdir()
    counts = [5_209_700 + 60 * k for k in range(12)]  # 520.9700 -> 521.0360 m³
    boxes = dials = None
    for k, count in enumerate(counts):
        image, boxes, dials, _ = water_meter(count, rng)
        for repeat in range(2):
            cv2.imwrite(str(frames / f"{k:03d}-{repeat}.png"), image)
    config = tmp_path / "meter.toml"
    config.write_text(
        f'[device]\nid = "water"\n\n[camera]\nsource = "{frames}"\ninterval = 0\n\n'
        f'[locate]\nmode = "boxes"\nboxes = {json.dumps(boxes)}\ndials = {json.dumps(dials)}\n\n'
        f'[decision]\nmeter = true\nstable_count = 2\n\n'
        f'[homeassistant]\ndevice_class = "water"\nunit = "m³"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\nstats_interval = 1\n\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\ncollect_dir = "crops"\n'
        'collect_below = 0.999\ncollect_interval = 0\n'
    )
    topics = ["digitd/water/state", "digitd/water/stats", "homeassistant/device/water/config"]
    with Subscriber(mosquitto, topics) as sub:
        proc = subprocess.run(
            [sys.executable, "-m", "digitd.edge.cli", "run", "--config", str(config),
             "--exit-at-end"], capture_output=True, text=True, timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        sub.wait_for(lambda: bool(sub.on(topics[2])) and bool(sub.on(topics[1])), 10)
        states = [json.loads(m.payload) for m in sub.on(topics[0])]
        stats = [json.loads(m.payload) for m in sub.on(topics[1])]
        discovery = json.loads(sub.on(topics[2])[-1].payload)
    values = [Decimal(s["value"]) for s in states]
    assert len(values) >= 8 and values == sorted(values), values
    truths = {Decimal(c).scaleb(-4) for c in counts}
    assert sum(v in truths for v in values) >= 0.8 * len(values), values
    assert any(v >= Decimal("521") for v in values)  # through the carry
    assert all(len(s["dials"]) == 4 for s in states)
    cmps = discovery["cmps"]
    assert cmps["value"]["suggested_display_precision"] == 4
    assert cmps["flow"]["unit_of_measurement"] == "L/min"
    assert cmps["flow"]["device_class"] == "volume_flow_rate"
    assert cmps["leak"]["p"] == "binary_sensor" and cmps["leak"]["device_class"] == "moisture"
    assert all(s["flow_unit"] == "L/min" and s["leak"] is False for s in stats)
    assert any(s["flow"] is not None and s["flow"] > 0 for s in stats)
    # Dials read below collect_below were kept for labelling, cut from the frame.
    kept = list((tmp_path / "state" / "crops" / "unsorted").glob("*_dial*_guess-*.png"))
    assert kept
    crop = cv2.imread(str(kept[0]))
    assert crop is not None and crop.shape[:2] == (80, 80)


def test_check_config_tries_the_dial_model_in_a_child_too(tmp_path: Path) -> None:
    """A runtime that crashes on the dial model must be found before the daemon loads it."""
    image, boxes, dials, _ = water_meter(5_208_983, np.random.default_rng(1))
    cv2.imwrite(str(tmp_path / "meter.png"), image)
    config = tmp_path / "meter.toml"
    config.write_text(f'[camera]\nsource = "{tmp_path}"\n\n[locate]\nmode = "boxes"\n'
                      f'boxes = {json.dumps(boxes)}\ndials = {json.dumps(dials)}\n')
    done = subprocess.run([sys.executable, "-m", "digitd.edge.cli", "check-config", str(config)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model meter.tflite:" in done.stdout and "model dial.tflite:" in done.stdout
    assert "known inputs right (in a separate process)" in done.stdout
