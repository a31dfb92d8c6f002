"""The paho client as digitd needs it: protocol, last will, bounded queues, password, TLS,
and MQTT 5's Maximum Packet Size so an oversized command never reaches the device."""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..config import DigitdConfig
from .security import read_password, tls_context

logger = logging.getLogger(__name__)


def new_client(config: DigitdConfig, *, v5: bool, will_topic: str,
               reconnect_delay: tuple[int, int], max_inflight: int) -> mqtt.Client:
    """A client with everything but the callbacks; raises MqttSetupError for bad files."""
    cfg = config.mqtt
    client_id = cfg.client_id or f"digitd-{config.device.id}"
    if v5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
    # An exception escaping a callback would end paho's thread and with it
    # every reconnect; paho logs it instead.
    client.suppress_exceptions = True
    client.will_set(will_topic, b"offline", qos=1, retain=True)
    client.reconnect_delay_set(*reconnect_delay)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(1000)  # errors while offline: bounded memory
    password = read_password(cfg)
    if cfg.username:
        client.username_pw_set(cfg.username, password)
    elif password is not None and cfg.password_file:
        logger.warning("mqtt.password_file is set but mqtt.username is not; "
                       "the password is not used")
    if cfg.tls is not None:
        client.tls_set_context(tls_context(cfg.tls))
        if cfg.tls.insecure:
            client.tls_insecure_set(True)
            logger.warning("mqtt.tls.insecure: the broker's host name is not verified")
    return client


def max_packet_bytes(config: DigitdConfig) -> int:
    # Room for the topic, MQTT 5 properties a sender may add, and the headers.
    return config.mqtt.max_command_bytes + 2048


def connect_properties(config: DigitdConfig) -> Properties:
    """MQTT 5's Maximum Packet Size: the broker drops anything bigger for us, so a huge
    message on ``<base>/cmd`` never reaches (nor is buffered by) the device. Commands
    between ``max_command_bytes`` and this bound arrive and are refused with a reply."""
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = max_packet_bytes(config)
    return props
