"""``digitd run`` as a child process for the tests, its log collected line by line."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest


class Daemon:
    """``digitd run`` as a child process; its log lines are collected as they come."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "digitd.edge.cli", "run", "--config", str(config), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def count(self, pattern: str) -> int:
        with self._cond:
            return sum(1 for line in self.lines if re.search(pattern, line))

    def wait_log(self, pattern: str, n: int = 1, timeout: float = 20.0) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(
                1 for line in self.lines if re.search(pattern, line)) >= n, timeout)
        if not ok:
            pytest.fail(f"no {n}x {pattern!r} in the daemon's log:\n" + self.log())

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait(self, timeout: float) -> int:
        """Its exit status once it ended by itself (the log read to the end)."""
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode

    def status(self, field: str) -> int:
        """A ``/proc/<pid>/status`` figure in kB (VmHWM: peak resident memory)."""
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))  # type: ignore[union-attr]

    def fds(self) -> list[str]:
        fd_dir = Path(f"/proc/{self.proc.pid}/fd")
        targets = []
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):  # closed while listing
                targets.append(os.readlink(fd))
        return sorted(targets)
