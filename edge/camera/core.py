"""What a camera stream keeps whichever way it reads: state, counters, backoff, opening.

:class:`StreamCore` is shared by the two ways of reading a source — the file player
(:mod:`.player`) and the live grabber (:mod:`.grabber`) — and by the stream that puts
one of them behind one interface (:mod:`.stream`). One lock (``cond``) guards it all.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..config import CameraConfig
from .sources import Frame, FrameSource, SourceError, SourceSpec, list_images

logger = logging.getLogger(__name__)

Opener = Callable[[], FrameSource]


class StreamState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    REOPENING = "reopening"  # failed; waiting to open it again
    ENDED = "ended"  # a file or folder played to its end (without loop)
    CLOSED = "closed"


@dataclass
class StreamCounts:
    frames: int = 0  # handed to the reader
    captured: int = 0  # read from the source
    dropped: int = 0  # due for processing but replaced by a newer one: processing fell behind
    skipped: int = 0  # replaced between readings, as camera.interval asks
    corrupt: int = 0  # undecodable or nonsense frames skipped
    reopens: int = 0  # successful opens after the first
    errors: int = 0  # failed opens and broken reads


@dataclass(frozen=True)
class StreamStats:
    state: StreamState
    source: str
    frames: int
    captured: int
    dropped: int
    skipped: int
    corrupt: int
    reopens: int
    errors: int
    last_error: str | None
    last_frame_age: float | None  # seconds since the last good frame

    def as_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["state"] = str(self.state)
        if self.last_frame_age is not None:
            data["last_frame_age"] = round(self.last_frame_age, 3)
        return data


class Backoff:
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(low, high)
        self.delay = low

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2.0, self.high)
        return delay

    def reset(self) -> None:
        self.delay = self.low


class StreamCore:
    """The state both readers share; every field is read and written under ``cond``."""

    def __init__(self, camera: CameraConfig, spec: SourceSpec, opener: Opener) -> None:
        self.camera = camera
        self.spec = spec
        self.opener = opener
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.backoff = Backoff(camera.reopen_min, camera.reopen_max)
        self.state = StreamState.STARTING
        self.next_attempt = 0.0
        self.counts = StreamCounts()
        self.last_error: str | None = None
        self.last_good: float | None = None
        self.last_delivered: float | None = None
        self.opened_once = False
        self.looping = False  # the next open starts the file again: not a reopen

    def stats(self) -> StreamStats:
        with self.cond:
            age = None if self.last_good is None else time.monotonic() - self.last_good
            return StreamStats(state=self.state, source=self.spec.display,
                               **dataclasses.asdict(self.counts), last_error=self.last_error,
                               last_frame_age=age)

    def fail(self, message: str) -> None:
        """A failed open or read: count it, say it once, wait (with backoff) to reopen."""
        with self.cond:
            if self.stop.is_set():
                return
            delay = self.backoff.next()
            self.counts.errors += 1
            self.last_error = message
            self.state = StreamState.REOPENING
            self.next_attempt = time.monotonic() + delay
        logger.warning("%s — retrying in %.1f s", message, delay)

    def open(self) -> FrameSource | None:
        """The opened source, or None (the failure reported)."""
        try:
            source = self.opener()
        except SourceError as exc:
            self.fail(str(exc))
            return None
        except Exception as exc:  # a backend bug must not take the daemon down
            logger.exception("opening %s failed unexpectedly", self.spec.display)
            self.fail(f"{self.spec.display}: unexpected error while opening: {exc!r}")
            return None
        with self.cond:
            if self.opened_once and not self.looping:
                self.counts.reopens += 1
            self.looping = False
            self.opened_once = True
            if not self.stop.is_set():
                self.state = StreamState.OK
            self.last_good = time.monotonic()
        return source

    def read_source(self, source: FrameSource) -> tuple[Frame | None, str | None]:
        """(frame or None at the end, None) or (None, why it broke); never raises."""
        before = source.corrupt
        try:
            frame = source.read()
        except SourceError as exc:
            return None, str(exc)
        except Exception as exc:
            logger.exception("reading %s failed unexpectedly", self.spec.display)
            return None, f"{self.spec.display}: unexpected error while reading: {exc!r}"
        finally:
            if source.corrupt != before:
                with self.cond:
                    self.counts.corrupt += source.corrupt - before
        return frame, None

    def stamp(self, frame: Frame) -> Frame:
        """Number frames across reopens, so seq never repeats within one stream."""
        with self.cond:
            self.counts.captured += 1
            self.last_good = time.monotonic()
            if not self.stop.is_set():
                self.state = StreamState.OK
            self.backoff.reset()
            return dataclasses.replace(frame, seq=self.counts.captured)

    def deliver(self, frame: Frame) -> Frame:
        with self.cond:
            self.counts.frames += 1
            self.last_delivered = frame.timestamp
        return frame


def close_quietly(source: FrameSource) -> None:
    try:
        source.close()
    except Exception:  # closing a broken device may fail too; there is nothing left to do
        logger.debug("closing %s failed", source.name, exc_info=True)


def signature(spec: SourceSpec) -> object:
    """What a file or folder looks like on disk now (None: gone), to notice a replacement."""
    if spec.kind != "path":
        return ("not a file",)
    path = Path(str(spec.target))
    try:
        if path.is_dir():
            return tuple(
                (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in list_images(path)
            )
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
