"""Home Assistant MQTT discovery: one retained device message that creates every entity.

Device-based discovery (Home Assistant 2024.11 and later): one retained message on
``<prefix>/device/<device id>/config`` carries the device, an ``origin`` block and
the components (``cmps``):

* ``value``: the reading (``value`` of the state JSON). For a meter a ``total``
  sensor: Home Assistant's recorder takes any drop of a ``total_increasing``
  sensor as a meter reset and adds the whole new value as consumption, so one
  misread would book the meter's entire reading; with ``total`` a wrong drop is a
  visible negative step. ``expire_after`` makes a dead daemon's value unavailable.
* ``extended_value`` (counter wheels read by the meter-window model): the value with
  the last wheel's tenth as one more decimal; none for ``display = "lcd"``.
* ``read_now``: a button that publishes ``{"command": "read_now"}`` on ``<base>/cmd``.
* diagnostics (``entity_category: diagnostic``): confidence, last reading, last
  error, frames per second, frames dropped, outbox backlog.

Entity ids are suggested with ``default_entity_id`` (``object_id`` is deprecated).
The per-entity topics earlier versions published are handed over with Home
Assistant's ``migrate_discovery`` message and then cleared, so no duplicate
entities remain (:func:`migration_messages`). Published on every connect and when
Home Assistant announces ``online`` on ``<prefix>/status``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..config import DigitdConfig

logger = logging.getLogger(__name__)

# Units Home Assistant accepts for each device class of a meter.
_UNITS = {
    "water": ("L", "m³", "ft³", "CCF", "gal"),
    "gas": ("m³", "ft³", "CCF"),
    "energy": ("Wh", "kWh", "MWh", "GWh", "MJ", "GJ"),
}
# What earlier versions published one message each for: (component, object id).
LEGACY_ENTITIES = (
    ("sensor", "value"),
    ("sensor", "confidence"),
    ("sensor", "last_reading"),
    ("button", "read_now"),
)


@dataclass(frozen=True)
class DiscoveryMessage:
    topic: str
    payload: bytes  # JSON, or empty to clear a retained config; published retained, QoS 1


def status_topic(config: DigitdConfig) -> str:
    """Where Home Assistant announces ``online``/``offline``."""
    return f"{config.homeassistant.prefix}/status"


def device_topic(config: DigitdConfig) -> str:
    return f"{config.homeassistant.prefix}/device/{config.device.id}/config"


def _state_class(config: DigitdConfig) -> str:
    ha, decision = config.homeassistant, config.decision
    if ha.state_class is not None:
        return ha.state_class
    return "total" if decision.meter else "measurement"


def entity_id(platform: str, config: DigitdConfig, key: str) -> str:
    """A Home Assistant entity id: ``sensor.kitchen_meter_value``."""
    slug = re.sub(r"[^a-z0-9_]+", "_", f"{config.device.id}_{key}".lower()).strip("_")
    return f"{platform}.{slug}"


def _expire_after(config: DigitdConfig) -> int | None:
    """Seconds after which a value not refreshed is unavailable: two missed heartbeats
    (plus the time stable readings take), so a dead daemon's reading does not linger."""
    heartbeat = config.decision.heartbeat
    if heartbeat <= 0:
        return None
    return int(2 * heartbeat + 60 + config.decision.stable_count * config.camera.interval)


def _value_component(config: DigitdConfig) -> dict[str, Any]:
    ha = config.homeassistant
    entity: dict[str, Any] = {
        "p": "sensor",
        "name": "Value",
        "state_class": _state_class(config),
        "value_template": "{{ value_json.value }}",
        "icon": "mdi:counter",
    }
    if ha.device_class != "none":
        entity["device_class"] = ha.device_class
        allowed = _UNITS[ha.device_class]
        if ha.unit not in allowed:
            logger.warning(
                "homeassistant.device_class = %r needs homeassistant.unit set to one of %s "
                "(now %r); Home Assistant will reject the value sensor",
                ha.device_class, ", ".join(allowed), ha.unit,
            )
    if ha.unit is not None:
        entity["unit_of_measurement"] = ha.unit
    places = config.locate.decimals + len(config.locate.dials)
    if places:
        entity["suggested_display_precision"] = places
    expire = _expire_after(config)
    if expire is not None:
        entity["expire_after"] = expire
    return entity


def _components(config: DigitdConfig) -> dict[str, dict[str, Any]]:
    base = config.base_topic
    state, stats, error = f"{base}/state", f"{base}/stats", f"{base}/error"
    diagnostic = {"entity_category": "diagnostic"}
    components: dict[str, dict[str, Any]] = {
        "value": {"state_topic": state, **_value_component(config)},
        "confidence": {
            "p": "sensor", "name": "Confidence", "state_topic": state,
            "value_template": "{{ (value_json.confidence * 100) | round(1) }}",
            "unit_of_measurement": "%", "state_class": "measurement",
            "icon": "mdi:check-decagram", **diagnostic,
        },
        "last_reading": {
            "p": "sensor", "name": "Last reading", "state_topic": state,
            "value_template": "{{ value_json.timestamp }}", "device_class": "timestamp",
            **diagnostic,
        },
        "read_now": {
            "p": "button", "name": "Read now", "command_topic": f"{base}/cmd",
            "payload_press": json.dumps({"command": "read_now"}), "icon": "mdi:camera",
        },
        "last_error": {
            "p": "sensor", "name": "Last error", "state_topic": error,
            "value_template": "{{ value_json.error }}",
            "json_attributes_topic": error, "icon": "mdi:alert-circle-outline", **diagnostic,
        },
        "fps": {
            "p": "sensor", "name": "Frames per second", "state_topic": stats,
            "value_template": "{{ value_json.fps }}", "unit_of_measurement": "fps",
            "state_class": "measurement", "icon": "mdi:speedometer", **diagnostic,
        },
        "frames_dropped": {
            "p": "sensor", "name": "Frames dropped", "state_topic": stats,
            "value_template": "{{ value_json.frames_dropped }}", "state_class": "total",
            "icon": "mdi:image-off-outline", **diagnostic,
        },
        "outbox_backlog": {
            "p": "sensor", "name": "Outbox backlog", "state_topic": stats,
            "value_template": "{{ value_json.mqtt.queued }}", "unit_of_measurement": "readings",
            "state_class": "measurement", "icon": "mdi:tray-full", **diagnostic,
        },
    }
    if config.locate.dials:
        # The dials carry the value to the litre: its flow, and a leak when it never stops.
        unit, _ = config.homeassistant.flow_unit()
        components["flow"] = {
            "p": "sensor", "name": "Flow", "state_topic": stats,
            "value_template": "{{ value_json.flow | default(none) }}",
            "unit_of_measurement": unit, "state_class": "measurement", "icon": "mdi:water-pump",
            **({"device_class": "volume_flow_rate"} if unit == "L/min" else {}),
        }
        if config.decision.leak_hours > 0:
            components["leak"] = {
                "p": "binary_sensor", "name": "Leak", "state_topic": stats,
                "value_template": "{{ 'ON' if value_json.leak else 'OFF' }}",
                "device_class": "moisture", "icon": "mdi:water-alert",
            }
    elif config.locate.mode == "boxes" and config.locate.display == "wheels":
        # An LCD's digits jump: there is no tenth to add, so no such sensor.
        components["extended_value"] = {
            "p": "sensor", "name": "Value, extended resolution", "state_topic": state,
            "value_template": "{{ value_json.extended_value | default(none) }}",
            "state_class": components["value"]["state_class"],
            "icon": "mdi:counter",
            **{k: components["value"][k] for k in ("device_class", "unit_of_measurement")
               if k in components["value"]},
        }
    availability = {
        "availability_topic": f"{base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    for key, component in components.items():
        component["unique_id"] = f"digitd_{config.device.id}_{key}"
        component["default_entity_id"] = entity_id(component["p"], config, key)
        component.update(availability)
        component["qos"] = 1
    return components


def _origin(config: DigitdConfig) -> dict[str, Any]:
    """Who sent the discovery. digitd cannot know where an installation's copy lives,
    so the URL is the one ``[homeassistant] support_url`` names, if any."""
    origin: dict[str, Any] = {"name": "digitd", "sw_version": __version__}
    if config.homeassistant.support_url:
        origin["support_url"] = config.homeassistant.support_url
    return origin


def device_payload(config: DigitdConfig) -> dict[str, Any]:
    """The device-based discovery config: device, origin, availability, components."""
    device_id = config.device.id
    return {
        "device": {
            "identifiers": [f"digitd_{device_id}"],
            "name": config.device.name or device_id,
            "manufacturer": "digitd",
            "model": "digitd",
            "sw_version": __version__,
        },
        "origin": _origin(config),
        "cmps": _components(config),
    }


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def discovery_messages(config: DigitdConfig) -> list[DiscoveryMessage]:
    """The discovery config for this device; empty when discovery is off."""
    if not config.homeassistant.discovery:
        return []
    return [DiscoveryMessage(device_topic(config), _encode(device_payload(config)))]


def legacy_topics(config: DigitdConfig) -> list[str]:
    prefix, device_id = config.homeassistant.prefix, config.device.id
    return [f"{prefix}/{component}/{device_id}/{key}/config" for component, key in
            LEGACY_ENTITIES]


def migration_messages(config: DigitdConfig) -> tuple[list[DiscoveryMessage],
                                                       list[DiscoveryMessage]]:
    """Hand the per-entity configs of earlier versions over to the device config.

    Home Assistant's documented order: ``{"migrate_discovery": true}`` on each old
    topic (it keeps the entity and its history), then the device config (the same
    unique ids and discovery ids take the entities over), then an empty retained
    payload on each old topic. Returns (before, after) the device config.
    """
    if not config.homeassistant.discovery:
        return [], []
    topics = legacy_topics(config)
    before = [DiscoveryMessage(t, _encode({"migrate_discovery": True})) for t in topics]
    after = [DiscoveryMessage(t, b"") for t in topics]
    return before, after
