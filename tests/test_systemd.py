"""The systemd units and the example config, checked by systemd's own tools.

``systemd-analyze verify`` loads the units the way PID 1 would; the only thing
changed in the copy it reads is the ExecStart= binary (``/opt/digitd/venv`` does
not exist on a CI machine), swapped for a stub at a path that does. Any output
counts as a failure: systemd reports unknown keys and unparsable values as
warnings with exit status 0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from pydantic import BaseModel

from digitd.edge.config import DigitdConfig, load_config, parse_config
from digitd.install.layout import CONFIG, DEFAULT_VENV, PASSWORD, UNITS

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "systemd"
EXAMPLE = SYSTEMD / "digitd.example.toml"
BINARY = f"{DEFAULT_VENV}/bin/digitd"
# Measured with systemd 252 (Debian 12): 1.7. Kept just above, so any loosening shows.
MAX_EXPOSURE = 1.8

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (apt install systemd)"
)

Unit = dict[tuple[str, str], list[str]]


def parse_unit(text: str) -> Unit:
    """Unit file -> {(section, key): [values]}; keys may repeat, unlike in INI files."""
    unit: Unit = defaultdict(list)
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        unit[(section, key.strip())].append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit.get((section, key), [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, is {values}"
    return values[0]


def stage(folder: Path, unit_name: str, extra: str = "") -> Path:
    """A copy of ``unit_name`` whose ExecStart= runs a stub that exists, plus ``extra``."""
    stub = folder / "bin" / "digitd"
    if not stub.exists():
        stub.parent.mkdir(parents=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    text = (SYSTEMD / unit_name).read_text()
    assert text.count(BINARY) == 1, f"{unit_name}: ExecStart= should run {BINARY}"
    text = text.replace(BINARY, str(stub)).replace("[Service]\n", f"[Service]\n{extra}")
    path = folder / unit_name
    path.write_text(text)
    return path


@pytest.fixture
def staged(tmp_path: Path) -> dict[str, Path]:
    paths = {name: stage(tmp_path, name) for name in UNITS}
    # A template is verified through an instance of it, as systemd would load it.
    instance = tmp_path / "digitd@kitchen.service"
    instance.symlink_to("digitd@.service")
    paths["digitd@kitchen.service"] = instance
    return paths


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=120,
                          check=False)


@needs_analyze
@pytest.mark.parametrize("name", ["digitd.service", "digitd@kitchen.service"])
def test_units_pass_systemd_analyze_verify(staged: dict[str, Path], name: str) -> None:
    done = analyze("verify", str(staged[name]))
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).strip() == ""


@needs_analyze
def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    # The check above is only worth something if a mistake does show up.
    broken = stage(tmp_path, "digitd.service", extra="WatchdogSecs=60s\n")
    done = analyze("verify", str(broken))
    assert "WatchdogSecs" in done.stdout + done.stderr


@needs_analyze
@pytest.mark.parametrize("name", ["digitd.service", "digitd@kitchen.service"])
def test_security_exposure_is_low(staged: dict[str, Path], name: str) -> None:
    done = analyze("security", "--offline=true", "--no-pager", str(staged[name]))
    assert done.returncode == 0, done.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    assert match, done.stdout[-2000:]
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, done.stdout


def test_unit_keeps_the_contract_with_the_daemon() -> None:
    unit = parse_unit((SYSTEMD / "digitd.service").read_text())
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    assert one(unit, "Service", "ExecStart") == f"{BINARY} run --config {CONFIG}"
    assert one(unit, "Service", "ExecReload") == "kill -HUP $MAINPID"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert one(unit, "Service", "RestartPreventExitStatus") == "78"
    assert one(unit, "Service", "WatchdogSec")
    assert one(unit, "Service", "User") == "digitd"
    assert "video" in one(unit, "Service", "SupplementaryGroups").split()
    assert one(unit, "Service", "StateDirectory") == "digitd"
    assert one(unit, "Service", "ConfigurationDirectory") == "digitd"
    assert one(unit, "Service", "LoadCredential") == f"mqtt-password:{PASSWORD}"
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_unit_lets_only_the_camera_devices_through() -> None:
    unit = parse_unit((SYSTEMD / "digitd.service").read_text())
    assert one(unit, "Service", "DevicePolicy") == "closed"
    allowed = {value.split()[0] for value in unit[("Service", "DeviceAllow")]}
    assert allowed == {"char-video4linux", "char-media", "char-dma_heap"}
    assert ("Service", "PrivateDevices") not in unit  # it would hide the camera


def test_memory_limit_leaves_headroom_over_the_budget() -> None:
    unit = parse_unit((SYSTEMD / "digitd.service").read_text())
    limit = one(unit, "Service", "MemoryMax")
    assert limit.endswith("M")
    assert int(limit[:-1]) >= 2 * 100  # the daemon's budget is 100 MB RSS


def test_template_differs_only_where_an_instance_must() -> None:
    main = parse_unit((SYSTEMD / "digitd.service").read_text())
    template = parse_unit((SYSTEMD / "digitd@.service").read_text())
    assert one(template, "Service", "ExecStart") == f"{BINARY} run --config /etc/digitd/%i.toml"
    assert one(template, "Service", "StateDirectory") == "digitd/%i"
    assert "%i" in one(template, "Unit", "Description")
    differing = {key for key in main.keys() | template.keys() if main.get(key) != template.get(key)}
    assert differing == {("Unit", "Description"), ("Service", "ExecStart"),
                         ("Service", "StateDirectory")}


def _uncomment_examples(text: str) -> str:
    return re.sub(r"(?m)^#(\[[a-z_.]+\]|[a-z_]+ = .*)$", r"\1", text)


def test_example_config_validates() -> None:
    config = load_config(EXAMPLE)
    assert config.camera.source == "picamera2"
    assert config.mqtt.tls is None  # TLS stays off until its section is uncommented
    assert config.daemon.state_dir == ""  # so systemd's StateDirectory is used


def test_example_config_commented_examples_validate_too() -> None:
    parse_config(tomllib.loads(_uncomment_examples(EXAMPLE.read_text())), EXAMPLE)


def _fields(model: type[BaseModel], data: dict[str, object], prefix: str = "") -> list[str]:
    """Schema fields missing from ``data`` (dotted paths)."""
    missing = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        sections = [a for a in getattr(annotation, "__args__", (annotation,))
                    if isinstance(a, type) and issubclass(a, BaseModel)]
        if name not in data:
            missing.append(prefix + name)
        elif sections:
            value = data[name]
            assert isinstance(value, dict)
            missing += _fields(sections[0], value, f"{prefix}{name}.")
    return missing


def test_example_config_shows_every_key_of_the_schema() -> None:
    data = tomllib.loads(_uncomment_examples(EXAMPLE.read_text()))
    assert _fields(DigitdConfig, data) == []


def test_example_config_values_are_the_defaults() -> None:
    text = EXAMPLE.read_text()
    config = load_config(EXAMPLE)
    defaults = parse_config({"camera": {"source": config.camera.source}})
    data = tomllib.loads(text)
    for section, values in data.items():
        assert isinstance(values, dict)
        for key, value in values.items():
            if (section, key) in {("camera", "source"), ("mqtt", "host")}:
                continue
            expected = getattr(getattr(defaults, section), key)
            assert value == expected, f"{section}.{key} = {value!r}, default {expected!r}"
