"""``digitd snapshot``: one frame from the configured camera with ROI, boxes and digits drawn.

The set-up aid: aim the camera, set the ROI and boxes, and check what the
daemon will read, without starting the daemon.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ..camera.sources import SourceError
from ..camera.stream import CameraStream
from ..config import ConfigError, load_config
from ..errors import EXIT_CONFIG
from ..vision.decide import apply_floor
from ..vision.draw import annotate, check_picture_name, picture_target, write_picture
from ..vision.reader import reader_for

logger = logging.getLogger(__name__)


def snapshot_command(args: argparse.Namespace) -> int:
    out = picture_target(args.out, "snapshot.png")
    check_picture_name(out)  # before waiting for the camera
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        for err in exc.errors:
            print(f"{exc.path}: {err}", file=sys.stderr)
        return EXIT_CONFIG
    reader = reader_for(cfg.model, cfg.locate)
    try:
        stream = CameraStream(cfg.camera, base_dir=Path(args.config).parent)
    except SourceError as exc:
        print(f"digitd snapshot: {exc}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.timeout
    frame = None
    with stream:
        # A camera needs a moment to deliver its first (well exposed) frame.
        while frame is None and time.monotonic() < deadline:
            frame = stream.read(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
        stats = stream.stats()
    if frame is None:
        print(f"digitd snapshot: no frame from {stats.source} within {args.timeout:.0f} s"
              + (f" ({stats.last_error})" if stats.last_error else ""), file=sys.stderr)
        return 1
    seen = reader.see(frame.image)
    reading = apply_floor(seen.reading, cfg.decision.min_confidence)
    picture = annotate(frame.image, reading, seen.located.region)
    write_picture(out, picture)
    h, w = frame.image.shape[:2]
    confs = " ".join(d.brief() for d in reading.digits)
    print(f"{out}: {w}x{h} frame from {stats.source}; read {reading.value or '(no digits)'}"
          f"  [{confs}]")
    return 0
