"""Home Assistant discovery: the device-based payload key by key, the hand-over of the
per-entity topics of earlier versions, and the republish when HA comes online."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from digitd.edge import __version__
from digitd.edge.mqtt.commands import ReadNow, parse_command
from digitd.edge.mqtt.discovery import discovery_messages, legacy_topics
from digitd.edge.mqtt.publisher import MqttPublisher
from tests.mqtt_broker import Mosquitto, Subscriber, make_config

# Home Assistant's documented keys (MQTT integration, device-based discovery): the
# top level of a device config, and what each component may carry here.
DEVICE_KEYS = {"device", "origin", "cmps"}
COMMON = {"p", "unique_id", "default_entity_id", "name", "availability_topic",
          "payload_available", "payload_not_available", "qos"}
SENSOR_KEYS = COMMON | {"state_topic", "value_template", "state_class", "device_class",
                        "unit_of_measurement", "suggested_display_precision", "icon",
                        "entity_category", "expire_after", "json_attributes_topic"}
BUTTON_KEYS = COMMON | {"command_topic", "payload_press", "icon", "entity_category"}


def device_config(**sections: dict[str, Any]) -> dict[str, Any]:
    cfg = make_config(port=1883, **sections)
    (message,) = discovery_messages(cfg)
    payload: dict[str, Any] = json.loads(message.payload)
    return payload


def test_one_device_message_with_origin_and_components() -> None:
    cfg = make_config(port=1883, device={"id": "kitchen-meter", "name": "Kitchen"})
    (message,) = discovery_messages(cfg)
    assert message.topic == "homeassistant/device/kitchen-meter/config"
    body = json.loads(message.payload)
    assert set(body) == DEVICE_KEYS
    assert body["device"] == {
        "identifiers": ["digitd_kitchen-meter"], "name": "Kitchen", "manufacturer": "digitd",
        "model": "digitd", "sw_version": __version__,
    }
    assert body["origin"] == {"name": "digitd", "sw_version": __version__}
    cmps = body["cmps"]
    assert set(cmps) == {"value", "confidence", "last_reading", "read_now", "last_error",
                         "fps", "frames_dropped", "outbox_backlog"}
    for key, c in cmps.items():
        allowed = BUTTON_KEYS if c["p"] == "button" else SENSOR_KEYS
        assert set(c) <= allowed, (key, set(c) - allowed)
        assert "object_id" not in c
        assert c["unique_id"] == f"digitd_kitchen-meter_{key}"
        assert c["default_entity_id"] == f"{c['p']}.kitchen_meter_{key}"
        assert c["availability_topic"] == "digitd/kitchen-meter/availability"
        assert (c["payload_available"], c["payload_not_available"]) == ("online", "offline")
    value = cmps["value"]
    assert value["p"] == "sensor" and value["state_topic"] == "digitd/kitchen-meter/state"
    assert value["value_template"] == "{{ value_json.value }}"
    assert value["state_class"] == "measurement" and "device_class" not in value
    assert "entity_category" not in value
    # A dead daemon's value goes unavailable: two missed heartbeats (300 s) and some slack.
    assert 600 <= value["expire_after"] <= 700
    assert "confidence" in cmps["confidence"]["value_template"]
    assert cmps["last_reading"]["device_class"] == "timestamp"
    button = cmps["read_now"]
    assert button["p"] == "button" and button["command_topic"] == "digitd/kitchen-meter/cmd"
    assert parse_command(button["payload_press"].encode(), 1024) == ReadNow()
    diagnostics = {k for k, c in cmps.items() if c.get("entity_category") == "diagnostic"}
    assert diagnostics == {"confidence", "last_reading", "last_error", "fps", "frames_dropped",
                           "outbox_backlog"}
    assert cmps["last_error"]["state_topic"] == "digitd/kitchen-meter/error"
    assert cmps["outbox_backlog"]["state_topic"] == "digitd/kitchen-meter/stats"
    assert cmps["outbox_backlog"]["value_template"] == "{{ value_json.mqtt.queued }}"


def test_origin_names_a_support_url_when_configured() -> None:
    url = "https://example.org/our-digitd"
    origin = device_config(homeassistant={"support_url": url})["origin"]
    assert origin == {"name": "digitd", "sw_version": __version__, "support_url": url}


def test_meter_state_class_device_class_and_unit() -> None:
    value = device_config(decision={"meter": True},
                          homeassistant={"device_class": "water", "unit": "m³"},
                          locate={"decimals": 3})["cmps"]["value"]
    # total, not total_increasing: HA books any drop of the latter as a meter reset and
    # adds the whole new value as consumption.
    assert value["state_class"] == "total"
    assert value["device_class"] == "water" and value["unit_of_measurement"] == "m³"
    assert value["suggested_display_precision"] == 3
    over = device_config(decision={"meter": True},
                         homeassistant={"state_class": "total_increasing"})
    assert over["cmps"]["value"]["state_class"] == "total_increasing"
    assert "expire_after" not in device_config(decision={"heartbeat": 0})["cmps"]["value"]


def test_boxes_mode_exposes_the_extended_value_beside_the_value() -> None:
    cmps = device_config(
        decision={"meter": True}, homeassistant={"device_class": "gas", "unit": "m³"},
        locate={"mode": "boxes", "boxes": [[0, 0, 10, 20]]},
    )["cmps"]
    extended = cmps["extended_value"]
    assert extended["value_template"].startswith("{{ value_json.extended_value")
    assert extended["state_class"] == "total" and extended["device_class"] == "gas"
    assert cmps["value"]["value_template"] == "{{ value_json.value }}"


def test_custom_prefix_and_base_topic_and_off() -> None:
    cfg = make_config(port=1883, homeassistant={"prefix": "ha"},
                      mqtt={"base_topic": "house/meter"})
    (message,) = discovery_messages(cfg)
    assert message.topic.startswith("ha/device/")
    assert json.loads(message.payload)["cmps"]["value"]["state_topic"] == "house/meter/state"
    assert all(t.startswith("ha/") for t in legacy_topics(cfg))
    assert discovery_messages(make_config(port=1883, homeassistant={"discovery": False})) == []


def test_published_retained_migrated_once_and_again_when_home_assistant_starts(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cfg = make_config(mosquitto)
    device_id = cfg.device.id
    topic = f"homeassistant/device/{device_id}/config"
    old = f"homeassistant/sensor/{device_id}/value/config"
    # What the previous version left on the broker: a retained per-entity config.
    with Subscriber(mosquitto, [old]) as earlier:
        earlier.publish(old, json.dumps({"unique_id": f"digitd_{device_id}_value"}),
                        retain=True)
    with Subscriber(mosquitto, ["homeassistant/#"]) as ha:
        pub = MqttPublisher(cfg, tmp_path / "state")
        pub.start()
        assert pub.wait_connected(10)
        (first,) = ha.wait_count(topic, 1)
        assert json.loads(first.payload)["cmps"]["value"]["unique_id"] == \
            f"digitd_{device_id}_value"
        # The old topic: first the hand-over, then cleared (no duplicate entities).
        olds = ha.wait_count(old, 3)  # the retained leftover, migrate, empty
        assert json.loads(olds[1].payload) == {"migrate_discovery": True}
        assert olds[2].payload == b""
        seen = list(ha.messages)
        migrate = next(i for i, m in enumerate(seen) if m.topic == old and b"migrate" in m.payload)
        cleared = next(i for i, m in enumerate(seen) if m.topic == old and m.payload == b"")
        device = next(i for i, m in enumerate(seen) if m.topic == topic)
        assert migrate < device < cleared  # Home Assistant's documented order

        with Subscriber(mosquitto, ["homeassistant/#"]) as late:
            assert late.wait_for(lambda: bool(late.on(topic)), 5)
            assert late.on(topic)[0].retain
            assert not late.on(old), "the old per-entity config is gone from the broker"

        ha.publish("homeassistant/status", "online")
        ha.wait_count(topic, 2)
        ha.publish("homeassistant/status", "offline")  # no reaction to that
        ha.publish("homeassistant/status", "online")
        ha.wait_count(topic, 3)
        pub.stop()
        assert len(ha.on(topic)) == 3
        assert len(ha.on(old)) == 3, "the hand-over happens once, not on every publish"
    # A restart on the same state directory does not hand over again.
    with Subscriber(mosquitto, ["homeassistant/#"]) as ha2:
        pub = MqttPublisher(cfg, tmp_path / "state")
        pub.start()
        assert pub.wait_connected(10)
        ha2.wait_count(topic, 2)  # retained + the new publish
        pub.stop()
        assert not ha2.on(old)
