"""An embedded MQTT broker, for a daemon configured without ``mqtt.host``.

The demo (and a first try on a fresh Pi) runs digitd with no broker of its
own: this module starts one on the loopback interface, anonymous, without
persistence. It uses ``amqtt`` (pure Python, in a background thread with its
own asyncio loop) when installed, else the ``mosquitto`` binary in a child
process. A real installation should point ``mqtt.host`` at a proper broker.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

from ..errors import DigitdError

logger = logging.getLogger(__name__)

Backend = Literal["auto", "amqtt", "mosquitto"]


class BrokerError(DigitdError):
    """The embedded broker could not be started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests and ``port=0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _check_free(host: str, port: int) -> None:
    # mosquitto's readiness check (something accepts on the port) would be
    # fooled by another program listening there: find out first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise BrokerError(
                f"cannot start the embedded MQTT broker on {host}:{port}: {exc.strerror}; "
                "is another broker already using the port? Then set mqtt.host to it"
            ) from None


def wait_listening(host: str, port: int, timeout: float) -> bool:
    """True once something accepts TCP connections on host:port, False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


class _AmqttServer:
    """amqtt's asyncio broker on its own event loop in a daemon thread."""

    def __init__(self, host: str, port: int) -> None:
        from amqtt.broker import Broker  # late: only the embedded case needs it

        self._loop = asyncio.new_event_loop()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            # Only authentication: amqtt's default $SYS and packet-logging plugins
            # cost CPU on a Pi and log every packet.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker: Any = None
        self._make = lambda: Broker(config, loop=self._loop)
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="digitd-broker", daemon=True)

    def start(self, timeout: float) -> None:
        self._thread.start()

        async def start() -> None:
            self._broker = self._make()
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout)

    def stop(self, timeout: float) -> None:
        if self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                future.result(timeout)
            except Exception as exc:  # a broker that will not stop must not block ours
                logger.warning("embedded broker did not shut down cleanly: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()


class _MosquittoServer:
    """The mosquitto binary in a child process, with a generated config."""

    def __init__(self, host: str, port: int, binary: str) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="digitd-broker-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} {host}\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n"
            # As root mosquitto would switch to user "mosquitto", which may not exist.
            "user root\n"
        )
        self._log = Path(self._dir.name) / "mosquitto.log"
        self._argv = [binary, "-c", str(conf)]
        self._proc: subprocess.Popen[bytes] | None = None
        self._host, self._port = host, port

    def start(self, timeout: float) -> None:
        # A log file, not a pipe: a pipe nobody reads would block mosquitto when full.
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(self._argv, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not wait_listening(self._host, self._port, 0.2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                if self._proc.poll() is None:
                    self._proc.kill()
                self._proc.wait()
                output = self._log.read_text(errors="replace").strip()
                self._dir.cleanup()
                raise BrokerError(
                    f"mosquitto did not start on {self._host}:{self._port}: "
                    f"{output or 'no output'}"
                )

    def stop(self, timeout: float) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._dir.cleanup()


class EmbeddedBroker:
    """An anonymous MQTT broker on ``host:port`` (``port=0``: a free port, see :attr:`port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883,
                 backend: Backend = "auto") -> None:
        self.host = host
        self.port = port
        self.backend = backend
        self._server: _AmqttServer | _MosquittoServer | None = None

    def _choose(self) -> _AmqttServer | _MosquittoServer:
        errors = []
        if self.backend in ("auto", "amqtt"):
            try:
                server: _AmqttServer | _MosquittoServer = _AmqttServer(self.host, self.port)
                self.backend = "amqtt"
                return server
            except ImportError as exc:
                errors.append(f"amqtt is not installed ({exc})")
        if self.backend in ("auto", "mosquitto"):
            binary = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
            if binary:
                self.backend = "mosquitto"
                return _MosquittoServer(self.host, self.port, binary)
            errors.append("no mosquitto binary on PATH or in /usr/sbin")
        raise BrokerError(
            "no MQTT broker to embed: " + "; ".join(errors) + ". Install one "
            "(pip install 'digitd[demo]', or apt install mosquitto), or set mqtt.host to your "
            "broker"
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; raises :class:`BrokerError` naming the problem and the fix."""
        if self._server is not None:
            raise RuntimeError("EmbeddedBroker.start() called twice")
        if self.port == 0:
            self.port = free_port(self.host)
        else:
            _check_free(self.host, self.port)
        server = self._choose()
        try:
            server.start(timeout)
        except BrokerError:
            raise
        except Exception as exc:  # amqtt wraps socket errors in its own types
            server.stop(1.0)
            raise BrokerError(
                f"cannot start the embedded MQTT broker on {self.host}:{self.port}: {exc}; "
                "is another broker already using the port? Then set mqtt.host to it"
            ) from exc
        self._server = server
        logger.info("embedded MQTT broker (%s) listening on %s:%d",
                    self.backend, self.host, self.port)

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.stop(timeout)
            self._server = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
