"""Fault injection: the daemon against a full disk, start-up faults, a huge command, reloads.

Real parts throughout: a real Mosquitto, the daemon as its own process reading the bundled
video, real storage faults (a small tmpfs where the machine lets us mount one, else the
file-size limit RLIMIT_FSIZE set on the running daemon, which needs no privileges).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitd.edge.camera.sources import ImageFolderSource, SourceError, parse_source
from digitd.edge.config import CameraConfig
from digitd.edge.mqtt.publisher import MqttPublisher
from tests.daemon_proc import Daemon
from tests.mqtt_broker import Mosquitto, Subscriber, make_config, wait_until
from tests.storage import small_disk

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "demo" / "digits.avi"
BASE = "digitd/faulty"

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, broker: Mosquitto | None, state_dir: Path, *,
            interval: float = 0.05, extra: str = "") -> Path:
    path = tmp_path / "digitd.toml"
    port = broker.port if broker else 1
    path.write_text(
        f'[device]\nid = "faulty"\n\n'
        f'[camera]\nsource = "{VIDEO}"\ninterval = {interval}\nloop = true\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nstats_interval = 1\n\n'
        f'[daemon]\nstate_dir = "{state_dir}"\n\n' + extra
    )
    return path


def _errors(sub: Subscriber) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in sub.on(f"{BASE}/error")]


def _states(sub: Subscriber) -> int:
    return len(sub.on(f"{BASE}/state"))


def _delivers_through(sub: Subscriber, daemon: Daemon, *faults: str) -> None:
    """With the fault on: storage_error reported once, readings still delivered.

    Whichever file the disk refuses first (the outbox or last_value.json) is named."""
    assert sub.wait_for(lambda: any(e["error"] == "storage_error" for e in _errors(sub)), 30), \
        daemon.log()
    error = next(e for e in _errors(sub) if e["error"] == "storage_error")
    reason = str(error["reason"])
    assert any(f in reason for f in faults), error
    assert "outbox" in reason or "last_value.json" in reason, error
    before = _states(sub)
    assert sub.wait_for(lambda: _states(sub) >= before + 5, 30), daemon.log()
    assert sub.wait_for(lambda: any(
        json.loads(m.payload).get("storage_error") for m in sub.on(f"{BASE}/stats")), 10)
    assert daemon.proc.poll() is None


def _recovers(sub: Subscriber, daemon: Daemon) -> None:
    assert sub.wait_for(
        lambda: any(e["error"] == "storage_recovered" for e in _errors(sub)), 30), daemon.log()
    # The log line may reach the test's reader a moment after the MQTT message: wait for it.
    daemon.wait_log("can be written again")


def test_a_full_disk_under_the_running_daemon_is_survived_real_tmpfs(
    tmp_path: Path, mosquitto: Mosquitto, daemons: list[Daemon]
) -> None:
    with small_disk(tmp_path / "disk", size_kb=1024) as disk, \
            Subscriber(mosquitto, [f"{BASE}/#"]) as sub:
        daemon = Daemon(_config(tmp_path, mosquitto, disk.path / "state"))
        daemons.append(daemon)
        assert sub.wait_for(lambda: _states(sub) >= 3, 30), daemon.log()
        disk.fill()
        _delivers_through(sub, daemon, "full", "No space left")
        disk.free()
        _recovers(sub, daemon)
        assert daemon.stop() == 0, daemon.log()
    assert "Traceback" not in daemon.log()


def test_a_full_disk_under_the_running_daemon_is_survived_file_size_limit(
    tmp_path: Path, mosquitto: Mosquitto, daemons: list[Daemon]
) -> None:
    """Where no tmpfs can be mounted: the daemon's files may not grow (EFBIG), as on a
    full disk; lifting the limit is the space coming back."""
    state = tmp_path / "state"
    with Subscriber(mosquitto, [f"{BASE}/#"]) as sub:
        daemon = Daemon(_config(tmp_path, mosquitto, state))
        daemons.append(daemon)
        assert sub.wait_for(lambda: _states(sub) >= 3, 30), daemon.log()
        soft, hard = resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE)
        biggest = max(p.stat().st_size for p in state.iterdir())
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (biggest + 4096, hard))
        _delivers_through(sub, daemon, "disk I/O error", "File too large")
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
        _recovers(sub, daemon)
        assert daemon.stop() == 0, daemon.log()
    assert "Traceback" not in daemon.log()
    # Private files outside systemd too: the readings are nobody else's business.
    assert state.stat().st_mode & 0o777 == 0o700
    for name in ("outbox.sqlite3", "last_value.json"):
        assert (state / name).stat().st_mode & 0o777 == 0o600, name


def test_an_old_world_readable_state_dir_is_made_private(
    tmp_path: Path, mosquitto: Mosquitto, daemons: list[Daemon]
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    (state / "last_value.json").write_text('{"value": "0417", "time": 0}')
    os.chmod(state / "last_value.json", 0o644)
    with Subscriber(mosquitto, [f"{BASE}/state"]) as sub:
        daemon = Daemon(_config(tmp_path, mosquitto, state))
        daemons.append(daemon)
        assert sub.wait_for(lambda: _states(sub) >= 1, 30), daemon.log()
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "last_value.json").stat().st_mode & 0o777 == 0o600


# -- start-up faults: exit 78 (systemd does not restart) with one line that says the fix -----


def _start_fails(config: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 78, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_a_state_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _start_fails(_config(tmp_path, None, blocker / "state"))
    assert str(blocker / "state") in line and "daemon.state_dir" in line


def test_a_read_only_state_dir(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        (disk.path / "state").mkdir()
        disk.read_only()
        try:
            line = _start_fails(_config(tmp_path, None, disk.path / "state"))
        finally:
            disk.read_only(False)
    assert "read-only" in line and "daemon.state_dir" in line


def test_a_model_card_whose_preprocessing_is_not_an_object(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ROOT / "models" / "digits.tflite", models)
    card = json.loads((ROOT / "models" / "digits.card.json").read_text())
    card["preprocessing"] = "none"
    (models / "digits.card.json").write_text(json.dumps(card))
    line = _start_fails(_config(tmp_path, None, tmp_path / "state",
                                extra=f'[model]\npath = "{models / "digits.tflite"}"\n'))
    assert "digits.card.json" in line and "preprocessing" in line


@pytest.mark.parametrize(("text", "expected"), [
    ("[camera]\nsource = 'x'\nextra = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    ("[camera]\nsource = '0'\nreopen_min = 10\nreopen_max = 1\n", "reopen_max"),
    ("[camera]\nsource = '0'\n[homeassistant]\nprefix = 'home/#'\n", "prefix"),
    ("[camera]\nsource = '0'\n[mqtt]\nclient_id = '" + "x" * 70_000 + "'\n", "client_id"),
])
def test_configs_that_could_never_work(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    line = _start_fails(config)
    assert expected in line, line


# -- hostile input ---------------------------------------------------------------------------


def test_a_100_mb_command_costs_the_daemon_no_memory(
    tmp_path: Path, mosquitto: Mosquitto, daemons: list[Daemon]
) -> None:
    """MQTT 5's Maximum Packet Size: the broker drops it; the daemon never reads it."""
    with Subscriber(mosquitto, [f"{BASE}/#"]) as sub:
        daemon = Daemon(_config(tmp_path, mosquitto, tmp_path / "state", interval=0.2))
        daemons.append(daemon)
        assert sub.wait_for(lambda: _states(sub) >= 3, 30), daemon.log()
        before = daemon.status("VmHWM")
        sub.publish(f"{BASE}/cmd", b"x" * 100_000_000)
        sub.publish(f"{BASE}/cmd", b"not json")  # sent after it: answered, so it came through
        assert sub.wait_for(lambda: any(e["error"] == "bad_command" for e in _errors(sub)), 30)
        after = daemon.status("VmHWM")
        assert daemon.proc.poll() is None
    assert after - before < 20 * 1024, (before, after)


def test_a_hundred_reloads_leave_no_descriptor_behind(
    tmp_path: Path, mosquitto: Mosquitto, daemons: list[Daemon]
) -> None:
    with Subscriber(mosquitto, [f"{BASE}/state"]) as sub:
        daemon = Daemon(_config(tmp_path, mosquitto, tmp_path / "state", interval=0.2))
        daemons.append(daemon)
        assert sub.wait_for(lambda: _states(sub) >= 1, 30), daemon.log()

        def lasting() -> list[str]:
            # The last value is written to a .tmp file and renamed: caught mid-write, that
            # descriptor is open for a moment (a CI run once counted it in "before").
            return [f for f in daemon.fds() if not f.endswith(".tmp")]

        before = lasting()
        for i in range(1, 101):
            daemon.proc.send_signal(signal.SIGHUP)
            daemon.wait_log("configuration reloaded", i)
        daemon.wait_log("connected to MQTT broker", 101)
        # Counted, not compared: sockets and pipes come back under new inode numbers.
        assert wait_until(lambda: len(lasting()) == len(before), 10), (before, lasting())
        n = _states(sub)
        assert sub.wait_for(lambda: _states(sub) > n, 30)  # still reading and delivering


def test_plain_mqtt_to_a_tls_port_says_so(mosquitto_tls: Mosquitto, tmp_path: Path) -> None:
    publisher = MqttPublisher(make_config(mosquitto_tls), tmp_path / "state",
                              reconnect_delay=(1, 1))
    publisher.start()
    try:
        assert wait_until(lambda: publisher.last_error is not None, 15)
        assert "[mqtt.tls]" in str(publisher.last_error), publisher.last_error
        assert not publisher.connected
    finally:
        publisher.stop(1)


def test_a_watched_folder_removed_is_one_camera_error(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(20):
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((32, 32, 3), i * 10, np.uint8))
    source = ImageFolderSource(parse_source(str(folder)), CameraConfig(source=str(folder)))
    source.open()
    assert source.read() is not None
    shutil.rmtree(folder)
    with pytest.raises(SourceError, match="was removed"):
        source.read()
    assert "skipping" not in caplog.text
