"""What the set-up page shows, handed from the daemon's loop to the web server's threads.

The daemon keeps only references here (the last frame, its reading, the model's inputs):
nothing is copied or encoded unless a page asks for it, so a daemon without a page open
pays nothing. Changes the page makes to the locate settings travel the other way, as a
reader built and checked by the web thread, swapped in by the loop between two frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..config import LocateConfig
from ..vision.reader import Reader, Seen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveFrame:
    """The last frame read and what was made of it."""

    image: npt.NDArray[np.generic]
    seq: int
    seen: Seen  # the reading, the located regions, the model's inputs
    reader: Reader  # the reader that read it (its locator gives the region)


@dataclass(frozen=True)
class Published:
    value: str
    when: float  # time.time()


@dataclass(frozen=True)
class Refused:
    code: str
    reason: str
    when: float


class LocateStore(Protocol):
    """Where the page's "keep after restarts" goes: the service owns the file, the page
    asks (``service/statedir.LocateOverride``)."""

    def save(self, locate: LocateConfig) -> Path: ...

    def saved(self) -> bool: ...


@dataclass
class LiveView:
    """Thread-safe: the daemon writes, the web server's threads read."""

    locate: LocateConfig
    collect_root: Any = None  # Path of the crop collector, when it collects
    stats: Callable[[], dict[str, object]] = field(default=lambda: {})
    store: LocateStore | None = None  # None: the page cannot keep settings
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _frame: LiveFrame | None = None
    _published: Published | None = None
    _rejection: Refused | None = None
    _pending: tuple[Reader, LocateConfig] | None = None

    # -- written by the daemon ------------------------------------------------------------
    def offer(self, frame: LiveFrame) -> None:
        with self._lock:
            self._frame = frame

    def published(self, value: str) -> None:
        with self._lock:
            self._published = Published(value, time.time())

    def rejected(self, code: str, reason: str) -> None:
        with self._lock:
            self._rejection = Refused(code, reason, time.time())

    def take_reader(self) -> tuple[Reader, LocateConfig] | None:
        """A reader the page asked for, once; None when there is none waiting."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.locate = pending[1]
        return pending

    # -- read and asked for by the web server ----------------------------------------------
    def snapshot(self) -> tuple[LiveFrame | None, Published | None, Refused | None]:
        with self._lock:
            return self._frame, self._published, self._rejection

    def request_reader(self, reader: Reader, locate: LocateConfig) -> None:
        with self._lock:
            self._pending = (reader, locate)

    def pending_locate(self) -> LocateConfig:
        """The settings the page last asked for (applied or about to be)."""
        with self._lock:
            return self._pending[1] if self._pending is not None else self.locate
