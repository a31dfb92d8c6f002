"""The stream the daemon reads: a camera that may fail, kept going.

A :class:`CameraStream` opens the source, reopens it with exponential backoff
when it fails, keeps only the newest frame of a live camera (dropping and
counting the rest) and never raises because a camera hiccups; it reports a
state and counters instead. Files and folders are read in order, on demand.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType

from ..config import CameraConfig
from .sources import (
    PICAMERA2_MISSING,
    Frame,
    FrameSource,
    SourceError,
    SourceSpec,
    list_images,
    open_source,
    parse_source,
)

logger = logging.getLogger(__name__)


class StreamState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    REOPENING = "reopening"  # failed; waiting to open it again
    ENDED = "ended"  # a file or folder played to its end (without loop)
    CLOSED = "closed"


@dataclass(frozen=True)
class StreamStats:
    state: StreamState
    source: str
    frames: int  # handed to the reader
    captured: int  # read from the source
    dropped: int  # due for processing but replaced by a newer one: processing fell behind
    skipped: int  # replaced between readings, as camera.interval asks
    corrupt: int  # undecodable or nonsense frames skipped
    reopens: int  # successful opens after the first
    errors: int  # failed opens and broken reads
    last_error: str | None
    last_frame_age: float | None  # seconds since the last good frame

    def as_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["state"] = str(self.state)
        if self.last_frame_age is not None:
            data["last_frame_age"] = round(self.last_frame_age, 3)
        return data


class _Backoff:
    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(low, high)
        self.delay = low

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2.0, self.high)
        return delay

    def reset(self) -> None:
        self.delay = self.low


Opener = Callable[[], FrameSource]


class CameraStream:
    """Frames for the daemon loop, however the camera behaves.

    Live sources are read by a background thread that keeps only the newest frame;
    files and folders are read in order when asked. :meth:`read` waits at most
    ``timeout`` seconds and returns None when no frame came; :attr:`state` says why.
    """

    # A read that blocks this much longer than read_timeout is taken as hung.
    HUNG_GRACE = 2.0
    MAX_ABANDONED = 2

    def __init__(
        self,
        camera: CameraConfig,
        base_dir: Path | str | None = None,
        *,
        opener: Opener | None = None,
        live: bool | None = None,
    ) -> None:
        self.camera = camera
        self.spec = parse_source(camera.source, base_dir)
        if opener is None and self.spec.kind == "picamera2" and not _picamera2_installed():
            raise SourceError(PICAMERA2_MISSING)
        self._opener: Opener = opener or (lambda: open_source(camera, base_dir))
        self.live = self.spec.live if live is None else live
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._backoff = _Backoff(camera.reopen_min, camera.reopen_max)
        self._state = StreamState.STARTING
        self._next_attempt = 0.0
        self._opened_once = False
        self._latest: Frame | None = None
        self._last_delivered: float | None = None
        self._last_good: float | None = None
        self._counts = dict.fromkeys(
            ("frames", "captured", "dropped", "skipped", "corrupt", "reopens", "errors"), 0
        )
        self._last_error: str | None = None
        # on-demand (file) mode
        self._source: FrameSource | None = None
        self._pass_frames = 0
        self._looping = False  # the next open starts the file again: not a reopen
        self._ended_signature: object = None
        # live mode
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._abandoned: list[threading.Thread] = []
        self._busy_since: float | None = None  # when the grabber entered open() or read()

    # ---- public ----------------------------------------------------------------------

    @property
    def state(self) -> StreamState:
        with self._cond:
            return self._state

    def stats(self) -> StreamStats:
        with self._cond:
            age = None if self._last_good is None else time.monotonic() - self._last_good
            c = self._counts
            return StreamStats(
                state=self._state,
                source=self.spec.display,
                frames=c["frames"],
                captured=c["captured"],
                dropped=c["dropped"],
                skipped=c["skipped"],
                corrupt=c["corrupt"],
                reopens=c["reopens"],
                errors=c["errors"],
                last_error=self._last_error,
                last_frame_age=age,
            )

    def start(self) -> CameraStream:
        """Start the grabber thread of a live source (files need none); returns self."""
        if self.live:
            with self._cond:
                if self._thread is None and not self._stop.is_set():
                    self._spawn_grabber()
        return self

    def read(self, timeout: float) -> Frame | None:
        """The next frame (live: the newest), or None if none came within ``timeout`` s."""
        if self._stop.is_set():
            return None
        if self.live:
            self.start()
            return self._read_live(timeout)
        return self._read_on_demand(time.monotonic() + max(0.0, timeout))

    def close(self, timeout: float = 2.0) -> None:
        """Stop the grabber and release the source; waits at most ``timeout`` s."""
        self._stop.set()
        with self._cond:
            self._state = StreamState.CLOSED
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("%s: the grabber did not stop in %.0f s", self.spec.display, timeout)
        if self._source is not None:
            self._source.close()
            self._source = None

    def __enter__(self) -> CameraStream:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- shared --------------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        with self._cond:
            if self._stop.is_set():
                return
            delay = self._backoff.next()
            self._counts["errors"] += 1
            self._last_error = message
            self._state = StreamState.REOPENING
            self._next_attempt = time.monotonic() + delay
        logger.warning("%s — retrying in %.1f s", message, delay)

    def _open(self) -> FrameSource | None:
        try:
            source = self._opener()
        except SourceError as exc:
            self._fail(str(exc))
            return None
        except Exception as exc:  # a backend bug must not take the daemon down
            logger.exception("opening %s failed unexpectedly", self.spec.display)
            self._fail(f"{self.spec.display}: unexpected error while opening: {exc!r}")
            return None
        with self._cond:
            if self._opened_once and not self._looping:
                self._counts["reopens"] += 1
            self._looping = False
            self._opened_once = True
            if not self._stop.is_set():
                self._state = StreamState.OK
            self._last_good = time.monotonic()
            self._pass_frames = 0
        return source

    def _read_source(self, source: FrameSource) -> tuple[Frame | None, str | None]:
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
            self._add("corrupt", source.corrupt - before)
        return frame, None

    def _add(self, counter: str, n: int = 1) -> None:
        if n:
            with self._cond:
                self._counts[counter] += n

    def _stamp(self, frame: Frame) -> Frame:
        """Number frames across reopens, so seq never repeats within one stream."""
        with self._cond:
            self._counts["captured"] += 1
            self._last_good = time.monotonic()
            if not self._stop.is_set():
                self._state = StreamState.OK
            self._backoff.reset()
            return dataclasses.replace(frame, seq=self._counts["captured"])

    def _deliver(self, frame: Frame) -> Frame:
        with self._cond:
            self._counts["frames"] += 1
            self._last_delivered = frame.timestamp
        return frame

    # ---- files and folders: on demand, in order --------------------------------------------

    def _read_on_demand(self, deadline: float) -> Frame | None:
        while not self._stop.is_set():
            if self._source is None:
                if not self._ready_to_open(deadline):
                    return None
                self._source = self._open()
                continue
            frame, failure = self._read_source(self._source)
            if failure is not None:
                _close_quietly(self._source)
                self._source = None
                self._fail(failure)
                continue
            if frame is not None:
                self._pass_frames += 1
                return self._deliver(self._stamp(frame))
            if self._end_of_file():
                return None
        return None

    def _end_of_file(self) -> bool:
        """Handle the end of a file; True when the reader should hear "no frame" now."""
        assert self._source is not None
        _close_quietly(self._source)
        self._source = None
        if self.camera.loop:
            if self._pass_frames == 0:
                self._fail(f"{self.spec.display} holds no readable frame")
            else:
                self._looping = True
            return False
        with self._cond:
            self._state = StreamState.ENDED
            self._ended_signature = _signature(self.spec)
            self._backoff.reset()
            self._next_attempt = time.monotonic() + self._backoff.next()
        logger.info("%s: end of file", self.spec.display)
        return True

    def _ready_to_open(self, deadline: float) -> bool:
        """Wait (until ``deadline`` at most) for the next open attempt; False: time is up."""
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= self._next_attempt:
                if self.state is not StreamState.ENDED:
                    return True
                signature = _signature(self.spec)
                if signature is None:
                    self._fail(f"{self.spec.display} disappeared — waiting for it to come back")
                elif signature != self._ended_signature:
                    logger.info("%s changed: playing it again", self.spec.display)
                    return True
                else:
                    with self._cond:
                        self._next_attempt = now + self._backoff.next()
                continue
            if now >= deadline:
                return False
            self._stop.wait(min(self._next_attempt, deadline) - now)
        return False

    # ---- live sources: a grabber thread keeps the newest frame ------------------------------

    def _spawn_grabber(self) -> None:
        self._generation += 1
        thread = threading.Thread(
            target=self._grab_loop,
            args=(self._generation,),
            name=f"grabber-{self.spec.display}",
            daemon=True,  # a driver stuck in a read must not keep the process alive
        )
        self._thread = thread
        thread.start()

    def _grab_loop(self, generation: int) -> None:
        source: FrameSource | None = None
        try:
            while not self._stop.is_set() and generation == self._generation:
                if source is None:
                    wait = self._next_attempt - time.monotonic()
                    if wait > 0:
                        self._stop.wait(wait)
                        continue
                    with self._cond:
                        self._busy_since = time.monotonic()
                    source = self._open()
                    if not self._still_current(generation):
                        break
                    continue
                with self._cond:
                    self._busy_since = time.monotonic()
                frame, failure = self._read_source(source)
                if not self._still_current(generation):
                    break
                if failure is not None or frame is None:
                    _close_quietly(source)
                    source = None
                    self._fail(failure or f"{self.spec.display}: the stream ended")
                else:
                    self._offer(self._stamp(frame))
        finally:
            if source is not None:
                _close_quietly(source)

    def _still_current(self, generation: int) -> bool:
        """False once this grabber was abandoned while hung: a new one has taken over."""
        with self._cond:
            if generation != self._generation:
                return False
            self._busy_since = None
            return True

    def _offer(self, frame: Frame) -> None:
        with self._cond:
            old = self._latest
            if old is not None:
                # Before the first read nothing is due yet: the daemon is still starting.
                due = (
                    self._last_delivered is not None
                    and old.timestamp - self._last_delivered >= self.camera.interval
                )
                self._counts["dropped" if due else "skipped"] += 1
            self._latest = frame
            self._cond.notify_all()

    def _read_live(self, timeout: float) -> Frame | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._latest is None:
                self._check_hung()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                # Wake now and then: a hung read is only noticed by looking.
                self._cond.wait(min(remaining, 0.5))
            frame, self._latest = self._latest, None
            return self._deliver(frame)

    def _check_hung(self) -> None:
        """Abandon a grabber stuck in open/read (a driver ignoring its timeout); start afresh."""
        started = self._busy_since
        limit = self.camera.read_timeout + self.HUNG_GRACE
        if started is None or time.monotonic() - started < limit:
            return
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        if len(self._abandoned) >= self.MAX_ABANDONED:
            return  # don't pile up stuck threads; report and wait for one to return
        if self._thread is not None:
            self._abandoned.append(self._thread)
        self._busy_since = None
        self._fail(
            f"{self.spec.display}: a read hung for more than {limit:.0f} s — reopening the camera"
        )
        self._spawn_grabber()


def _close_quietly(source: FrameSource) -> None:
    try:
        source.close()
    except Exception:  # closing a broken device may fail too; there is nothing left to do
        logger.debug("closing %s failed", source.name, exc_info=True)


def _signature(spec: SourceSpec) -> object:
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


def _picamera2_installed() -> bool:
    try:
        return importlib.util.find_spec("picamera2") is not None
    except (ImportError, ValueError):
        return False
