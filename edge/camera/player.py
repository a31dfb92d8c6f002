"""Files and folders: read in order, on demand, one frame per ask.

At the end a file is played again (``camera.loop``) or the stream is ENDED until the file
or folder changes on disk; one that disappears or holds no frame is a failure reopened
with backoff like a camera.
"""

from __future__ import annotations

import logging
import time

from .core import StreamCore, StreamState, close_quietly, signature
from .sources import Frame, FrameSource

logger = logging.getLogger(__name__)


class FilePlayer:
    def __init__(self, core: StreamCore) -> None:
        self.core = core
        self._source: FrameSource | None = None
        self._pass_frames = 0  # frames of this pass through the file
        self._ended_signature: object = None

    def start(self) -> None:
        """Nothing to start: a file is read when asked."""

    def read(self, timeout: float) -> Frame | None:
        core = self.core
        deadline = time.monotonic() + max(0.0, timeout)
        while not core.stop.is_set():
            if self._source is None:
                if not self._ready_to_open(deadline):
                    return None
                self._source = core.open()
                self._pass_frames = 0
                continue
            frame, failure = core.read_source(self._source)
            if failure is not None:
                close_quietly(self._source)
                self._source = None
                core.fail(failure)
                continue
            if frame is not None:
                self._pass_frames += 1
                return core.deliver(core.stamp(frame))
            if self._end_of_file():
                return None
        return None

    def close(self, timeout: float) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def _end_of_file(self) -> bool:
        """Handle the end of a file; True when the reader should hear "no frame" now."""
        core = self.core
        assert self._source is not None
        close_quietly(self._source)
        self._source = None
        if core.camera.loop:
            if self._pass_frames == 0:
                core.fail(f"{core.spec.display} holds no readable frame")
            else:
                with core.cond:
                    core.looping = True
            return False
        with core.cond:
            core.state = StreamState.ENDED
            self._ended_signature = signature(core.spec)
            core.backoff.reset()
            core.next_attempt = time.monotonic() + core.backoff.next()
        logger.info("%s: end of file", core.spec.display)
        return True

    def _ready_to_open(self, deadline: float) -> bool:
        """Wait (until ``deadline`` at most) for the next open attempt; False: time is up."""
        core = self.core
        while not core.stop.is_set():
            now = time.monotonic()
            if now >= core.next_attempt:
                with core.cond:
                    ended = core.state is StreamState.ENDED
                if not ended:
                    return True
                now_signature = signature(core.spec)
                if now_signature is None:
                    core.fail(f"{core.spec.display} disappeared — waiting for it to come back")
                elif now_signature != self._ended_signature:
                    logger.info("%s changed: playing it again", core.spec.display)
                    return True
                else:
                    with core.cond:
                        core.next_attempt = now + core.backoff.next()
                continue
            if now >= deadline:
                return False
            core.stop.wait(min(core.next_attempt, deadline) - now)
        return False
