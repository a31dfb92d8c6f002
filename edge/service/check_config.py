"""``digitd check-config FILE``: every problem with its field path, or a one-line summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..camera.sources import redact
from ..config import ConfigError, DigitdConfig, load_config
from ..errors import EXIT_CONFIG, EXIT_OK
from ..vision.model_card import ModelError
from ..vision.reader import models_for
from ..vision.vet import vet


def _check_runtime(cfg: DigitdConfig) -> list[str]:
    """Load the model the config reads with in a child process, as the daemon will, and
    read the known inputs in its card: a runtime that crashes here or computes wrong
    results is found now, not by a daemon that publishes nothing."""
    for path, kind in models_for(cfg.model, cfg.locate):
        try:
            trials = vet(path, kind)
        except ModelError as exc:
            return [f"model: {exc}"]
        for trial in trials:
            print(f"model {path.name}: {trial.runtime} {trial.detail}"
                  + (" (in a separate process)" if trial.ok else ""))
    return []


def check_config_command(args: Any) -> int:
    """Validate a config file: every error with its field path, exit 78; or a summary, exit 0."""
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.errors)} error(s)")
        for err in exc.errors:
            print(f"  {err}")
        return EXIT_CONFIG
    problems = []
    for name in ("path", "meter_path"):
        value = getattr(cfg.model, name)
        if value and not Path(value).is_file():
            problems.append(f"model.{name}: {value} does not exist")
    for name in ("password_file",):
        value = getattr(cfg.mqtt, name)
        if value and not Path(value).is_file():
            problems.append(f"mqtt.{name}: {value} does not exist")
    if cfg.mqtt.tls is not None:
        for name in ("ca", "cert", "key", "key_password_file"):
            value = getattr(cfg.mqtt.tls, name)
            if value and not Path(value).is_file():
                problems.append(f"mqtt.tls.{name}: {value} does not exist")
    if not problems:
        problems.extend(_check_runtime(cfg))
    if problems:
        print(f"{args.file}: {len(problems)} error(s)")
        for p in problems:
            print(f"  {p}")
        return EXIT_CONFIG
    broker = f"{cfg.mqtt.host}:{cfg.mqtt.port}" if cfg.mqtt.host else "the embedded broker"
    print(f"{args.file}: OK — device {cfg.device.id}, camera {redact(cfg.camera.source)}, "
          f"mode {cfg.locate.mode}, MQTT {broker}, base topic {cfg.base_topic}")
    return EXIT_OK
