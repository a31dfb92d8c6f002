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
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from ..config import DigitdConfig, LocateConfig
from ..vision.reader import Reader, Seen

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
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
class Rejection:
    code: str
    reason: str
    when: float


@dataclass
class LiveView:
    """Thread-safe: the daemon writes, the web server's threads read."""

    locate: LocateConfig
    collect_root: Any = None  # Path of the crop collector, when it collects
    stats: Callable[[], dict[str, object]] = field(default=lambda: {})
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _frame: Frame | None = None
    _published: Published | None = None
    _rejection: Rejection | None = None
    _pending: tuple[Reader, LocateConfig] | None = None

    # -- written by the daemon ------------------------------------------------------------
    def offer(self, frame: Frame) -> None:
        with self._lock:
            self._frame = frame

    def published(self, value: str) -> None:
        with self._lock:
            self._published = Published(value, time.time())

    def rejected(self, code: str, reason: str) -> None:
        with self._lock:
            self._rejection = Rejection(code, reason, time.time())

    def take_reader(self) -> tuple[Reader, LocateConfig] | None:
        """A reader the page asked for, once; None when there is none waiting."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.locate = pending[1]
        return pending

    # -- read and asked for by the web server ----------------------------------------------
    def snapshot(self) -> tuple[Frame | None, Published | None, Rejection | None]:
        with self._lock:
            return self._frame, self._published, self._rejection

    def request_reader(self, reader: Reader, locate: LocateConfig) -> None:
        with self._lock:
            self._pending = (reader, locate)

    def pending_locate(self) -> LocateConfig:
        """The settings the page last asked for (applied or about to be)."""
        with self._lock:
            return self._pending[1] if self._pending is not None else self.locate


OVERRIDE_FILE = "locate.toml"


def with_locate_override(cfg: DigitdConfig, state_dir: Path) -> DigitdConfig:
    """``cfg`` with the ``[locate]`` the set-up page saved in the state directory, if any.

    The page's "keep after restarts" writes ``<state dir>/locate.toml``; it is read after
    the config file and replaces its ``[locate]`` (logged, so it never goes unnoticed).
    A broken file is ignored with an error line: the config's own settings still read.
    """
    path = state_dir / OVERRIDE_FILE
    if not path.is_file():
        return cfg
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        locate = LocateConfig.model_validate(data.get("locate", {}))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        logger.error("%s: ignored, the config's [locate] is used (%s)", path,
                     str(exc).splitlines()[0])
        return cfg
    logger.info("[locate] from %s (saved from the set-up page) replaces the config's; "
                "delete that file to use the config's again", path)
    return cfg.model_copy(update={"locate": locate})
