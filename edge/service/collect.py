"""Keep the box crops the daemon doubted, so the user can label them and fine-tune.

With ``[daemon] collect_dir`` set, every box that was refused or read below
``collect_below`` is saved as a PNG under ``<collect_dir>/unsorted/``, its name
carrying the model's guess (``…_guess-3.5.png``, ``…_guess-not_a_digit.png``).
Sort them into ``<collect_dir>/labelled/<position>/`` and fine-tune with
``digitd train --kind window --images <collect_dir>/labelled``.

Bounded so it can run for months: the same box at most once per
``collect_interval`` seconds, at most ``collect_max_files`` files and
``collect_max_bytes`` bytes in the folder; beyond that nothing more is saved and
that is logged once. A write that fails is logged, never fatal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..reading import DigitRead, shown_position

logger = logging.getLogger(__name__)


def guess_label(read: DigitRead) -> str:
    """The folder name the model's guess would be filed under."""
    if read.position is not None:
        return f"{shown_position(read.position, 1):.1f}"
    if read.digit is not None:
        return str(read.digit)
    return "not_a_digit"


class CropCollector:
    def __init__(
        self,
        root: Path,
        below: float = 0.8,
        interval: float = 60.0,
        max_files: int = 500,
        max_bytes: int = 20_000_000,
    ) -> None:
        self.root = root
        self.unsorted = root / "unsorted"
        self.below = below
        self.interval = interval
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._last: dict[int, float] = {}
        self._full_logged = False
        self._files, self._bytes = self._usage()
        self.saved = 0

    def _usage(self) -> tuple[int, int]:
        if not self.root.is_dir():
            return 0, 0
        files = [p for p in self.root.rglob("*.png") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)

    def doubtful(self, read: DigitRead) -> bool:
        return not read.read or read.confidence < self.below

    def offer(
        self, crops: Sequence[npt.NDArray[np.generic]], reads: Sequence[DigitRead], frame: int,
        now: float | None = None,
    ) -> int:
        """Save the doubtful ones of a frame's box crops (``reads`` in box order)."""
        import cv2

        now = time.monotonic() if now is None else now
        saved = 0
        for i, (crop, read) in enumerate(zip(crops, reads, strict=False)):
            if not self.doubtful(read) or now - self._last.get(i, -1e18) < self.interval:
                continue
            if self._files >= self.max_files or self._bytes >= self.max_bytes:
                if not self._full_logged:
                    logger.warning(
                        "collect_dir %s holds %d files / %d bytes, the limit: no more crops are "
                        "saved until you sort or remove some", self.root, self._files, self._bytes,
                    )
                    self._full_logged = True
                return saved
            ok, png = cv2.imencode(".png", np.asarray(crop))
            if not ok:
                continue
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            name = f"{stamp}_f{frame}_box{i + 1}_guess-{guess_label(read)}.png"
            try:
                self.unsorted.mkdir(parents=True, exist_ok=True)
                (self.unsorted / name).write_bytes(png.tobytes())
            except OSError as exc:
                logger.warning("collect_dir: cannot save %s (%s)", name, exc)
                return saved
            self._last[i] = now
            self._files += 1
            self._bytes += len(png)
            self._full_logged = False
            saved += 1
        self.saved += saved
        return saved
