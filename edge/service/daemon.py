"""``digitd run``: watch a camera, read the digits, publish the readings.

A plain loop: signals only set flags; every blocking call has a timeout; the
watchdog is pinged from the loop itself, so a hang stops the pings. Camera
trouble, a lost broker or a bad frame are reported on the stats/error topics and
never end the daemon; only a configuration error does (exit 78, which the unit
tells systemd not to restart on).
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import signal
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from .. import __version__
from ..camera.sources import SourceError
from ..camera.stream import StreamState
from ..config import ConfigError, DigitdConfig, load_config
from ..errors import EXIT_CONFIG, EXIT_OK
from ..mqtt.broker import BrokerError
from ..mqtt.commands import Command, ReadNow, SetValue
from ..mqtt.outbox import OutboxError
from ..mqtt.payloads import Error, State, Stats
from ..reading import Reading
from ..vision.decide import Action, Decider, Decision
from ..vision.image import ImageError
from ..web.live import LiveFrame, LiveView
from .counters import Counters
from .notify import Notifier, Watchdog
from .parts import Parts
from .statedir import (
    LocateOverride,
    load_last_value,
    prepare_state_dir,
    save_last_value,
    state_dir_for,
    with_locate_override,
)

logger = logging.getLogger(__name__)

ERROR_REPEAT_SECONDS = 60.0  # the same rejection is published at most this often
# READY=1 comes with the first processed frame; a camera that is not there yet
# must not make systemd kill the start (TimeoutStartSec=2min) and loop forever,
# so after this long the daemon reports ready anyway and says why in STATUS=.
READY_GRACE_SECONDS = 60.0


class Daemon:
    def __init__(self, config_path: str | Path, *, exit_at_end: bool = False,
                 show_mqtt: bool = False, env: dict[str, str] | None = None) -> None:
        self.config_path = Path(config_path)
        self.exit_at_end = exit_at_end
        self.show_mqtt = show_mqtt
        self.env = os.environ if env is None else env
        self._stop = False
        self._reload = False
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.notifier = Notifier(self.env.get("NOTIFY_SOCKET") or None)
        self.watchdog = Watchdog.from_env(self.notifier, self.env)
        self.counters = Counters()
        self._last_error: dict[str, float] = {}
        self._broker: Any = None
        self._state_dir = Path()
        self._live: LiveView | None = None
        self._web: Any = None  # digitd.edge.web.server.WebServer, imported only when enabled
        self._parts: Parts | None = None
        self._persist_error: str | None = None
        self._storage_error: str | None = None  # as last reported on <base>/error

    # -- signals ------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
        else:
            self._stop = True

    def request_stop(self) -> None:
        self._stop = True

    # -- set-up -------------------------------------------------------------------------------
    def _start_broker(self, cfg: DigitdConfig) -> None:
        """No broker configured: run one in-process on loopback (demo, single-box setups)."""
        if cfg.mqtt.host is not None or self._broker is not None:
            return
        from ..mqtt.broker import EmbeddedBroker

        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", cfg.mqtt.port)) == 0:
                logger.info("mqtt.host unset: using the broker already listening on "
                            "127.0.0.1:%d", cfg.mqtt.port)
                return
        self._broker = EmbeddedBroker("127.0.0.1", cfg.mqtt.port)
        self._broker.start()

    def _restore(self, decider: Decider, state_dir: Path) -> None:
        saved = load_last_value(state_dir)
        if saved is not None:
            decider.set_value(*saved)

    def _persist(self, value: str, state_dir: Path) -> None:
        """Keep the last value for the next start; a disk that refuses is reported, not fatal."""
        self._persist_error = save_last_value(state_dir, value)

    def _check_storage(self, parts: Parts) -> None:
        """A disk that fills up or turns read-only: once on ``<base>/error``, and when it mends."""
        now = parts.publisher.storage_error or self._persist_error
        if now == self._storage_error:
            return
        if now is not None and self._storage_error is None:
            if self._persist_error is not None and parts.publisher.storage_error is None:
                logger.error("%s; the value is still published (free space or make "
                             "daemon.state_dir writable)", self._persist_error)
            self._error(parts, "storage_error", now, log=False, state_dir=str(self._state_dir))
        elif now is None:
            logger.warning("the state directory %s can be written again", self._state_dir)
            self._last_error.pop("storage_error", None)
            self._error(parts, "storage_recovered",
                        f"the state directory {self._state_dir} can be written again", log=False)
        self._storage_error = now

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> int:
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            for err in exc.errors:
                logger.error("%s: %s", exc.path, err)
            return EXIT_CONFIG
        state_dir = self._state_dir = state_dir_for(cfg, self.env)
        cfg = with_locate_override(cfg, state_dir)
        # What the daemon writes (outbox, last value, crops) is for its own user only,
        # under systemd (UMask=0077) or not.
        os.umask(0o077)
        try:
            prepare_state_dir(state_dir, ours=bool(cfg.daemon.state_dir)
                              or not self.env.get("STATE_DIRECTORY"))
            self._start_broker(cfg)
            parts = self._parts = Parts(cfg, self.config_path, state_dir, self._commands.put)
            self._start_web(parts)
        except BrokerError as exc:
            logger.error("%s", exc)
            return 1
        except (ValueError, SourceError, OSError, OutboxError) as exc:
            # A model, camera or TLS file that the config names but cannot be used.
            logger.error("%s", exc)
            if self._broker is not None:
                self._broker.stop()
            return EXIT_CONFIG
        decider = Decider(cfg.decision)
        self._restore(decider, state_dir)
        # The first accepted reading after a start goes out even when it equals the
        # restored value: the broker may have lost its retained state meanwhile.
        decider.request_publish()
        connects_seen = 0
        camera_seen = StreamState.STARTING

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        watcher = None
        if self.show_mqtt:
            from ..mqtt.watch import MqttWatcher

            watcher = MqttWatcher(cfg)
            watcher.start()
        parts.start()
        logger.info("digitd %s reading %s, publishing under %s", __version__,
                    parts.stream.spec.display, cfg.base_topic)
        ready = False
        next_stats = time.monotonic() + cfg.mqtt.stats_interval
        try:
            while not self._stop:
                if self._reload:
                    self._reload = False
                    before = parts
                    parts, decider = self._reloaded(parts, decider, state_dir)
                    self._parts, cfg = parts, parts.cfg
                    if parts is not before:  # a new publisher and camera: count afresh
                        connects_seen, camera_seen = 0, StreamState.STARTING
                        # The old parts hold sockets (paho's wake-up pair), the model's file
                        # and the outbox in reference cycles: free them now, not whenever
                        # the collector gets round to it, so reloads leave nothing open.
                        del before
                        gc.collect()
                self._handle_commands(parts, decider, state_dir)
                if self._live is not None and (asked := self._live.take_reader()) is not None:
                    parts.use_locate(*asked)
                    cfg = parts.cfg
                    self._live.collect_root = parts.collector.root if parts.collector else None
                if parts.publisher.connects > connects_seen:
                    # Back after an outage (or connected for the first time): the next
                    # accepted reading is published even if it did not change.
                    connects_seen = parts.publisher.connects
                    decider.request_publish()
                frame = parts.stream.read(timeout=0.5)
                self.watchdog.kick_if_due()
                now_mono = time.monotonic()
                camera_now = parts.stream.state
                if camera_now != camera_seen:
                    self._camera_changed(parts, camera_seen, camera_now)
                    camera_seen = camera_now
                    next_stats = now_mono + cfg.mqtt.stats_interval
                    self._publish_stats(parts)
                if now_mono >= next_stats:
                    next_stats = now_mono + cfg.mqtt.stats_interval
                    self._publish_stats(parts)
                if frame is None:
                    if not ready and now_mono - self.counters.started > READY_GRACE_SECONDS:
                        ready = True
                        error = parts.stream.stats().last_error or "no frame yet"
                        self.notifier.ready(f"waiting for the camera: {error}")
                    if parts.stream.state == StreamState.ENDED and self.exit_at_end:
                        logger.info("the video ended; stopping (--exit-at-end)")
                        break
                    continue
                self._process(parts, decider, frame.image, frame.seq, frame.timestamp, state_dir)
                if not ready:
                    ready = True
                    self.notifier.ready(f"reading {parts.stream.spec.display}")
                if not parts.stream.live:
                    # A file is read on demand: play it at camera.interval, not flat out.
                    self._pause(now_mono + cfg.camera.interval)
        finally:
            self.notifier.stopping("stopping")
            self._publish_stats(parts)
            if self._web is not None:
                self._web.stop()
            parts.stop()
            if watcher is not None:
                watcher.stop()
            if self._broker is not None:
                self._broker.stop()
            self.notifier.close()
        logger.info("stopped after %d frames, %d readings published", self.counters.frames,
                    self.counters.published)
        return EXIT_OK

    def _pause(self, until: float) -> None:
        """Sleep until ``until`` (monotonic) in short steps: signals and the watchdog go on."""
        while not self._stop and not self._reload:
            left = until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.2))
            self.watchdog.kick_if_due()

    def _process(self, parts: Parts, decider: Decider, image: Any, seq: int,
                 timestamp: float, state_dir: Path) -> None:
        c = self.counters
        t0 = time.perf_counter()
        try:
            seen = parts.reader.see(image)
        except ImageError as exc:
            c.errors += 1
            self._error(parts, "bad_frame", str(exc), frame=seq)
            return
        reading, located = seen.reading, seen.located
        c.frames += 1
        c.frame_read((time.perf_counter() - t0) * 1000.0, reading.timings_ms.get("classify", 0.0))
        decision = decider.offer(reading, timestamp)
        if parts.flow is not None and decision.value and decision.action in (
                Action.PUBLISH, Action.HEARTBEAT, Action.UNCHANGED):
            parts.flow.offer(decision.value, timestamp)
        parts.flow_at = timestamp
        if self._live is not None:
            self._live.offer(LiveFrame(image, seq, seen, parts.reader))
        if parts.collector is not None:
            parts.collector.offer(located.crops, (*reading.rejected, *reading.digits), seq)
            if reading.dials:
                parts.collector.offer_dials(image, reading.dials, seq)
        if decision.publish:
            self._publish(parts, decision, reading, seq, timestamp, state_dir)
        elif decision.action == Action.REJECT and decision.reason is not None:
            c.rejected += 1
            r = decision.reason
            if self._live is not None:
                self._live.rejected(str(r.code), r.message)
            self._error(parts, str(r.code), r.message, value=r.value, frame=seq)

    def _publish(self, parts: Parts, decision: Decision, reading: Reading, seq: int,
                 timestamp: float, state_dir: Path) -> None:
        value = decision.value or reading.value
        parts.publisher.publish_state(State.of_reading(
            reading, value=value, timestamp=datetime.fromtimestamp(timestamp, UTC), frame=seq,
            heartbeat=decision.action == Action.HEARTBEAT, recovered=decision.recovered,
        ))
        self.counters.published += 1
        if self._live is not None:
            self._live.published(value)
        self._persist(value, state_dir)
        self._check_storage(parts)
        self.notifier.status(f"value {value} at {time.strftime('%H:%M:%S')}")
        if parts.publisher.connected:
            logger.info("published %s (frame %d, confidence %.2f)", value, seq,
                        reading.confidence)
        else:
            waiting = parts.publisher.stats().queued
            logger.info("queued %s (frame %d; broker unreachable, %s waiting)", value, seq,
                        waiting)

    def _error(self, parts: Parts, code: str, reason: str, *, log: bool = True,
               **extra: object) -> None:
        """Publish a rejection, but the same code at most once a minute: no flood.

        ``log``: False when the problem was logged already where it happened."""
        now = time.monotonic()
        if now - self._last_error.get(code, -1e9) < ERROR_REPEAT_SECONDS:
            return
        self._last_error[code] = now
        if log:
            logger.info("rejected: %s (%s)", reason, code)
        parts.publisher.publish_error(Error(code, reason, extra))

    def _handle_commands(self, parts: Parts, decider: Decider, state_dir: Path) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, ReadNow):
                decider.request_publish()
                logger.info("command: read now")
            elif isinstance(command, SetValue):
                decider.set_value(command.value, time.time())
                parts.publisher.publish_state(State.set_by_command(command.value))
                self._persist(command.value, state_dir)
                self._check_storage(parts)
                logger.info("command: meter value set to %s", command.value)

    def _camera_changed(self, parts: Parts, before: StreamState, now: StreamState) -> None:
        """Camera trouble and recovery on ``<base>/error``, rate-limited like rejections."""
        stats = parts.stream.stats()
        source = stats.source
        if now == StreamState.REOPENING:
            reason = stats.last_error or "the camera stopped delivering frames"
            code = "camera_missing" if before == StreamState.STARTING else "camera_failed"
            self._error(parts, code, reason, source=source)
        elif now == StreamState.OK and before == StreamState.REOPENING:
            self._error(parts, "camera_recovered", f"{source} delivers frames again",
                        source=source)

    def _publish_stats(self, parts: Parts) -> None:
        parts.publisher.publish_stats(self._stats(parts))
        self.counters.new_window()

    def _stats(self, parts: Parts) -> Stats:
        stats = self.counters.stats(parts.stream.stats(), parts.publisher.stats(),
                                    parts.publisher.storage_error or self._persist_error)
        if parts.flow is None:
            return stats
        unit, factor = parts.cfg.homeassistant.flow_unit()
        flow = parts.flow.flow(parts.flow_at)
        return replace(stats, flow=None if flow is None else flow * factor, flow_unit=unit,
                       leak=parts.flow.leak(parts.flow_at))

    def _start_web(self, parts: Parts) -> None:
        """``[web] enabled``: the set-up page, on a thread of its own (imported only then)."""
        cfg = parts.cfg
        if not cfg.web.enabled:
            return
        from ..web.server import WebServer

        self._live = LiveView(
            locate=cfg.locate,
            collect_root=parts.collector.root if parts.collector else None,
            stats=lambda: self._stats(self._parts).as_json() if self._parts else {},
            store=LocateOverride(self._state_dir),
        )
        self._web = WebServer(cfg.web, self._live, cfg.model, env=self.env)
        self._web.start()

    def _reloaded(self, parts: Parts, decider: Decider,
                  state_dir: Path) -> tuple[Parts, Decider]:
        self.notifier.reloading("reloading the configuration")
        try:
            cfg = with_locate_override(load_config(self.config_path), state_dir)
            # The outbox goes over open: SQLite keeps a closed connection's descriptor
            # while another connection in the process holds the file, so reopening it on
            # every reload would leave one behind.
            new = Parts(cfg, self.config_path, state_dir, self._commands.put,
                         outbox=parts.publisher.outbox)
        except (ValueError, SourceError, OSError, OutboxError) as exc:
            errors = exc.errors if isinstance(exc, ConfigError) else [str(exc)]
            for err in errors:
                logger.error("reload refused, keeping the running configuration: %s", err)
            self.notifier.ready("reload refused: configuration has errors")
            return parts, decider
        parts.stop(keep_outbox=True)
        if self._live is not None:
            self._live.locate = cfg.locate
            self._live.collect_root = new.collector.root if new.collector else None
        if cfg.web != parts.cfg.web:
            logger.warning("[web] changed: restart digitd for it to take effect")
        new_decider = Decider(cfg.decision)
        if decider.value is not None:
            new_decider.set_value(decider.value, time.time())
        new.start()
        logger.info("configuration reloaded from %s", self.config_path)
        self.notifier.ready("configuration reloaded")
        return new, new_decider


def run_command(args: Any) -> int:
    return Daemon(args.config, exit_at_end=args.exit_at_end, show_mqtt=args.show_mqtt).run()
