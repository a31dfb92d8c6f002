"""Live sources: a background thread grabs frames and keeps only the newest.

A camera delivers at its own pace; the daemon reads when it is ready. Frames replaced
before they were read are counted (``dropped`` when one was due, ``skipped`` when
``camera.interval`` asked for fewer). A grabber stuck in a driver's open or read longer
than ``read_timeout`` is abandoned and a new one started (at most a few at a time).
"""

from __future__ import annotations

import logging
import threading
import time

from .core import StreamCore, close_quietly
from .sources import Frame, FrameSource

logger = logging.getLogger(__name__)

# A read that blocks this much longer than read_timeout is taken as hung.
HUNG_GRACE = 2.0
MAX_ABANDONED = 2


class LiveGrabber:
    def __init__(self, core: StreamCore, hung_grace: float = HUNG_GRACE) -> None:
        self.core = core
        self.hung_grace = hung_grace
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._abandoned: list[threading.Thread] = []
        self._busy_since: float | None = None  # when the grabber entered open() or read()
        self._latest: Frame | None = None

    def start(self) -> None:
        with self.core.cond:
            if self._thread is None and not self.core.stop.is_set():
                self._spawn()

    def read(self, timeout: float) -> Frame | None:
        """The newest frame, or None if none came within ``timeout`` seconds."""
        self.start()
        core = self.core
        deadline = time.monotonic() + max(0.0, timeout)
        with core.cond:
            while self._latest is None:
                self._check_hung()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or core.stop.is_set():
                    return None
                # Wake now and then: a hung read is only noticed by looking.
                core.cond.wait(min(remaining, 0.5))
            frame, self._latest = self._latest, None
        return core.deliver(frame)

    def close(self, timeout: float) -> None:
        with self.core.cond:
            thread = self._thread
            self.core.cond.notify_all()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("%s: the grabber did not stop in %.0f s",
                               self.core.spec.display, timeout)

    # -- the grabber thread ---------------------------------------------------------------

    def _spawn(self) -> None:
        self._generation += 1
        thread = threading.Thread(
            target=self._grab_loop,
            args=(self._generation,),
            name=f"grabber-{self.core.spec.display}",
            daemon=True,  # a driver stuck in a read must not keep the process alive
        )
        self._thread = thread
        thread.start()

    def _grab_loop(self, generation: int) -> None:
        core = self.core
        source: FrameSource | None = None
        try:
            while not core.stop.is_set() and generation == self._generation:
                if source is None:
                    wait = core.next_attempt - time.monotonic()
                    if wait > 0:
                        core.stop.wait(wait)
                        continue
                    with core.cond:
                        self._busy_since = time.monotonic()
                    source = core.open()
                    if not self._still_current(generation):
                        break
                    continue
                with core.cond:
                    self._busy_since = time.monotonic()
                frame, failure = core.read_source(source)
                if not self._still_current(generation):
                    break
                if failure is not None or frame is None:
                    close_quietly(source)
                    source = None
                    core.fail(failure or f"{core.spec.display}: the stream ended")
                else:
                    self._offer(core.stamp(frame))
        finally:
            if source is not None:
                close_quietly(source)

    def _still_current(self, generation: int) -> bool:
        """False once this grabber was abandoned while hung: a new one has taken over."""
        with self.core.cond:
            if generation != self._generation:
                return False
            self._busy_since = None
            return True

    def _offer(self, frame: Frame) -> None:
        core = self.core
        with core.cond:
            old = self._latest
            if old is not None:
                # Before the first read nothing is due yet: the daemon is still starting.
                due = (
                    core.last_delivered is not None
                    and old.timestamp - core.last_delivered >= core.camera.interval
                )
                if due:
                    core.counts.dropped += 1
                else:
                    core.counts.skipped += 1
            self._latest = frame
            core.cond.notify_all()

    def _check_hung(self) -> None:
        """Abandon a grabber stuck in open/read (a driver ignoring its timeout); start afresh.
        Called with ``cond`` held."""
        core = self.core
        started = self._busy_since
        limit = core.camera.read_timeout + self.hung_grace
        if started is None or time.monotonic() - started < limit:
            return
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        if len(self._abandoned) >= MAX_ABANDONED:
            return  # don't pile up stuck threads; report and wait for one to return
        if self._thread is not None:
            self._abandoned.append(self._thread)
        self._busy_since = None
        core.fail(
            f"{core.spec.display}: a read hung for more than {limit:.0f} s — reopening the camera"
        )
        self._spawn()
