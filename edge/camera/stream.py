"""The stream the daemon reads: a camera that may fail, kept going.

A :class:`CameraStream` opens the source, reopens it with exponential backoff when it
fails and never raises because a camera hiccups; it reports a state and counters
instead. Behind it, one of two readers: a live camera's :class:`~.grabber.LiveGrabber`
(a thread keeps only the newest frame, the rest dropped and counted) or a file's or
folder's :class:`~.player.FilePlayer` (in order, on demand).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import TracebackType

from ..config import CameraConfig
from .backends import open_source
from .core import Opener, StreamCore, StreamState, StreamStats
from .grabber import HUNG_GRACE, LiveGrabber
from .player import FilePlayer
from .sources import PICAMERA2_MISSING, Frame, SourceError, parse_source

logger = logging.getLogger(__name__)

__all__ = ["CameraStream", "StreamState", "StreamStats"]


class CameraStream:
    """Frames for the daemon loop, however the camera behaves.

    :meth:`read` waits at most ``timeout`` seconds and returns None when no frame came;
    :attr:`state` and :meth:`stats` say why.
    """

    def __init__(
        self,
        camera: CameraConfig,
        base_dir: Path | str | None = None,
        *,
        opener: Opener | None = None,
        live: bool | None = None,
        hung_grace: float = HUNG_GRACE,
    ) -> None:
        """``hung_grace``: how much longer than ``camera.read_timeout`` a live read may
        block before its grabber is abandoned and the camera reopened."""
        spec = parse_source(camera.source, base_dir)
        if opener is None and spec.kind == "picamera2" and not _picamera2_installed():
            raise SourceError(PICAMERA2_MISSING)
        self.spec = spec
        self.live = spec.live if live is None else live
        self._core = StreamCore(camera, spec, opener or (lambda: open_source(camera, base_dir)))
        self._reader: LiveGrabber | FilePlayer = (
            LiveGrabber(self._core, hung_grace) if self.live else FilePlayer(self._core))

    @property
    def state(self) -> StreamState:
        with self._core.cond:
            return self._core.state

    def stats(self) -> StreamStats:
        return self._core.stats()

    def start(self) -> CameraStream:
        """Start the grabber thread of a live source (files need none); returns self."""
        self._reader.start()
        return self

    def read(self, timeout: float) -> Frame | None:
        """The next frame (live: the newest), or None if none came within ``timeout`` s."""
        if self._core.stop.is_set():
            return None
        return self._reader.read(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the grabber and release the source; waits at most ``timeout`` s."""
        core = self._core
        core.stop.set()
        with core.cond:
            core.state = StreamState.CLOSED
        self._reader.close(timeout)

    def __enter__(self) -> CameraStream:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _picamera2_installed() -> bool:
    try:
        return importlib.util.find_spec("picamera2") is not None
    except (ImportError, ValueError):
        return False
