"""Publish readings over MQTT, the paho-2 way, without losing any while the broker is away.

Topics (``<base>`` is ``mqtt.base_topic``, default ``digitd/<device id>``):

==========================  ============================================  ================
``<base>/availability``     ``online`` on every connect, ``offline`` on    retained, QoS 1
                            clean stop and as the last will
``<base>/state``            a reading (:class:`~.payloads.State`)          retained, QoS 1
``<base>/stats``            periodic figures, only while connected        QoS 0
``<base>/error``            why a reading or a command was rejected       QoS 1
``<base>/cmd``              commands in (:mod:`digitd.edge.mqtt.commands`)      subscribed
==========================  ============================================  ================

Delivery of readings: :meth:`MqttPublisher.publish_state` writes to the
on-disk :class:`~digitd.edge.mqtt.outbox.Outbox`; a delivery thread hands the
outbox to paho in order, at most :data:`WINDOW` at a time, and deletes each
message when the broker's PUBACK arrives. paho itself resends unacknowledged
messages after a reconnect; new readings wait until those are through, so the
broker sees them in the order they were taken (at-least-once: a message whose
PUBACK was lost in a crash is sent again).

Threads: paho's network thread runs the ``_on_*`` callbacks (and so
``on_command``, which must return quickly); the delivery thread owns the
mid -> outbox id map, so no lock is ever held while calling into paho.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..config import DigitdConfig
from ..statefiles import OUTBOX, state_file
from .client import connect_properties, max_packet_bytes, new_client
from .commands import Command
from .discovery import DiscoveryMessage, discovery_messages, migration_messages, status_topic
from .health import ConnectionHealth
from .inbox import CommandInbox
from .outbox import Outbox
from .payloads import Error, State, Stats, encode

logger = logging.getLogger(__name__)

MIGRATED_MARKER = "discovery-device-based"

WINDOW = 20  # outbox messages handed to paho at once

@dataclass(frozen=True)
class MqttStats:
    """The broker side's counters, as the stats message carries them under ``mqtt``."""

    connected: bool
    queued: int  # readings in the outbox, not yet handed to the broker
    in_flight: int  # handed over, not yet acknowledged
    delivered: int
    dropped: int  # the oldest, beyond mqtt.outbox_max
    in_memory: int  # kept in memory while the outbox cannot be written
    storage_error: str | None
    rejected: int
    connects: int
    last_error: str | None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class MqttPublisher:
    """The daemon's MQTT side: state through the outbox, availability, discovery, commands.

    ``start()`` returns at once; the connection is made (and remade) in the
    background. ``stop()`` delivers what it can within its timeout, publishes
    ``offline`` and disconnects; anything undelivered stays in the outbox for
    the next start.
    """

    def __init__(
        self,
        config: DigitdConfig,
        state_dir: Path,
        on_command: Callable[[Command], None] | None = None,
        *,
        reconnect_delay: tuple[int, int] = (1, 30),
        outbox: Outbox | None = None,
    ) -> None:
        """Raises :class:`MqttSetupError` for unreadable secrets or TLS files.

        ``outbox``: the open outbox of the publisher this one replaces (a reload), so the
        file is never open twice and the readings kept in memory go on with it.
        """
        self.config = config
        self.host = config.mqtt.host or "127.0.0.1"  # unset: the embedded broker
        self.port = config.mqtt.port
        base = config.base_topic
        self.topics = {name: f"{base}/{name}"
                       for name in ("availability", "state", "stats", "error", "cmd")}
        # The embedded broker (amqtt) speaks 3.1.1 only; it listens on loopback.
        self.v5 = config.mqtt.protocol == "5" and config.mqtt.host is not None
        self._client = self._make_client(reconnect_delay)
        if outbox is None:
            outbox = Outbox(state_file(state_dir, OUTBOX), config.mqtt.outbox_max)
        else:
            outbox.max_messages = config.mqtt.outbox_max
        self._outbox = outbox
        # Written once the per-entity discovery of earlier versions was handed over.
        self._migrated_marker = Path(state_dir) / MIGRATED_MARKER

        self._connected = threading.Event()
        self._subscribed = threading.Event()  # SUBACK for this connection's subscriptions
        self._sub_mid: int | None = None
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._progress = threading.Condition()
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        # Owned by the delivery thread: mid -> (outbox id, connection epoch).
        self._in_flight: dict[int, tuple[int, int]] = {}
        self._last_handed = 0
        self._epoch = 0
        self._thread: threading.Thread | None = None
        self._started = self._stopping = self._closed = False

        # Bad commands: when they were last answered and logged, and how many since.
        self._inbox = CommandInbox(config.mqtt.max_command_bytes, on_command,
                                   self.publish_error)
        self.delivered = 0
        self.rejected = 0
        self.connects = 0
        self._health = ConnectionHealth(self.host, self.port, tls=config.mqtt.tls is not None)

    # -- set-up ---------------------------------------------------------------------------

    def _make_client(self, reconnect_delay: tuple[int, int]) -> mqtt.Client:
        client = new_client(self.config, v5=self.v5, will_topic=self.topics["availability"],
                            reconnect_delay=reconnect_delay, max_inflight=2 * WINDOW)
        client.on_log = self._on_paho_log
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    # -- public API -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (and reconnect whenever the connection drops)."""
        if self._started:
            raise RuntimeError("MqttPublisher.start() called twice")
        self._started = True
        self._thread = threading.Thread(target=self._deliver_loop, name="digitd-mqtt-outbox",
                                        daemon=True)
        self._thread.start()
        logger.info("connecting to MQTT broker %s:%d (base topic %s, %d readings waiting)",
                    self.host, self.port, self.config.base_topic, len(self._outbox))
        if self.v5:
            self._client.connect_async(self.host, self.port,
                                       keepalive=self.config.mqtt.keepalive,
                                       clean_start=True,
                                       properties=connect_properties(self.config))
        else:
            self._client.connect_async(self.host, self.port,
                                       keepalive=self.config.mqtt.keepalive)
        self._client.loop_start()

    @property
    def max_packet_bytes(self) -> int:
        return max_packet_bytes(self.config)

    @property
    def last_error(self) -> str | None:
        """Why the broker cannot be reached now (None while connected)."""
        return self._health.last_error

    @property
    def refused_commands(self) -> int:
        """Bad commands received (answered or not) since the start."""
        return self._inbox.refused

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def stop(self, timeout: float = 5.0, *, keep_outbox: bool = False) -> None:
        """Deliver what can be delivered within ``timeout``, publish ``offline``, disconnect.

        ``keep_outbox``: leave the outbox open for the publisher that takes over (reload).
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        if self._started:
            self._stopping = True
            # Most of the time for the outbox, the rest for "offline".
            self._wait_drained(deadline - 0.25 * timeout)
            self._halt.set()
            self._wake.set()
            if self._thread is not None:
                self._thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
            if self._connected.is_set():
                info = self._client.publish(self.topics["availability"], b"offline",
                                            qos=1, retain=True)
                try:
                    info.wait_for_publish(max(0.0, deadline - time.monotonic()))
                except (RuntimeError, ValueError) as exc:
                    logger.debug("offline not confirmed: %s", exc)
            self._client.disconnect()
            self._client.loop_stop()
            self._connected.clear()
        if keep_outbox:
            # This client's unacknowledged messages die with it: the next one sends them.
            self._outbox.release_handed()
            return
        left = len(self._outbox)
        if left:
            logger.info("MQTT stopped with %d readings kept in the outbox for the next start", left)
        self._outbox.close()

    @property
    def storage_error(self) -> str | None:
        """Why the outbox cannot be written now (readings wait in memory), or None."""
        return self._outbox.storage_error

    @property
    def connected(self) -> bool:
        """True between an accepted CONNACK and the loss of that connection."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until connected *and* subscribed (commands sent from now on arrive)."""
        deadline = time.monotonic() + timeout
        return self._connected.wait(timeout) and self._subscribed.wait(
            max(0.0, deadline - time.monotonic())) and self._connected.is_set()

    def publish_state(self, payload: State) -> None:
        """Queue a reading for ``<base>/state`` (retained, QoS 1).

        It goes to the on-disk outbox first, so it survives outages and restarts.
        """
        if self._closed:
            raise RuntimeError("publish_state() after stop()")
        self._outbox.put(self.topics["state"], encode(payload), qos=1, retain=True)
        self._wake.set()

    def publish_stats(self, payload: Stats) -> bool:
        """Publish ``<base>/stats`` (QoS 0); skipped while offline (the next ones are fresher)."""
        if not self._connected.is_set():
            return False
        info = self._client.publish(self.topics["stats"], encode(payload), qos=0)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def publish_error(self, payload: Error) -> bool:
        """Publish ``<base>/error`` (QoS 1); kept in memory (bounded) while offline.

        See :mod:`~digitd.edge.mqtt.payloads` for the contract.
        """
        info = self._client.publish(self.topics["error"], encode(payload), qos=1)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            logger.debug("error message not queued: too many messages waiting")
            return False
        return True

    def publish_discovery(self) -> None:
        """(Re)publish the Home Assistant discovery message (retained); the first time
        for this state directory, hand over the per-entity topics of earlier versions."""
        before: list[DiscoveryMessage] = []
        after: list[DiscoveryMessage] = []
        if not self._migrated_marker.exists():
            before, after = migration_messages(self.config)
        for message in [*before, *discovery_messages(self.config), *after]:
            self._client.publish(message.topic, message.payload, qos=1, retain=True)
        if before:
            try:
                self._migrated_marker.write_text("per-entity discovery handed over\n")
            except OSError as exc:
                logger.warning("%s: cannot write (%s); the hand-over is repeated next time",
                               self._migrated_marker, exc)

    def stats(self) -> MqttStats:
        return MqttStats(
            connected=self.connected,
            queued=len(self._outbox) if not self._closed else 0,
            in_flight=len(self._in_flight),
            delivered=self.delivered,
            dropped=self._outbox.dropped,
            in_memory=self._outbox.in_memory if not self._closed else 0,
            storage_error=self.storage_error,
            rejected=self.rejected,
            connects=self.connects,
            last_error=self._health.last_error,
        )

    # -- delivery thread ------------------------------------------------------------------

    def _deliver_loop(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self._settle_acks()
                if self._halt.is_set():
                    return
                self._hand_over()
            except Exception:
                logger.exception("MQTT delivery failed; retrying")
                self._halt.wait(1.0)
            with self._progress:
                self._progress.notify_all()

    def _settle_acks(self) -> None:
        while True:
            try:
                mid, failed = self._acks.get_nowait()
            except queue.Empty:
                return
            entry = self._in_flight.pop(mid, None)
            if entry is None:
                continue  # availability, discovery, errors: not from the outbox
            self._outbox.ack(entry[0])
            if failed:
                self.rejected += 1
            else:
                self.delivered += 1

    def _hand_over(self) -> None:
        if not self._connected.is_set() or len(self._in_flight) >= WINDOW:
            return
        epoch = self._epoch
        if any(e != epoch for _, e in self._in_flight.values()):
            # paho resends these after the reconnect; anything new now would overtake them.
            return
        for msg in self._outbox.peek(self._last_handed, WINDOW - len(self._in_flight)):
            info = self._client.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                return  # paho is full: try again on the next acknowledgement
            self._in_flight[info.mid] = (msg.id, epoch)
            self._outbox.handed(msg.id)
            self._last_handed = msg.id

    def _wait_drained(self, deadline: float) -> None:
        def drained() -> bool:
            return not self._connected.is_set() or (
                not self._in_flight and len(self._outbox) == 0
            )

        self._wake.set()
        with self._progress:
            self._progress.wait_for(drained, max(0.0, deadline - time.monotonic()))

    # -- paho callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            self._health.refused(reason_code)
            return
        self._health.connected()
        self._epoch += 1
        self.connects += 1
        subscriptions = [(self.topics["cmd"], 1)]
        if self.config.homeassistant.discovery:
            subscriptions.append((status_topic(self.config), 1))
        self._subscribed.clear()
        self._sub_mid = client.subscribe(subscriptions)[1]
        client.publish(self.topics["availability"], b"online", qos=1, retain=True)
        self.publish_discovery()
        self._connected.set()
        self._wake.set()
        logger.info("connected to MQTT broker %s:%d", self.host, self.port)

    def _on_paho_log(self, client: mqtt.Client, userdata: Any, level: int, buf: str) -> None:
        self._health.paho_said(level, buf)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this from inside its ``except OSError``: the cause is at hand.
        self._health.cannot_connect(sys.exception())

    def _on_disconnect(self, client: mqtt.Client, userdata: Any,
                       flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
                       properties: Properties | None) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if was_connected and not self._stopping:
            logger.warning("lost the MQTT connection to %s:%d (%s); reconnecting, readings "
                           "wait in the outbox", self.host, self.port, reason_code)
        elif not (self._stopping or flags.is_disconnect_packet_from_server):
            self._health.closed_before_connack(reason_code)
        self._health.attempt_over()
        with self._progress:
            self._progress.notify_all()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[ReasonCode], properties: Properties | None) -> None:
        if mid != self._sub_mid:
            return
        for code in reason_codes:
            if code.is_failure:
                logger.error("the broker refused a subscription (%s): commands on %s or Home "
                             "Assistant restarts will go unnoticed; check the broker's ACL",
                             code, self.topics["cmd"])
        self._subscribed.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        # paho holds its message lock here: only queue the ack, settle it elsewhere.
        if reason_code.is_failure:
            logger.error("the broker refused message %d: %s (check its ACL for %s)",
                         mid, reason_code, self.config.base_topic)
        self._acks.put((mid, reason_code.is_failure))
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics["cmd"]:
            self._inbox.receive(message.topic, bytes(message.payload), message.retain)
        elif (message.topic == status_topic(self.config)
              and message.payload.strip() == b"online"):
            logger.info("Home Assistant is online: republishing discovery")
            self.publish_discovery()
