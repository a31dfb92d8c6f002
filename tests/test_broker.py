"""The embedded broker (amqtt, or the mosquitto binary) with paho 2 and the publisher."""

from __future__ import annotations

import importlib.util
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitd.edge.mqtt.broker import Backend, BrokerError, EmbeddedBroker, free_port
from digitd.edge.mqtt.payloads import State
from digitd.edge.mqtt.publisher import MqttPublisher
from tests.mqtt_broker import MOSQUITTO, Subscriber, make_config

BACKENDS = [
    pytest.param("amqtt", marks=pytest.mark.skipif(
        importlib.util.find_spec("amqtt") is None, reason="amqtt not installed")),
    pytest.param("mosquitto", marks=pytest.mark.skipif(
        MOSQUITTO is None, reason="mosquitto not installed")),
]


@pytest.fixture(params=BACKENDS)
def broker(request: pytest.FixtureRequest) -> Iterator[EmbeddedBroker]:
    backend: Backend = request.param
    b = EmbeddedBroker(port=0, backend=backend)
    b.start()
    yield b
    b.stop()


def test_publisher_with_the_embedded_broker(broker: EmbeddedBroker, tmp_path: Path) -> None:
    # mqtt.host unset: the publisher goes to the embedded broker on 127.0.0.1.
    cfg = make_config(port=broker.port, mqtt={"host": None})
    base = cfg.base_topic
    with Subscriber(broker, [f"{base}/#"]) as sub:
        pub = MqttPublisher(cfg, tmp_path / "state")
        pub.start()
        assert pub.wait_connected(10)
        pub.publish_state(State("0042", (), 1.0))
        (state,) = sub.wait_count(f"{base}/state", 1)
        assert json.loads(state.payload)["value"] == "0042" and state.qos == 1
        pub.stop()
        avail = sub.wait_count(f"{base}/availability", 2)
        assert [m.payload for m in avail] == [b"online", b"offline"]
    with Subscriber(broker, [f"{base}/state"]) as late:
        kept = late.wait_count(f"{base}/state", 1)[0]
        assert kept.retain and json.loads(kept.payload)["value"] == "0042"


def test_stop_closes_the_port(broker: EmbeddedBroker) -> None:
    port = broker.port
    broker.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_port_in_use_is_a_clear_error(backend: Backend) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port()))
        busy.listen()
        taken = busy.getsockname()[1]
        b = EmbeddedBroker(port=taken, backend=backend)
        try:
            with pytest.raises(BrokerError, match=str(taken)):
                b.start(timeout=5)
        finally:
            b.stop()


def test_default_backend_is_amqtt_when_installed() -> None:
    if importlib.util.find_spec("amqtt") is None:
        pytest.skip("amqtt not installed")
    with EmbeddedBroker(port=0) as b:
        assert b.backend == "amqtt"


def test_qos0_commands_reach_the_publisher_with_a_wildcard_subscriber_connected(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """``mosquitto_sub -t 'digitd/#'`` (a QoS 0 wildcard subscription) beside the daemon,
    commands sent at QoS 0 (``mosquitto_pub``'s default): every one arrives."""
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from digitd.edge.mqtt.commands import Command, ReadNow

    cfg = make_config(port=broker.port, mqtt={"host": None})
    base = cfg.base_topic
    got: list[Command] = []
    arrived = threading.Event()

    def on_command(command: Command) -> None:
        got.append(command)
        if len(got) == 3:
            arrived.set()

    pub = MqttPublisher(cfg, tmp_path / "state", on_command=on_command)
    pub.start()
    assert pub.wait_connected(10)
    subscribed = threading.Event()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2)
    watcher.on_subscribe = lambda *args: subscribed.set()
    watcher.connect(broker.host, broker.port)
    watcher.subscribe(f"{base.split('/')[0]}/#", qos=0)
    watcher.loop_start()
    sender = mqtt.Client(CallbackAPIVersion.VERSION2)
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    try:
        assert subscribed.wait(10)
        for _ in range(3):
            sender.publish(f"{base}/cmd", json.dumps({"command": "read_now"}), qos=0)
        assert arrived.wait(10), got
        assert got == [ReadNow()] * 3
    finally:
        for client in (watcher, sender):
            client.loop_stop()
            client.disconnect()
        pub.stop()
