"""The config is strict: every problem is named with its field path, nothing crashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitd.edge.config import ConfigError, load_config, parse_config

SECTIONS = ["device", "camera", "model", "locate", "decision", "mqtt", "homeassistant",
            "daemon", "bogus"]
KEYS = ["id", "source", "interval", "port", "host", "mode", "roi", "boxes", "warp",
        "stable_count", "meter", "min_confidence", "prefix", "tls", "base_topic", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True), st.text(max_size=20),
                    st.lists(st.integers(-5, 500), max_size=5))
configs = st.dictionaries(
    st.sampled_from(SECTIONS),
    st.one_of(scalars, st.dictionaries(st.sampled_from(KEYS), scalars, max_size=6)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(configs)
def test_any_config_validates_or_lists_its_errors(data: dict[str, Any]) -> None:
    try:
        cfg = parse_config(data, "gen.toml")
    except ConfigError as exc:
        assert exc.errors and all(isinstance(e, str) and ": " in e for e in exc.errors)
        assert str(exc).startswith("gen.toml: ")
        return
    assert cfg.camera.source  # the one key without a default


def test_minimal_config_gets_defaults() -> None:
    cfg = parse_config({"camera": {"source": "0"}})
    assert cfg.base_topic == f"digitd/{cfg.device.id}"
    assert cfg.mqtt.host is None and cfg.locate.mode == "auto"


@pytest.mark.parametrize(("data", "expected"), [
    ({"camera": {"source": "0", "fps": 0}}, "camera.fps"),
    ({"camera": {"source": "0"}, "locate": {"mode": "boxes"}}, "needs at least one box"),
    ({"camera": {"source": "0"}, "locate": {"roi": [0, 0, -5, 10]}}, "roi"),
    ({"camera": {"source": "0"}, "mqtt": {"base_topic": "a/#"}}, "no wildcards"),
    ({"camera": {"source": "0"}, "device": {"id": "has space"}}, "device.id"),
    ({"camera": {"source": "0"}, "mqtt": {"tls": {"cafile": "x"}}}, "mqtt.tls.cafile: unknown"),
])
def test_errors_name_the_field(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "f.toml")
    assert any(expected in e for e in info.value.errors), info.value.errors


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera\nsource = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_state_dir_follows_config_then_systemd_then_home() -> None:
    from digitd.edge.service.statedir import state_dir_for

    cfg = parse_config({"camera": {"source": "0"}, "device": {"id": "m1"},
                        "daemon": {"state_dir": "/x/y"}})
    assert state_dir_for(cfg, {}) == Path("/x/y")
    cfg = parse_config({"camera": {"source": "0"}, "device": {"id": "m1"}})
    assert state_dir_for(cfg, {"STATE_DIRECTORY": "/var/lib/digitd:/b"}) == Path("/var/lib/digitd")
    assert state_dir_for(cfg, {}).parts[-4:] == (".local", "state", "digitd", "m1")


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ('[homeassistant]\nprefix = "home/#"\n', "homeassistant.prefix"),
        ('[homeassistant]\nprefix = "home/+"\n', "homeassistant.prefix"),
        (f'[mqtt]\nclient_id = "{"x" * 70000}"\n', "mqtt.client_id"),
        ('[mqtt]\nhost = ""\n', "mqtt.host"),
    ],
)
def test_check_config_refuses_what_would_never_deliver(tmp_path: Path, section: str,
                                                       field: str) -> None:
    """Each of these passed before and then delivered nothing (or killed paho's thread)."""
    import subprocess
    import sys

    config = tmp_path / "c.toml"
    config.write_text('[camera]\nsource = "0"\n' + section)
    proc = subprocess.run([sys.executable, "-m", "digitd.edge.cli", "check-config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78, proc.stdout
    assert field in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_check_config_never_prints_a_camera_password(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "c.toml"
    config.write_text('[camera]\nsource = "rtsp://admin:S3cr@t/x@cam.local:554/live"\n')
    proc = subprocess.run([sys.executable, "-m", "digitd.edge.cli", "check-config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert "S3cr" not in proc.stdout + proc.stderr and "admin:***@cam.local" in proc.stdout
