"""What the daemon counts, and the ``<base>/stats`` message made from it: totals since the
start, rates since the last stats message."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..camera.core import StreamStats
from ..mqtt.payloads import Stats
from ..mqtt.publisher import MqttStats


@dataclass
class Counters:
    started: float = field(default_factory=time.monotonic)
    frames: int = 0
    published: int = 0
    rejected: int = 0
    errors: int = 0
    window_frames: int = 0
    window_start: float = field(default_factory=time.monotonic)
    window_ms: float = 0.0
    window_classify_ms: float = 0.0

    def frame_read(self, ms: float, classify_ms: float) -> None:
        self.window_frames += 1
        self.window_ms += ms
        self.window_classify_ms += classify_ms

    def new_window(self) -> None:
        """Rates start again (after each stats message)."""
        self.window_frames, self.window_ms, self.window_classify_ms = 0, 0.0, 0.0
        self.window_start = time.monotonic()

    def stats(self, stream: StreamStats, mqtt: MqttStats,
              storage_error: str | None) -> Stats:
        elapsed = max(1e-6, time.monotonic() - self.window_start)
        n = max(1, self.window_frames)
        return Stats(
            fps=self.window_frames / elapsed,
            frame_ms=self.window_ms / n,
            inference_ms=self.window_classify_ms / n,
            frames=self.frames,
            frames_dropped=stream.dropped,
            published=self.published,
            rejected=self.rejected,
            errors=self.errors + stream.errors,
            uptime_s=time.monotonic() - self.started,
            camera=stream.as_json(),
            mqtt=mqtt.as_json(),
            storage_error=storage_error,
        )
