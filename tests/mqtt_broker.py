"""A real Mosquitto for the MQTT tests: plain, password-protected and TLS variants.

The fixtures (in ``conftest.py``: ``mosquitto``, ``mosquitto_auth``, ``mosquitto_tls``,
``tls_files``) start ``mosquitto -c FILE`` on a free loopback port in a temporary
directory, wait until it accepts connections and kill it after the test.
:class:`Subscriber` is a plain paho client that records what it receives.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from digitd.edge.config import DigitdConfig, parse_config
from digitd.edge.mqtt.broker import EmbeddedBroker, free_port, wait_listening

MOSQUITTO = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")

needs_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto not installed (apt install mosquitto)"
)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with key_password
    key_password: str
    other_ca: Path  # a CA that did not sign the server certificate


class Mosquitto:
    """One mosquitto process; ``stop()`` + ``start()`` restarts it on the same port."""

    def __init__(self, workdir: Path, conf: str = "", *, username: str | None = None,
                 password: str | None = None, tls: TlsFiles | None = None) -> None:
        assert MOSQUITTO is not None
        self.workdir = workdir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.username, self.password, self.tls = username, password, tls
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        (workdir / "data").mkdir(exist_ok=True)
        self.conf.write_text(
            f"listener {self.port} {self.host}\n"
            "user root\n"  # as root, mosquitto would drop to a user that cannot read tmp files
            f"log_dest file {self.log}\nlog_type all\n"
            f"persistence true\npersistence_location {workdir / 'data'}/\n"
            + conf
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not wait_listening(self.host, self.port, 0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{log}")

    def stop(self) -> None:
        """SIGTERM: a clean stop that saves persistent sessions."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_broker(tmp_path: Path, **kwargs: Any) -> Iterator[Mosquitto]:
    if MOSQUITTO is None:
        # scripts/test.sh installs it; in CI a missing broker is a failure, not a skip.
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed (apt install mosquitto)")
        pytest.skip("mosquitto not installed (apt install mosquitto)")
    workdir = tmp_path / "broker"
    workdir.mkdir()
    broker = Mosquitto(workdir, **kwargs)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={name}", cwd=d)


def make_cert(d: Path, name: str, san: str | None, key_password: str | None = None) -> None:
    key_args = ["-passout", f"pass:{key_password}"] if key_password else ["-nodes"]
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", *key_args,
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name,
             cwd=d)


def make_config(broker: Mosquitto | EmbeddedBroker | None = None, *, port: int | None = None,
                **sections: dict[str, Any]) -> DigitdConfig:
    """A config pointing at ``broker`` with a unique device id; ``sections`` are merged in."""
    mqtt_section: dict[str, Any] = {"host": "127.0.0.1",
                                    "port": port or (broker.port if broker else 1883)}
    mqtt_section.update(sections.pop("mqtt", {}))
    data: dict[str, Any] = {
        "device": {"id": f"t{uuid.uuid4().hex[:10]}"},
        "camera": {"source": "0"},
        "mqtt": mqtt_section,
        **sections,
    }
    return parse_config(data)


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int


@dataclass
class Subscriber:
    """A paho client subscribed to ``topics``; records every message it receives.

    ``client_id`` + ``clean=False`` make a persistent session: QoS 1 messages
    published while it is disconnected are kept by the broker for it.
    """

    broker: Mosquitto | EmbeddedBroker
    topics: list[str] = field(default_factory=lambda: ["#"])
    client_id: str = ""
    clean: bool = True
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  clean_session=self.clean)
        self.client.reconnect_delay_set(1, 1)
        if isinstance(self.broker, Mosquitto) and self.broker.username:
            self.client.username_pw_set(self.broker.username, self.broker.password)
        if isinstance(self.broker, Mosquitto) and self.broker.tls:
            tls = self.broker.tls
            self.client.tls_set(str(tls.ca), str(tls.client_cert), str(tls.client_key),
                                keyfile_password=tls.key_password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(self.broker.host, self.broker.port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("test subscriber: no SUBACK")

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        if self.topics:
            client.subscribe([(t, 1) for t in self.topics])
        else:  # a client that only publishes
            self._subscribed.set()

    def _on_subscribe(self, *args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))
            self._cond.notify_all()

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def notify(self) -> None:
        """Wake :meth:`wait_for` after a change it cannot see (e.g. a callback in the test)."""
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_count(self, topic: str, n: int, timeout: float = 10.0) -> list[Received]:
        """At least ``n`` messages on ``topic``; fails the test after ``timeout``."""
        if not self.wait_for(lambda: len(self.on(topic)) >= n, timeout):
            got = [m.payload for m in self.on(topic)]
            pytest.fail(f"expected {n} messages on {topic} within {timeout}s, got {got}")
        return self.on(topic)

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0,
               interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (for state without events)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True

