"""Everything the daemon builds from one config: reader, camera stream, publisher, collector.

Rebuilt as a whole on SIGHUP (the outbox handed over open); the set-up page may swap the
reader for one with other locate settings.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ..camera.stream import CameraStream
from ..config import DigitdConfig, LocateConfig
from ..mqtt.outbox import Outbox
from ..mqtt.publisher import MqttPublisher
from ..statefiles import RUNTIME_CHECK, state_file
from ..vision.flow import FlowWatch
from ..vision.reader import Reader, models_for, reader_for
from ..vision.vet import vet
from .collect import CropCollector

logger = logging.getLogger(__name__)


class Parts:
    """Everything built from one config; rebuilt as a whole on SIGHUP."""

    def __init__(self, cfg: DigitdConfig, config_path: Path, state_dir: Path,
                 on_command: Any, outbox: Outbox | None = None) -> None:
        self.cfg = cfg
        # A runtime that crashes on this machine must do so in a child, not here.
        for path, kind in models_for(cfg.model, cfg.locate):
            vet(path, kind, cache_file=state_file(state_dir, RUNTIME_CHECK))
        # The decision step applies the confidence floor and says why.
        self.reader = reader_for(cfg.model, cfg.locate)
        self.state_dir = state_dir
        self.collector: CropCollector | None = None
        self.collect_if_asked()
        self.stream = CameraStream(cfg.camera, base_dir=config_path.parent)
        self.publisher = MqttPublisher(cfg, state_dir, on_command=on_command, outbox=outbox)
        # A meter read to the litre (dials): its flow, and whether the water ever stops.
        self.flow = (FlowWatch(cfg.decision.leak_hours, time.time()) if cfg.locate.dials
                     else None)
        self.flow_at = time.time()  # the time of the last frame offered to it

    def collect_if_asked(self) -> None:
        """Boxes mode with ``[daemon] collect_dir``: keep the crops the model doubted."""
        d = self.cfg.daemon
        if self.collector is None and d.collect_dir and self.cfg.locate.mode == "boxes":
            self.collector = CropCollector(
                self.state_dir / d.collect_dir, d.collect_below, d.collect_interval,
                d.collect_max_files, d.collect_max_bytes,
            )
            logger.info("collecting doubtful box crops in %s", self.collector.root)

    def use_locate(self, reader: Reader, locate: LocateConfig) -> None:
        """The set-up page's settings, checked by the web thread: read with them from now."""
        self.reader = reader
        self.cfg = self.cfg.model_copy(update={"locate": locate})
        self.collect_if_asked()

    def start(self) -> None:
        self.publisher.start()
        self.stream.start()

    def stop(self, timeout: float = 5.0, *, keep_outbox: bool = False) -> None:
        self.stream.close()
        self.publisher.stop(timeout, keep_outbox=keep_outbox)
