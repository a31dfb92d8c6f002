"""After a restart and after camera trouble: what subscribers get without waiting minutes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import pytest

from tests.daemon_proc import Daemon
from tests.mqtt_broker import Mosquitto, Subscriber

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "demo" / "digits.avi"
TRUTH = json.loads((ROOT / "demo" / "digits.json").read_text())
LAST = TRUTH["numbers"][-1]["value"]

pytestmark = pytest.mark.slow


def _last_frames(folder: Path, copies: int = 4) -> None:
    """The video's last frame, which shows its last number, as a folder of pictures."""
    cap = cv2.VideoCapture(str(VIDEO))
    frame = None
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frame = image
    cap.release()
    assert frame is not None
    folder.mkdir()
    for i in range(copies):
        cv2.imwrite(str(folder / f"frame{i}.png"), frame)


def _config(tmp_path: Path, broker: Mosquitto, source: Path | str) -> Path:
    path = tmp_path / "digitd.toml"
    path.write_text(
        f'[device]\nid = "meter1"\n\n[camera]\nsource = "{source}"\ninterval = 0\n'
        f'reopen_min = 0.2\nreopen_max = 0.5\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nstats_interval = 30\n\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    return path


def test_restart_publishes_the_restored_value_again(tmp_path: Path,
                                                    mosquitto: Mosquitto) -> None:
    """The same number in view as before the restart, a broker with no retained state:
    the reading is published at once, not after the 300 s heartbeat."""
    folder = tmp_path / "frames"
    _last_frames(folder)
    state = tmp_path / "state"
    state.mkdir()
    (state / "last_value.json").write_text(json.dumps({"value": LAST, "time": time.time()}))
    config = _config(tmp_path, mosquitto, folder)
    with Subscriber(mosquitto, ["digitd/meter1/state"]) as sub:
        assert not sub.on("digitd/meter1/state")  # nothing retained on this broker
        daemon = Daemon(config, "--exit-at-end")
        assert daemon.wait(120) == 0, daemon.log()
        assert daemon.count("restored") == 1
        assert sub.wait_for(lambda: bool(sub.on("digitd/meter1/state")), 10), daemon.log()
        state_msg = json.loads(sub.on("digitd/meter1/state")[0].payload)
    assert state_msg["value"] == LAST
    assert state_msg["timestamp"].endswith("+00:00")


def test_a_missing_camera_is_reported_on_the_error_topic(tmp_path: Path,
                                                         mosquitto: Mosquitto) -> None:
    config = _config(tmp_path, mosquitto, "/dev/video97")
    with Subscriber(mosquitto, ["digitd/meter1/#"]) as sub:
        daemon = Daemon(config)
        try:
            assert sub.wait_for(lambda: bool(sub.on("digitd/meter1/error")), 20)
            error = json.loads(sub.on("digitd/meter1/error")[0].payload)
            # A stats message follows the camera's change of state, not a minute later.
            assert sub.wait_for(lambda: bool(sub.on("digitd/meter1/stats")), 5)
        finally:
            code = daemon.stop()
    assert error["error"] == "camera_missing", error
    assert "/dev/video97" in error["reason"] or "/dev/video97" in error.get("source", ""), error
    stats = json.loads(sub.on("digitd/meter1/stats")[0].payload)
    assert stats["camera"]["state"] == "reopening"
    assert code == 0, daemon.log()


def test_reconnect_to_a_broker_that_lost_everything_publishes_again(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """The broker restarts without its retained messages while the same number stays in
    view: after the reconnect the reading is published again, not after the heartbeat."""
    import shutil

    folder = tmp_path / "frames"
    _last_frames(folder)
    config = _config(tmp_path, mosquitto, folder)
    config.write_text(config.read_text().replace("interval = 0\n", "interval = 0.2\nloop = true\n"))
    daemon = Daemon(config)
    try:
        with Subscriber(mosquitto, ["digitd/meter1/state"]) as sub:
            assert sub.wait_for(lambda: bool(sub.on("digitd/meter1/state")), 20)
        mosquitto.stop()
        shutil.rmtree(mosquitto.workdir / "data")  # no persistence: retained state gone
        (mosquitto.workdir / "data").mkdir()
        mosquitto.start()
        with Subscriber(mosquitto, ["digitd/meter1/state"]) as after:
            assert after.wait_for(lambda: bool(after.on("digitd/meter1/state")), 20)
            assert json.loads(after.on("digitd/meter1/state")[0].payload)["value"] == LAST
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
