"""What the set-up page shows and does, without HTTP: the state as JSON, the pictures, new
locate settings checked and handed to the daemon, collected crops filed under a label.

Nothing is written outside the state directory: the override file, and crops moved within
the collector's folder under names it wrote (checked, never joined blindly).
"""

from __future__ import annotations

import base64
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ..config import LocateConfig, ModelConfig, locate_toml
from ..vision.image import to_gray
from ..vision.reader import Reader, reader_for, reads_windows
from .live import LiveView

logger = logging.getLogger(__name__)

COLLECTED_SHOWN = 60
_CROP_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}\.png$")
_GUESS = re.compile(r"_guess-([0-9.]+|not_a_digit)\.png$")


def label_folder(label: str) -> str:
    """The folder a label is filed in (``3.0``, ``3.5``, ``not_a_digit``); ValueError else."""
    label = label.strip().lower().replace(" ", "_")
    if label in ("not_a_digit", "not-a-digit", "none"):
        return "not_a_digit"
    value = float(label)
    if not 0.0 <= value < 10.0 or round(value, 1) != value:
        raise ValueError("a wheel position from 0 to 9.9 in tenths, or 'not a digit'")
    return f"{value:.1f}"


class SetupPage:
    def __init__(self, live: LiveView, model: ModelConfig) -> None:
        self.live = live
        self.model = model

    @property
    def collect_root(self) -> Path | None:
        root = self.live.collect_root
        return Path(root) if root is not None else None

    def state(self) -> dict[str, object]:
        frame, published, rejection = self.live.snapshot()
        locate = self.live.pending_locate()
        out: dict[str, object] = {
            "locate": locate.model_dump(),
            "toml": locate_toml(locate),
            "stats": self.live.stats(),
            "published": None if published is None else {
                "value": published.value, "time": _iso(published.when)},
            "rejection": None if rejection is None else {
                "error": rejection.code, "reason": rejection.reason,
                "time": _iso(rejection.when)},
            "collecting": self.collect_root is not None,
            "override": self.live.store is not None and self.live.store.saved(),
        }
        if frame is not None:
            h, w = frame.image.shape[:2]
            reading = frame.seen.reading
            out["frame"] = {"seq": frame.seq, "width": w, "height": h}
            out["reading"] = {
                "value": reading.value,
                "extended_value": reading.extended_value,
                "digits": [d.as_json() for d in reading.digits],
                "rejected": [d.as_json() for d in reading.rejected],
                "dials": [d.as_json() for d in reading.dials],
            }
            out["crops"] = [_png_uri(c) for c in frame.seen.inputs]
            out["region"] = {"outline": np.round(frame.seen.located.region, 1).tolist()}
        return out

    def frame_jpeg(self, region: bool) -> bytes | None:
        import cv2

        frame, _, _ = self.live.snapshot()
        if frame is None:
            return None
        image = frame.image
        if region:
            image, _ = frame.reader.locator.region(to_gray(image))
        ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image),
                                [cv2.IMWRITE_JPEG_QUALITY, 85])
        return bytes(data) if ok else None

    def apply_locate(self, changes: object, save: bool) -> dict[str, object]:
        """Check the page's settings by reading the last frame with them; then hand the
        reader to the daemon, and save the override file when asked."""
        if not isinstance(changes, dict):
            raise ValueError("'locate' must be an object of [locate] settings")
        merged = {**self.live.pending_locate().model_dump(), **changes}
        try:
            locate = LocateConfig.model_validate(merged)
        except ValidationError as exc:
            raise ValueError("; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'locate'}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors())) from None
        frame, _, _ = self.live.snapshot()
        current = frame.reader if frame is not None else None
        needed = current is not None and (
            current.window if reads_windows(locate) else current.classifier) is not None
        if locate.dials and current is not None and current.dial_model is None:
            needed = False
        if current is not None and needed:
            # The loaded models go on with the new settings; only the daemon's thread ever
            # runs them (an interpreter is not to be shared between threads).
            reader = Reader(current.classifier, locate, window=current.window,
                            dial_model=current.dial_model)
        else:
            reader = reader_for(self.model, locate)
        if frame is not None:
            # Where the boxes fall on the last frame: an ROI off the picture, a warp with
            # no area, boxes outside the region are refused here, in one line.
            reader.locator.locate(frame.image, dark_ink=True)
        self.live.request_reader(reader, locate)
        saved = None
        if save:
            saved = self._save_override(locate)
        logger.info("locate settings changed from the set-up page%s",
                    f", saved in {saved}" if saved else "")
        return {"ok": True, "toml": locate_toml(locate), "saved": str(saved) if saved else None}

    def _save_override(self, locate: LocateConfig) -> Path:
        if self.live.store is None:
            raise ValueError("this page cannot keep settings: copy the [locate] TOML instead")
        return self.live.store.save(locate)

    def collected(self) -> list[dict[str, object]]:
        root = self.collect_root
        if root is None or not (root / "unsorted").is_dir():
            return []
        files = sorted((p for p in (root / "unsorted").iterdir() if _CROP_NAME.match(p.name)),
                       key=lambda p: p.stat().st_mtime, reverse=True)[:COLLECTED_SHOWN]
        out = []
        for p in files:
            guess = _GUESS.search(p.name)
            out.append({"name": p.name, "guess": guess.group(1) if guess else None})
        return out

    def collected_file(self, name: str) -> Path | None:
        root = self.collect_root
        if root is None or not _CROP_NAME.match(name):
            return None
        path = root / "unsorted" / name
        return path if path.is_file() else None

    def label(self, name: object, label: object) -> dict[str, object]:
        if not isinstance(name, str) or not isinstance(label, str):
            raise ValueError("'name' and 'label' must be strings")
        source = self.collected_file(name)
        root = self.collect_root
        if source is None or root is None:
            raise LookupError(f"no collected crop named {name!r}")
        try:
            folder = label_folder(label)
        except ValueError as exc:
            raise ValueError(f"label {label!r}: {exc}") from None
        target = root / "labelled" / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        logger.info("labelled %s as %s", name, folder)
        return {"ok": True, "path": str(target.relative_to(root))}


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


def _png_uri(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".png", np.ascontiguousarray(image))
    return "data:image/png;base64," + base64.b64encode(bytes(data)).decode() if ok else ""
