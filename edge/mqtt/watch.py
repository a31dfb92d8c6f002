"""Print what arrives on the daemon's MQTT topics (``digitd run --show-mqtt``, the demo)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..config import DigitdConfig

logger = logging.getLogger(__name__)


class MqttWatcher:
    """A second, read-only MQTT client that echoes ``<base>/#`` and discovery to stdout."""

    def __init__(self, cfg: DigitdConfig, out: Any = None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.cfg = cfg
        self.out = out or sys.stdout
        from .security import read_password, tls_context

        self.topics = [f"{cfg.base_topic}/#",
                       f"{cfg.homeassistant.prefix}/device/{cfg.device.id}/#"]
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                   client_id=f"digitd-watch-{cfg.device.id}")
        # The same broker credentials and TLS as the daemon's own client.
        if cfg.mqtt.username:
            self._client.username_pw_set(cfg.mqtt.username, read_password(cfg.mqtt))
        if cfg.mqtt.tls is not None:
            self._client.tls_set_context(tls_context(cfg.mqtt.tls))
            if cfg.mqtt.tls.insecure:
                self._client.tls_insecure_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            logger.warning("watcher: connection refused (%s)", reason)
            return
        for topic in self.topics:
            client.subscribe(topic, qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        payload = message.payload.decode("utf-8", "replace")
        if len(payload) > 300:
            payload = payload[:300] + "…"
        flag = " (retained)" if message.retain else ""
        print(f"mqtt {message.topic}{flag}: {payload}", file=self.out, flush=True)

    def start(self) -> None:
        self._client.connect_async(self.cfg.mqtt.host or "127.0.0.1", self.cfg.mqtt.port)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
