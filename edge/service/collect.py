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

from ..reading import DialRead, DigitRead, shown_position

# The dials' own keys for "the same one at most once per collect_interval".
DIAL_KEYS = 10_000

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

    def offer_dials(self, image: npt.NDArray[np.generic], dials: Sequence[DialRead], frame: int,
                    now: float | None = None) -> int:
        """Save the doubtful dials of a frame (refused, or read below ``collect_below``),
        each its box cut from the frame, named ``…_dial2_guess-3.5.png``."""
        h, w = image.shape[:2]
        picked: list[tuple[npt.NDArray[np.generic], str, int]] = []
        for i, d in enumerate(dials):
            x, y, bw, bh = d.box
            crop = image[max(0, y):min(h, y + bh), max(0, x):min(w, x + bw)]
            if crop.size and (not d.read or d.confidence < self.below):
                guess = ("not_a_dial" if d.position is None
                         else f"{shown_position(d.position, 1):.1f}")
                picked.append((crop, f"dial{i + 1}_guess-{guess}", DIAL_KEYS + i))
        return self._save(picked, frame, now)

    def offer(
        self, crops: Sequence[npt.NDArray[np.generic]], reads: Sequence[DigitRead], frame: int,
        now: float | None = None,
    ) -> int:
        """Save the doubtful ones of a frame's box crops (``reads`` in box order)."""
        return self._save([(crop, f"box{i + 1}_guess-{guess_label(read)}", i)
                           for i, (crop, read) in enumerate(zip(crops, reads, strict=False))
                           if self.doubtful(read)], frame, now)

    def _save(self, picked: Sequence[tuple[npt.NDArray[np.generic], str, int]], frame: int,
              now: float | None) -> int:
        import cv2

        now = time.monotonic() if now is None else now
        saved = 0
        for crop, what, i in picked:
            if now - self._last.get(i, -1e18) < self.interval:
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
            name = f"{stamp}_f{frame}_{what}.png"
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
