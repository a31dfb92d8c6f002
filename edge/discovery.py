"""Home Assistant MQTT discovery: the retained config messages that create the entities.

One device per digitd instance, with:

* ``value``: the reading (``value`` of the state JSON); for a meter a
  ``total_increasing`` sensor (``total`` when decreases are allowed) with the
  configured device class and unit, so it can feed the energy dashboard;
* ``confidence``: the lowest digit confidence of the last reading, in percent;
* ``last_reading``: when the last reading was taken;
* a ``read_now`` button that publishes ``{"command": "read_now"}`` on ``<base>/cmd``.

The messages are published on every connect and again whenever Home Assistant
announces ``online`` on ``<prefix>/status`` (it forgets entities on restart
unless the broker kept them).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from digitd.edge import __version__
from digitd.edge.config import DigitdConfig

logger = logging.getLogger(__name__)

# Units Home Assistant accepts for each device class of a meter.
_UNITS = {
    "water": ("L", "m³", "ft³", "CCF", "gal"),
    "gas": ("m³", "ft³", "CCF"),
    "energy": ("Wh", "kWh", "MWh", "GWh", "MJ", "GJ"),
}


@dataclass(frozen=True)
class DiscoveryMessage:
    topic: str
    payload: bytes  # JSON; published retained, QoS 1


def status_topic(config: DigitdConfig) -> str:
    """Where Home Assistant announces ``online``/``offline``."""
    return f"{config.homeassistant.prefix}/status"


def _state_class(config: DigitdConfig) -> str:
    ha, decision = config.homeassistant, config.decision
    if ha.state_class is not None:
        return ha.state_class
    if decision.meter:
        return "total" if decision.allow_decrease else "total_increasing"
    return "measurement"


def _value_entity(config: DigitdConfig) -> dict[str, Any]:
    ha = config.homeassistant
    entity: dict[str, Any] = {
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
    if config.locate.decimals:
        entity["suggested_display_precision"] = config.locate.decimals
    return entity


def discovery_messages(config: DigitdConfig) -> list[DiscoveryMessage]:
    """The discovery config messages for this device; empty when discovery is off."""
    ha = config.homeassistant
    if not ha.discovery:
        return []
    device_id = config.device.id
    base = config.base_topic
    device = {
        "identifiers": [f"digitd_{device_id}"],
        "name": config.device.name or device_id,
        "manufacturer": "digitd",
        "model": "digitd",
        "sw_version": __version__,
    }
    common: dict[str, Any] = {
        "device": device,
        "origin": {"name": "digitd", "sw_version": __version__},
        "availability_topic": f"{base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    state = f"{base}/state"
    entities: list[tuple[str, str, dict[str, Any]]] = [
        ("sensor", "value", {"state_topic": state, **_value_entity(config)}),
        ("sensor", "confidence", {
            "name": "Confidence",
            "state_topic": state,
            "value_template": "{{ (value_json.confidence * 100) | round(1) }}",
            "unit_of_measurement": "%",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            "icon": "mdi:check-decagram",
        }),
        ("sensor", "last_reading", {
            "name": "Last reading",
            "state_topic": state,
            "value_template": "{{ value_json.timestamp }}",
            "device_class": "timestamp",
            "entity_category": "diagnostic",
        }),
        ("button", "read_now", {
            "name": "Read now",
            "command_topic": f"{base}/cmd",
            "payload_press": json.dumps({"command": "read_now"}),
            "icon": "mdi:camera",
        }),
    ]
    messages = []
    for component, obj, fields in entities:
        payload = {
            "unique_id": f"digitd_{device_id}_{obj}",
            "object_id": f"{device_id}_{obj}",
            "has_entity_name": True,
            **fields,
            **common,
        }
        messages.append(DiscoveryMessage(
            topic=f"{ha.prefix}/{component}/{device_id}/{obj}/config",
            payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
        ))
    return messages
