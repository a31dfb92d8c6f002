"""MqttPublisher against a real Mosquitto: flags, availability, last will, TLS, auth, outages."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digitd.edge.mqtt.payloads import Error, State, Stats
from digitd.edge.mqtt.publisher import WINDOW, MqttPublisher
from digitd.edge.mqtt.security import MqttSetupError
from digitd.edge.reading import DigitRead, Prediction, Reading
from tests.mqtt_broker import Mosquitto, Subscriber, TlsFiles, make_config, wait_until

FAST = (1, 1)  # reconnect delay in tests: retry every second


def numbered(i: int) -> State:
    """A state message that says its place in the sequence (as ``frame``)."""
    return State(str(i), (), 1.0, frame=i)


def stats(fps: float) -> Stats:
    return Stats(fps=fps, frame_ms=0.0, inference_ms=0.0, frames=0, frames_dropped=0,
                 published=0, rejected=0, errors=0, uptime_s=10.0, camera={}, mqtt={})


def seqs(messages: list[bytes]) -> list[int]:
    return [json.loads(p)["frame"] for p in messages]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def started(publisher: MqttPublisher) -> MqttPublisher:
    publisher.start()
    assert publisher.wait_connected(15), publisher.stats()
    return publisher


def test_state_is_retained_qos1_and_availability_follows(mosquitto: Mosquitto,
                                                         state_dir: Path) -> None:
    cfg = make_config(mosquitto)
    base = cfg.base_topic
    with Subscriber(mosquitto, [f"{base}/#"]) as live:
        pub = started(MqttPublisher(cfg, state_dir, reconnect_delay=FAST))
        reading = Reading(digits=(DigitRead(1, (0, 0, 5, 9), Prediction(1, 0.99, (0.0,) * 10)),
                                  DigitRead(7, (6, 0, 5, 9), Prediction(7, 0.93, (0.0,) * 10))),
                          decimals=1)
        pub.publish_state(State.of_reading(reading, frame=12))
        (msg,) = live.wait_count(f"{base}/state", 1)
        assert msg.qos == 1
        state = json.loads(msg.payload)
        assert state["value"] == "1.7"
        assert state["digits"] == [{"digit": 1, "confidence": 0.99},
                                   {"digit": 7, "confidence": 0.93}]
        assert state["confidence"] == 0.93
        assert state["timestamp"].endswith("+00:00") and state["frame"] == 12
        assert [m.payload for m in live.wait_count(f"{base}/availability", 1)] == [b"online"]
        assert wait_until(lambda: pub.stats().delivered == 1)
        assert pub.stats().queued == 0

        # A subscriber arriving later gets the retained state and availability.
        with Subscriber(mosquitto, [f"{base}/state", f"{base}/availability"]) as late:
            (kept,) = late.wait_count(f"{base}/state", 1)
            assert kept.retain and kept.qos == 1 and json.loads(kept.payload) == state
            (avail,) = late.wait_count(f"{base}/availability", 1)
            assert avail.retain and avail.payload == b"online"

        pub.stop()
        assert not pub.connected
        live.wait_for(lambda: [m.payload for m in live.on(f"{base}/availability")]
                      == [b"online", b"offline"])
        with Subscriber(mosquitto, [f"{base}/availability"]) as late:
            (avail,) = late.wait_count(f"{base}/availability", 1)
            assert avail.retain and avail.qos == 1 and avail.payload == b"offline"


def test_stats_and_error_topics(mosquitto: Mosquitto, state_dir: Path) -> None:
    cfg = make_config(mosquitto)
    base = cfg.base_topic
    with Subscriber(mosquitto, [f"{base}/stats", f"{base}/error"]) as sub:
        pub = started(MqttPublisher(cfg, state_dir))
        assert pub.publish_stats(stats(2.5))
        assert pub.publish_error(Error("low_confidence", "digit 3 below 0.6"))
        assert json.loads(sub.wait_count(f"{base}/stats", 1)[0].payload)["fps"] == 2.5
        (err,) = sub.wait_count(f"{base}/error", 1)
        body = json.loads(err.payload)
        assert err.qos == 1 and body["error"] == "low_confidence" and "timestamp" in body
        pub.stop()
    assert not pub.publish_stats(stats(1.0))  # offline: skipped, not queued


def test_state_payload_must_be_plain_json(mosquitto: Mosquitto, state_dir: Path) -> None:
    pub = MqttPublisher(make_config(mosquitto), state_dir)
    with pytest.raises(ValueError, match="not plain JSON"):
        pub.publish_state(State("1", (), float("nan")))
    pub.stop()


CHILD = """
import json, sys, time
from pathlib import Path
from digitd.edge.config import parse_config
from digitd.edge.mqtt.publisher import MqttPublisher
pub = MqttPublisher(parse_config(json.loads(sys.argv[1])), Path(sys.argv[2]))
pub.start()
print("connected" if pub.wait_connected(20) else "failed", flush=True)
time.sleep(600)
"""


@pytest.fixture
def child_publisher(mosquitto: Mosquitto,
                    state_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    cfg = make_config(mosquitto)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(cfg.model_dump(mode="json")), str(state_dir)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        yield cfg.base_topic, proc
    finally:
        proc.kill()
        proc.wait()


def test_last_will_offline_after_kill_9(mosquitto: Mosquitto,
                                        child_publisher: tuple[str, subprocess.Popen[str]]) -> None:
    base, proc = child_publisher
    with Subscriber(mosquitto, [f"{base}/availability"]) as sub:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
        sub.wait_for(lambda: any(m.payload == b"online" for m in sub.on(f"{base}/availability")))
        os.kill(proc.pid, signal.SIGKILL)
        msgs = sub.wait_count(f"{base}/availability", 2)
        assert [m.payload for m in msgs][-1] == b"offline"
    with Subscriber(mosquitto, [f"{base}/availability"]) as late:
        (avail,) = late.wait_count(f"{base}/availability", 1)
        assert avail.retain and avail.payload == b"offline"


def tls_config(broker: Mosquitto, tls: TlsFiles, tmp_path: Path,
               ca: Path | None = None) -> dict[str, str]:
    key_password = tmp_path / "key-password"
    key_password.write_text(tls.key_password + "\n")
    return {"ca": str(ca or tls.ca), "cert": str(tls.client_cert), "key": str(tls.client_key),
            "key_password_file": str(key_password)}


def test_tls_with_client_certificate(mosquitto_tls: Mosquitto, tls_files: TlsFiles,
                                     tmp_path: Path, state_dir: Path) -> None:
    cfg = make_config(mosquitto_tls, mqtt={"tls": tls_config(mosquitto_tls, tls_files, tmp_path)})
    with Subscriber(mosquitto_tls, [f"{cfg.base_topic}/state"]) as sub:
        pub = started(MqttPublisher(cfg, state_dir))
        pub.publish_state(State("42", (), 1.0))
        assert json.loads(sub.wait_count(f"{cfg.base_topic}/state", 1)[0].payload)["value"] == "42"
        pub.stop()


def test_tls_unknown_server_ca_is_a_clear_error(mosquitto_tls: Mosquitto, tls_files: TlsFiles,
                                                tmp_path: Path, state_dir: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    tls = tls_config(mosquitto_tls, tls_files, tmp_path, ca=tls_files.other_ca)
    pub = MqttPublisher(make_config(mosquitto_tls, mqtt={"tls": tls}), state_dir)
    with caplog.at_level(logging.ERROR, logger="digitd.edge.mqtt.health"):
        pub.start()
        assert wait_until(lambda: pub.last_error is not None)
        assert not pub.wait_connected(0.5)
        pub.stop()
    assert "certificate verify failed" in (pub.last_error or "")
    assert "mqtt.tls" in (pub.last_error or "")
    assert any("certificate" in r.getMessage() for r in caplog.records)


def test_tls_setup_problems_are_named(mosquitto_tls: Mosquitto, tls_files: TlsFiles,
                                      tmp_path: Path, state_dir: Path) -> None:
    tls = tls_config(mosquitto_tls, tls_files, tmp_path)
    with pytest.raises(MqttSetupError, match=r"mqtt\.tls\.ca: .*missing\.pem"):
        MqttPublisher(make_config(mosquitto_tls, mqtt={
            "tls": {**tls, "ca": str(tmp_path / "missing.pem")}}), state_dir)
    wrong = tmp_path / "wrong-password"
    wrong.write_text("nope\n")
    with pytest.raises(MqttSetupError, match="passphrase"):
        MqttPublisher(make_config(mosquitto_tls, mqtt={
            "tls": {**tls, "key_password_file": str(wrong)}}), state_dir)


def test_refused_credentials_give_a_clear_error(mosquitto_auth: Mosquitto, tmp_path: Path,
                                                state_dir: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    password = tmp_path / "password"
    password.write_text("wrong-password-123\n")
    cfg = make_config(mosquitto_auth, mqtt={"username": "digitd",
                                            "password_file": str(password)})
    pub = MqttPublisher(cfg, state_dir, reconnect_delay=FAST)
    with caplog.at_level(logging.DEBUG):
        pub.start()
        assert wait_until(lambda: pub.last_error is not None)
        assert not pub.connected
        assert not pub.wait_connected(1.5)  # it retries, and is refused again
        pub.publish_state(State("1", (), 1.0))  # kept for later, not lost
        pub.stop()
    error = pub.last_error or ""
    assert "refused" in error and "Not authorized" in error
    assert "mqtt.username" in error and "password" in error
    refusals = [r for r in caplog.records if r.levelno == logging.ERROR and "refused" in r.message]
    assert len(refusals) == 1  # logged once, not on every retry
    assert "wrong-password-123" not in caplog.text
    assert pub.stats().connects == 0


def test_password_from_systemd_credentials(mosquitto_auth: Mosquitto, tmp_path: Path,
                                           state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    cfg = make_config(mosquitto_auth, mqtt={"username": "digitd"})
    with caplog.at_level(logging.DEBUG):
        pub = started(MqttPublisher(cfg, state_dir))
        pub.stop()
    assert "s3cret" not in caplog.text


def test_unreadable_password_file_is_named(mosquitto: Mosquitto, tmp_path: Path,
                                           state_dir: Path) -> None:
    cfg = make_config(mosquitto, mqtt={"username": "u",
                                       "password_file": str(tmp_path / "nope")})
    with pytest.raises(MqttSetupError, match=r"MQTT password from .*nope.*mqtt\.password_file"):
        MqttPublisher(cfg, state_dir)


@pytest.mark.slow
def test_broker_and_daemon_restarts_lose_nothing(mosquitto: Mosquitto, state_dir: Path) -> None:
    """Broker stopped mid-run, the daemon restarted meanwhile: every reading arrives, in order."""
    cfg = make_config(mosquitto)
    state = f"{cfg.base_topic}/state"
    # A persistent session: the broker keeps what arrives while this client is away.
    sub = Subscriber(mosquitto, [state], client_id="collector", clean=False)
    pub = started(MqttPublisher(cfg, state_dir, reconnect_delay=FAST))
    for i in range(30):
        pub.publish_state(numbered(i))
    sub.wait_count(state, 5)
    mosquitto.stop()  # mid-run: some readings are still in flight
    for i in range(30, 50):
        pub.publish_state(numbered(i))
    pub.stop(timeout=1.0)

    pub = MqttPublisher(cfg, state_dir, reconnect_delay=FAST)  # the daemon restarted
    pub.start()
    for i in range(50, 70):
        pub.publish_state(numbered(i))
    assert pub.stats().queued >= 40
    mosquitto.start()
    assert pub.wait_connected(15)
    assert sub.wait_for(lambda: 69 in seqs([m.payload for m in sub.on(state)]), 20)
    assert wait_until(lambda: pub.stats().queued == 0)
    pub.stop()
    sub.close()

    received = seqs([m.payload for m in sub.on(state)])
    first_seen = list(dict.fromkeys(received))
    assert first_seen == list(range(70))  # all of them, in order, nothing else
    # At-least-once: resent at most our window of unacknowledged readings, plus the
    # broker's own window of messages unacknowledged by the collector.
    assert len(received) - len(first_seen) <= 2 * WINDOW
    with Subscriber(mosquitto, [state]) as late:
        assert seqs([late.wait_count(state, 1)[0].payload]) == [69]


def test_outbox_bound_keeps_the_newest(mosquitto: Mosquitto, state_dir: Path) -> None:
    cfg = make_config(mosquitto, mqtt={"outbox_max": 10})
    mosquitto.stop()
    pub = MqttPublisher(cfg, state_dir, reconnect_delay=FAST)
    pub.start()
    for i in range(25):
        pub.publish_state(numbered(i))
    assert pub.stats().dropped == 15 and pub.stats().queued == 10
    pub.stop(timeout=0.5)

    mosquitto.start()
    state = f"{cfg.base_topic}/state"
    with Subscriber(mosquitto, [state]) as sub:
        pub = started(MqttPublisher(cfg, state_dir))
        sub.wait_for(lambda: 24 in seqs([m.payload for m in sub.on(state)]))
        pub.stop()
        assert seqs([m.payload for m in sub.on(state)]) == list(range(15, 25))


def _watched(broker: Mosquitto, **mqtt_section: Any) -> str:
    """What ``digitd run --show-mqtt``'s watcher prints for a state published on ``broker``."""
    import io
    import time

    from digitd.edge.mqtt.watch import MqttWatcher

    cfg = make_config(broker, mqtt=mqtt_section)
    out = io.StringIO()
    watcher = MqttWatcher(cfg, out=out)
    watcher.start()
    try:
        with Subscriber(broker, []) as pub:
            deadline = time.monotonic() + 10
            # Publish until the watcher (connecting in the background) has seen one.
            while "mqtt " not in out.getvalue() and time.monotonic() < deadline:
                pub.publish(f"{cfg.base_topic}/state", '{"value": "7"}')
                time.sleep(0.1)
    finally:
        watcher.stop()
    return out.getvalue().replace(cfg.base_topic, "BASE")


def test_show_mqtt_watcher_uses_the_configs_tls(mosquitto_tls: Mosquitto, tls_files: TlsFiles,
                                                tmp_path: Path) -> None:
    printed = _watched(mosquitto_tls, tls=tls_config(mosquitto_tls, tls_files, tmp_path))
    assert "mqtt BASE/state" in printed


def test_show_mqtt_watcher_uses_the_configs_credentials(mosquitto_auth: Mosquitto,
                                                        tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    printed = _watched(mosquitto_auth, username="digitd", password_file=str(password))
    assert "mqtt BASE/state" in printed
