"""What goes wrong with the broker connection, said once per problem with its fix.

paho retries every few seconds and reports each failure again: here each distinct
problem becomes one ERROR line (the repeats go to debug), each of paho's own warnings is
shown once per outage, and :attr:`ConnectionHealth.last_error` says what is wrong now.
"""

from __future__ import annotations

import logging
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

logger = logging.getLogger(__name__)
_paho_logger = logging.getLogger(f"{__name__}.paho")

# What to do about a refused connection, by CONNACK reason code.
REFUSAL_ADVICE = {
    132: "the broker does not accept this MQTT version; set mqtt.protocol = \"3.1.1\" for "
         "a broker without MQTT 5, or upgrade the broker",
    133: "the broker rejected the client id; set another mqtt.client_id",
    134: "check mqtt.username and the password (mqtt.password_file or "
         "$CREDENTIALS_DIRECTORY/mqtt-password)",
    135: "check mqtt.username and the password (mqtt.password_file or "
         "$CREDENTIALS_DIRECTORY/mqtt-password) and the broker's ACL",
    136: "the broker is not accepting connections now; see the broker's log",
}


class ConnectionHealth:
    """Called from paho's network thread only."""

    def __init__(self, host: str, port: int, *, tls: bool) -> None:
        self.where = f"{host}:{port}"
        self.tls = tls
        self.last_error: str | None = None
        self._last_logged: str | None = None
        self._connack = False  # this attempt got an answer, refused or not
        self._paho_said: set[str] = set()  # paho's warnings shown in this outage

    def connected(self) -> None:
        self._connack = True
        self._paho_said.clear()
        self.last_error = self._last_logged = None

    def refused(self, reason_code: ReasonCode) -> None:
        self._connack = True
        advice = REFUSAL_ADVICE.get(reason_code.value, "see the broker's log")
        self._report(f"MQTT broker {self.where} refused the connection: {reason_code}; {advice}")

    def cannot_connect(self, exc: BaseException | None) -> None:
        cause = f": {exc}" if exc is not None else ""
        hint = ("; check mqtt.tls (CA, certificate) and the broker's TLS listener"
                if isinstance(exc, ssl.SSLError) else
                "; is the broker running, and are mqtt.host and mqtt.port right?")
        self._report(f"cannot connect to MQTT broker {self.where}{cause}{hint}")

    def closed_before_connack(self, reason_code: ReasonCode) -> None:
        """The broker hung up without a CONNACK: most often plain MQTT to a TLS listener."""
        if self._connack:
            return
        hint = ("; if that port is a TLS listener (often 8883), configure [mqtt.tls]"
                if not self.tls else
                "; does that port expect TLS, and does the broker accept the client "
                "certificate?")
        self._report(f"MQTT broker {self.where} closed the connection before accepting it "
                     f"({reason_code}){hint}")

    def attempt_over(self) -> None:
        self._connack = False

    def paho_said(self, level: int, buf: str) -> None:
        # paho reports a dropped connection as an error, and again on every retry; we
        # already say so once (with what happens next), so each of its lines is shown
        # once per outage, and only a failing callback stays an error.
        if "Caught exception" in buf:
            _paho_logger.error("%s", buf)
        elif level in (mqtt.MQTT_LOG_ERR, mqtt.MQTT_LOG_WARNING):
            key = buf.split("(")[0][:60]
            if key in self._paho_said:
                _paho_logger.debug("%s", buf)
            else:
                self._paho_said.add(key)
                _paho_logger.info("%s (shown once until connected)", buf)
        else:
            _paho_logger.debug("%s", buf)

    def _report(self, message: str) -> None:
        self.last_error = message
        # Once per distinct problem: paho retries every few seconds.
        if message != self._last_logged:
            logger.error("%s (retrying)", message)
            self._last_logged = message
        else:
            logger.debug("%s (retrying)", message)
