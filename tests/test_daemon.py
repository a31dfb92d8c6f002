"""The daemon end to end: the bundled real-digit video in, a real Mosquitto out, real signals."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.daemon_proc import Daemon
from tests.mqtt_broker import Mosquitto, Subscriber, wait_until

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "demo" / "digits.avi"
TRUTH = json.loads((ROOT / "demo" / "digits.json").read_text())
NUMBERS = [n["value"] for n in TRUTH["numbers"]]

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, broker: Mosquitto, *, loop: bool = False, interval: float = 0.0,
            extra: str = "", device: str = "meter1") -> Path:
    path = tmp_path / "digitd.toml"
    path.write_text(
        f'[device]\nid = "{device}"\n\n'
        f'[camera]\nsource = "{VIDEO}"\ninterval = {interval}\nloop = {str(loop).lower()}\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nstats_interval = 1\n\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n\n' + extra
    )
    return path


def _states(sub: Subscriber, base: str) -> list[str]:
    return [json.loads(m.payload)["value"] for m in sub.on(f"{base}/state")]


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    """A real AF_UNIX datagram socket standing in for systemd's notify socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def _drain(sock: socket.socket, until: float,
           enough: Callable[[list[str]], bool] = lambda _: False) -> list[tuple[float, str]]:
    """The notify messages until ``until`` (monotonic), or until ``enough`` of them came."""
    got: list[tuple[float, str]] = []
    while time.monotonic() < until and not enough([m for _, m in got]):
        try:
            got.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            continue
    return got


def _ready_and_pings(n: int) -> Callable[[list[str]], bool]:
    return lambda texts: (any("READY=1" in m for m in texts)
                          and any(m.startswith("STATUS=") for m in texts)
                          and texts.count("WATCHDOG=1") >= n)


def _read_the_whole_video(config: Path, sub: Subscriber) -> None:
    """Run the daemon to the video's end, until its "offline" has reached ``sub``."""
    daemon = Daemon(config, "--exit-at-end")
    assert daemon.wait(120) == 0, daemon.log()
    sub.wait_for(lambda: any(m.payload == b"offline" for m in
                             sub.on("digitd/meter1/availability")), 10)


def test_every_number_in_the_video_is_published_in_order(tmp_path: Path,
                                                         mosquitto: Mosquitto) -> None:
    config = _config(tmp_path, mosquitto)
    with Subscriber(mosquitto, ["digitd/meter1/#"]) as sub:
        _read_the_whole_video(config, sub)
        assert _states(sub, "digitd/meter1") == NUMBERS
        for m in sub.on("digitd/meter1/state"):
            payload = json.loads(m.payload)
            assert payload["timestamp"].endswith("+00:00")
            assert len(payload["digits"]) == len(payload["value"])
            assert payload["confidence"] == min(d["confidence"] for d in payload["digits"])
        availability = [m.payload for m in sub.on("digitd/meter1/availability")]
        assert availability[0] == b"online" and availability[-1] == b"offline"
        assert sub.on("digitd/meter1/stats"), "stats are published"
        assert not sub.on("digitd/meter1/error"), "a clean video gives no rejections"
    # A late subscriber gets the last reading, retained.
    with Subscriber(mosquitto, ["digitd/meter1/state"]) as late:
        msgs = late.wait_count("digitd/meter1/state", 1)
        assert msgs[0].retain and json.loads(msgs[0].payload)["value"] == NUMBERS[-1]
    assert json.loads((tmp_path / "state" / "last_value.json").read_text())["value"] == NUMBERS[-1]


def test_handwriting_boxes_through_the_daemon(tmp_path: Path, mosquitto: Mosquitto) -> None:
    # The same video read through four fixed boxes of handwriting: each box's searched
    # margin reaches into its neighbour's cell, and every number must still come out.
    boxes = "[[20, 30, 70, 70], [92, 30, 70, 70], [164, 30, 70, 70], [236, 30, 70, 70]]"
    config = _config(tmp_path, mosquitto, extra=(
        f'[locate]\nmode = "boxes"\ndisplay = "handwriting"\nboxes = {boxes}\n'))
    with Subscriber(mosquitto, ["digitd/meter1/#"]) as sub:
        _read_the_whole_video(config, sub)
        assert _states(sub, "digitd/meter1") == NUMBERS
        for m in sub.on("digitd/meter1/state"):
            digits = json.loads(m.payload)["digits"]
            assert len(digits) == 4 and all("position" not in d for d in digits)


def test_sd_notify_ready_watchdog_and_clean_sigterm(tmp_path: Path, mosquitto: Mosquitto,
                                                    notify_socket: socket.socket) -> None:
    config = _config(tmp_path, mosquitto, loop=True, interval=0.25)
    env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"}
    with Subscriber(mosquitto, ["digitd/meter1/#"]) as sub:
        daemon = Daemon(config, env=env)
        try:
            messages = _drain(notify_socket, time.monotonic() + 20, _ready_and_pings(6))
            texts = [m for _, m in messages]
            assert any("READY=1" in m for m in texts), texts
            pings = [t for t, m in messages if m == "WATCHDOG=1"]
            # Half of WATCHDOG_USEC: about two pings a second while the loop runs.
            assert len(pings) >= 6, texts
            gaps = [b - a for a, b in itertools.pairwise(pings)]
            assert max(gaps) < 1.0
            assert any(m.startswith("STATUS=") for m in texts)
            assert sub.wait_for(lambda: len(_states(sub, "digitd/meter1")) >= 3, 30)
        finally:
            code = daemon.stop()
        assert code == 0, daemon.log()
        after = [m for _, m in _drain(notify_socket, time.monotonic() + 0.5)]
        assert any("STOPPING=1" in m for m in after), after
        assert wait_until(lambda: bool(sub.on("digitd/meter1/availability"))
                          and sub.on("digitd/meter1/availability")[-1].payload == b"offline")
        assert _states(sub, "digitd/meter1")[:3] == NUMBERS[:3]


def test_config_error_exits_78_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[camera]\nsourse = "/dev/video0"\ninterval = -1\n[mqtt]\nport = 0\n')
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "check-config", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 78
    for expected in ("camera.source: required", "camera.sourse: unknown key",
                     "camera.interval", "mqtt.port"):
        assert expected in proc.stdout, proc.stdout
    run = Daemon(bad)
    assert run.wait(60) == 78
    assert "camera.sourse" in run.log() and "Traceback" not in run.log()


def test_check_config_accepts_the_demo_config() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "check-config", str(ROOT / "demo" / "demo.toml")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout


def test_commands_and_sighup_reload(tmp_path: Path, mosquitto: Mosquitto) -> None:
    config = _config(tmp_path, mosquitto, loop=True, interval=0.25,
                     extra="[decision]\nmeter = true\nallow_decrease = true\n")
    with Subscriber(mosquitto, ["digitd/#", "meters/#"]) as sub:
        daemon = Daemon(config)
        proc = daemon.proc
        try:
            sub.wait_count("digitd/meter1/state", 1, timeout=30)
            sub.publish("digitd/meter1/cmd", json.dumps({"command": "set_value",
                                                         "value": "00999.5"}))
            assert sub.wait_for(lambda: "00999.5" in _states(sub, "digitd/meter1"), 15)
            sub.publish("digitd/meter1/cmd", b"\xff not json")
            errors = sub.wait_count("digitd/meter1/error", 1, timeout=15)
            assert "reason" in json.loads(errors[-1].payload)
            # Reload with another base topic: the daemon moves there without a restart.
            text = config.read_text().replace("[mqtt]\n", '[mqtt]\nbase_topic = "meters/one"\n')
            config.write_text(text)
            proc.send_signal(signal.SIGHUP)
            sub.wait_count("meters/one/state", 1, timeout=30)
            assert proc.poll() is None
            # A broken config on reload is refused; the daemon keeps running.
            config.write_text(text + "\n[nonsense]\nx = 1\n")
            proc.send_signal(signal.SIGHUP)
            daemon.wait_log("reload refused.*nonsense")
            assert proc.poll() is None
        finally:
            code = daemon.stop()
        assert code == 0, daemon.log()


def test_started_the_way_the_unit_starts_it(tmp_path: Path, mosquitto: Mosquitto,
                                            notify_socket: socket.socket) -> None:
    """ExecStart= of systemd/digitd.service, with the environment systemd gives it."""
    unit = (ROOT / "systemd" / "digitd.service").read_text()
    exec_start = next(line.split("=", 1)[1] for line in unit.splitlines()
                      if line.startswith("ExecStart="))
    argv = exec_start.split()
    assert argv[0] == "/opt/digitd/venv/bin/digitd" and argv[1:3] == ["run", "--config"]
    config = _config(tmp_path, mosquitto, loop=True, interval=0.25)
    digitd = Path(sys.executable).with_name("digitd")
    cmd = [str(digitd), *argv[1:3], str(config), *argv[4:]]
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "2000000", "JOURNAL_STREAM": "8:12345",
           "STATE_DIRECTORY": str(tmp_path / "state")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        messages = [m for _, m in _drain(notify_socket, time.monotonic() + 20,
                                          _ready_and_pings(3))]
        assert any("READY=1" in m for m in messages), messages
        assert messages.count("WATCHDOG=1") >= 3, messages
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    # journald stamps each line itself: our lines carry no timestamp of their own.
    ours = [line for line in out.splitlines() if " digitd." in line]
    assert ours and all(line.startswith(("INFO ", "WARNING ")) for line in ours), ours
