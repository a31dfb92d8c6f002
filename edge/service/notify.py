"""Tell systemd how the daemon is doing (sd_notify), without the systemd package.

The protocol is one datagram of ``KEY=VALUE`` lines sent to the AF_UNIX socket
named by ``$NOTIFY_SOCKET`` (a path, or an abstract socket written ``@name``).
Outside systemd the variable is unset and every call is a cheap no-op.

:class:`Watchdog` sends ``WATCHDOG=1`` at half of ``$WATCHDOG_USEC``, but only
from :meth:`Watchdog.kick_if_due`, which the main loop calls on each turn: if
the loop hangs, the pings stop and systemd restarts the service. A background
thread pinging on a timer would hide exactly that hang.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Mapping

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 1.0  # seconds


def _address(notify_socket: str) -> str | bytes:
    if notify_socket.startswith("@"):
        # Linux abstract namespace: a leading NUL instead of the "@".
        return b"\0" + notify_socket[1:].encode()
    return notify_socket


class Notifier:
    """Sends sd_notify messages; disabled (every method a no-op) without a socket."""

    def __init__(self, notify_socket: str | None = None) -> None:
        """``notify_socket``: the socket to use; ``None`` reads ``$NOTIFY_SOCKET``."""
        if notify_socket is None:
            notify_socket = os.environ.get("NOTIFY_SOCKET") or None
        self._address = _address(notify_socket) if notify_socket else None
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, ...) in one datagram; True if it was sent.

        A failure is logged once and otherwise ignored: losing a status line must
        never stop the daemon (a missed watchdog ping is systemd's to judge).
        """
        if self._address is None or not fields:
            return False
        data = "\n".join(fields).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                # A full receive queue (systemd busy) blocks sendto; bounded,
                # so the main loop never hangs here for good.
                self._sock.settimeout(SEND_TIMEOUT)
            self._sock.sendto(data, self._address)
        except OSError as exc:
            if not self._warned:
                logger.warning("cannot notify systemd on %r: %s", self._address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status(status))

    def status(self, text: str) -> bool:
        return self.send(*_status(text))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status(status))

    def reloading(self, status: str | None = None) -> bool:
        # Type=notify-reload wants the monotonic time with RELOADING=1 so that
        # it can tell this reload's READY=1 from an earlier one.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", *_status(status))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _status(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    # One line only: a newline would start a new (bogus) assignment.
    return ("STATUS=" + " ".join(text.splitlines()),)


class Watchdog:
    """Pings the systemd watchdog from the main loop, at half the configured timeout."""

    def __init__(self, notifier: Notifier, interval: float | None) -> None:
        """``interval``: seconds between pings; ``None`` disables the watchdog."""
        self._notifier = notifier
        self.interval = interval if notifier.enabled else None
        self._last = -math.inf
        self.pings = 0

    @classmethod
    def from_env(cls, notifier: Notifier, env: Mapping[str, str] | None = None) -> Watchdog:
        """The watchdog systemd asked for (``WATCHDOG_USEC``/2), or a disabled one.

        Like sd_watchdog_enabled(): ignored when ``WATCHDOG_PID`` names another
        process (the variable was inherited, not meant for us), or is malformed.
        """
        env = os.environ if env is None else env
        usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
        if not usec:
            return cls(notifier, None)
        try:
            timeout = int(usec) / 1e6
            if pid and int(pid) != os.getpid():
                return cls(notifier, None)
        except ValueError:
            logger.warning("ignoring malformed WATCHDOG_USEC=%r / WATCHDOG_PID=%r", usec, pid)
            return cls(notifier, None)
        if timeout <= 0:
            return cls(notifier, None)
        return cls(notifier, timeout / 2)

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    def kick_if_due(self, now: float | None = None) -> bool:
        """Call on every turn of the main loop; pings when half the timeout has passed.

        ``now`` is a :func:`time.monotonic` reading (taken here when omitted).
        Returns True when a ping was sent.
        """
        if self.interval is None:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last < self.interval:
            return False
        self._last = now
        if self._notifier.watchdog():
            self.pings += 1
            return True
        return False
