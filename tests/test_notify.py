"""sd_notify on a real AF_UNIX datagram socket, and the watchdog's cadence."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitd.edge.service.notify import Notifier, Watchdog


class Listener:
    """What systemd would be: a datagram socket that records what it receives."""

    def __init__(self, address: str) -> None:
        self.name = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(5.0)

    def recv(self) -> str:
        return self.sock.recv(4096).decode()

    def drain(self) -> list[tuple[float, str]]:
        """Everything waiting now, with the time it was read."""
        got = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append((time.monotonic(), self.sock.recv(4096).decode()))
        except BlockingIOError:
            return got
        finally:
            self.sock.settimeout(5.0)


@pytest.fixture
def listener() -> Iterator[Listener]:
    # Socket paths are limited to 107 bytes: pytest's tmp_path can be longer.
    d = tempfile.mkdtemp(prefix="digitd-notify-")
    lst = Listener(str(Path(d) / "notify.sock"))
    yield lst
    lst.sock.close()
    shutil.rmtree(d)


def test_messages_arrive_on_a_path_socket(listener: Listener) -> None:
    n = Notifier(listener.name)
    assert n.enabled
    assert n.ready("reading digits")
    assert listener.recv() == "READY=1\nSTATUS=reading digits"
    assert n.status("value 0123\nsecond line")
    assert listener.recv() == "STATUS=value 0123 second line"  # one line, never two fields
    assert n.watchdog() and listener.recv() == "WATCHDOG=1"
    assert n.stopping() and listener.recv() == "STOPPING=1"
    assert n.reloading("reloading config")
    fields = listener.recv().split("\n")
    assert fields[0] == "RELOADING=1" and fields[1].startswith("MONOTONIC_USEC=")
    assert int(fields[1].split("=")[1]) > 0 and fields[2] == "STATUS=reloading config"
    n.close()


def test_abstract_socket_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    listener = Listener(f"@digitd-test-{uuid.uuid4().hex}")
    monkeypatch.setenv("NOTIFY_SOCKET", listener.name)
    with Notifier() as n:
        assert n.ready()
        assert listener.recv() == "READY=1"
    listener.sock.close()


def test_no_socket_means_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled and not n.ready("x") and not n.watchdog()
    assert n._sock is None  # nothing opened
    wd = Watchdog.from_env(n, {"WATCHDOG_USEC": "1000000"})
    assert not wd.enabled and not wd.kick_if_due()


def test_vanished_socket_is_logged_once_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    d = tempfile.mkdtemp(prefix="digitd-notify-")
    n = Notifier(str(Path(d) / "gone.sock"))
    assert not n.ready() and not n.watchdog()
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1
    shutil.rmtree(d)


def test_watchdog_interval_from_the_environment(listener: Listener) -> None:
    n = Notifier(listener.name)
    assert Watchdog.from_env(n, {"WATCHDOG_USEC": "20000000"}).interval == 10.0
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Watchdog.from_env(n, mine).interval == 1.0
    assert not Watchdog.from_env(n, {**mine, "WATCHDOG_PID": "1"}).enabled  # not ours
    assert not Watchdog.from_env(n, {"WATCHDOG_USEC": "soon"}).enabled
    assert not Watchdog.from_env(n, {}).enabled


def test_watchdog_pings_at_half_the_timeout_only_when_kicked(listener: Listener) -> None:
    # Binary fractions keep the clock arithmetic exact: 2 s, a kick every 1/64 s.
    wd = Watchdog(Notifier(listener.name), interval=0.125)
    sent = []
    for t in (i / 64 for i in range(128)):
        if wd.kick_if_due(t):
            sent.append(t)
            assert listener.recv() == "WATCHDOG=1"
    assert sent == [i * 0.125 for i in range(16)] and wd.pings == 16
    assert listener.drain() == []
    assert not wd.kick_if_due(1.99) and wd.kick_if_due(2.0)  # next due at 16 * 0.125
    assert listener.recv() == "WATCHDOG=1"


def test_watchdog_pings_stop_when_the_loop_hangs(listener: Listener) -> None:
    """A real loop thread: pings while it turns, none once it is stuck."""
    # Few enough pings to stay below the kernel's datagram queue (10) until drained.
    wd = Watchdog(Notifier(listener.name), interval=0.1)
    alive = threading.Event()
    alive.set()

    def main_loop() -> None:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            wd.kick_if_due()
            time.sleep(0.005)
        alive.clear()
        time.sleep(0.4)  # "hung": no more kicks

    t = threading.Thread(target=main_loop)
    t.start()
    while alive.is_set():
        time.sleep(0.01)
    turning = listener.drain()
    t.join()
    after = listener.drain()
    # About 0.5 / 0.1 = 5 pings; never more than one per interval, whatever the load.
    assert 2 <= len(turning) <= 6
    assert after == []
