"""Home Assistant discovery: the payloads, and the republish when HA comes online."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from digitd.edge import __version__
from digitd.edge.commands import ReadNow, parse_command
from digitd.edge.discovery import discovery_messages
from digitd.edge.mqtt import MqttPublisher
from tests.mqtt_broker import (
    Mosquitto,
    Subscriber,
    make_config,
    mosquitto_fixture,  # noqa: F401  (a fixture, used by name)
)


def payloads(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cfg = make_config(port=1883, **sections)
    return {m.topic.split("/")[-2]: json.loads(m.payload) for m in discovery_messages(cfg)}


def test_topics_ids_device_and_availability() -> None:
    cfg = make_config(port=1883, device={"id": "kitchen-meter", "name": "Kitchen"})
    msgs = discovery_messages(cfg)
    assert [m.topic for m in msgs] == [
        "homeassistant/sensor/kitchen-meter/value/config",
        "homeassistant/sensor/kitchen-meter/confidence/config",
        "homeassistant/sensor/kitchen-meter/last_reading/config",
        "homeassistant/button/kitchen-meter/read_now/config",
    ]
    bodies = [json.loads(m.payload) for m in msgs]
    assert len({b["unique_id"] for b in bodies}) == len(bodies)
    for body in bodies:
        assert body["unique_id"].startswith("digitd_kitchen-meter_")
        assert body["device"]["identifiers"] == ["digitd_kitchen-meter"]
        assert body["device"]["name"] == "Kitchen"
        assert body["device"]["model"] == "digitd"
        assert body["device"]["sw_version"] == __version__
        assert body["availability_topic"] == "digitd/kitchen-meter/availability"
    value = bodies[0]
    assert value["state_topic"] == "digitd/kitchen-meter/state"
    assert value["value_template"] == "{{ value_json.value }}"
    assert value["state_class"] == "measurement" and "device_class" not in value
    assert "confidence" in bodies[1]["value_template"] and bodies[1]["unit_of_measurement"] == "%"
    assert bodies[2]["device_class"] == "timestamp"
    button = bodies[3]
    assert button["command_topic"] == "digitd/kitchen-meter/cmd"
    assert parse_command(button["payload_press"].encode(), 1024) == ReadNow()


def test_meter_state_class_device_class_and_unit() -> None:
    meter = payloads(decision={"meter": True},
                     homeassistant={"device_class": "water", "unit": "m³"},
                     locate={"decimals": 3})["value"]
    assert meter["state_class"] == "total_increasing"
    assert meter["device_class"] == "water" and meter["unit_of_measurement"] == "m³"
    assert meter["suggested_display_precision"] == 3
    assert payloads(decision={"meter": True, "allow_decrease": True})["value"]["state_class"] \
        == "total"
    assert payloads(decision={"meter": True},
                    homeassistant={"state_class": "measurement"})["value"]["state_class"] \
        == "measurement"


def test_custom_prefix_and_base_topic_and_off() -> None:
    cfg = make_config(port=1883, homeassistant={"prefix": "ha"},
                      mqtt={"base_topic": "house/meter"})
    msgs = discovery_messages(cfg)
    assert all(m.topic.startswith("ha/") for m in msgs)
    assert json.loads(msgs[0].payload)["state_topic"] == "house/meter/state"
    assert discovery_messages(make_config(port=1883, homeassistant={"discovery": False})) == []


def test_published_retained_and_again_when_home_assistant_starts(mosquitto: Mosquitto,
                                                                 tmp_path: Path) -> None:
    cfg = make_config(mosquitto)
    topic = f"homeassistant/sensor/{cfg.device.id}/value/config"
    with Subscriber(mosquitto, ["homeassistant/+/+/+/config"]) as ha:
        pub = MqttPublisher(cfg, tmp_path / "state")
        pub.start()
        assert pub.wait_connected(10)
        (first,) = ha.wait_count(topic, 1)
        assert json.loads(first.payload)["unique_id"] == f"digitd_{cfg.device.id}_value"
        assert len(ha.wait_count(f"homeassistant/button/{cfg.device.id}/read_now/config", 1)) == 1

        with Subscriber(mosquitto, [topic]) as late:  # kept by the broker
            assert late.wait_count(topic, 1)[0].retain

        ha.publish("homeassistant/status", "online")
        ha.wait_count(topic, 2)
        ha.publish("homeassistant/status", "offline")  # no reaction to that
        ha.publish("homeassistant/status", "online")
        ha.wait_count(topic, 3)
        pub.stop()
        assert len(ha.on(topic)) == 3
