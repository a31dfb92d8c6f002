"""``digitd install-service`` against a temporary root (``--root``): nothing here
touches the machine's /etc, /opt or systemd."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath

import pytest

from digitd.edge import cli
from digitd.edge.config import load_config
from digitd.install import layout, packaging, plan, steps
from digitd.install.layout import InstallError
from digitd.install.packaging import package_from

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "systemd"
REAL_IS_RASPBERRY_PI = plan.is_raspberry_pi

Snapshot = dict[str, tuple[int, bytes, int]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root``: mode, content (or link target), mtime."""
    found: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            content = os.readlink(path).encode()
        elif path.is_file():
            content = path.read_bytes()
        else:
            content = b""
        found[str(path.relative_to(root))] = (st.st_mode, content, st.st_mtime_ns)
    return found


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["install-service", "--root", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def at(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


@pytest.fixture(autouse=True)
def not_a_pi(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests must not depend on the machine they run on.
    monkeypatch.setattr(plan, "is_raspberry_pi", lambda *_: False)


def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, tmp_path, "--dry-run")
    assert code == 0
    assert snapshot(tmp_path) == {}
    for words in ("would         create the virtual environment",
                  "would         install digitd[edge]",
                  "would         put the example config in",
                  "would         create the empty MQTT password file",
                  "would         install the unit file",
                  "skipped       tell systemd"):
        assert words in out, out


def test_install_creates_units_config_and_password_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, tmp_path, "--no-venv")
    assert code == 0, err
    for name in ("digitd.service", "digitd@.service"):
        installed = at(tmp_path, f"/etc/systemd/system/{name}")
        assert installed.read_bytes() == (SYSTEMD / name).read_bytes()
        assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    config = at(tmp_path, "/etc/digitd/digitd.toml")
    assert config.read_bytes() == (SYSTEMD / "digitd.example.toml").read_bytes()
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    load_config(config)
    password = at(tmp_path, "/etc/digitd/mqtt-password")
    assert password.read_bytes() == b""
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    link = at(tmp_path, "/usr/local/bin/digitd")
    assert os.readlink(link) == "/opt/digitd/venv/bin/digitd"
    assert "skipped       create the system user" in out  # no etc/passwd in this root
    assert "daemon-reload" in out and "--root" in out


def test_second_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, tmp_path, "--no-venv")[0] == 0
    before = snapshot(tmp_path)
    code, out, _ = run(capsys, tmp_path, "--no-venv")
    assert code == 0
    assert snapshot(tmp_path) == before
    assert "doing" not in out
    assert "Nothing to do" in out


def test_an_edited_config_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = at(tmp_path, "/etc/digitd/digitd.toml")
    config.parent.mkdir(parents=True)
    config.write_text('[camera]\nsource = "/dev/video2"\n')
    config.chmod(0o640)
    code, out, _ = run(capsys, tmp_path, "--no-venv")
    assert code == 0
    assert config.read_text() == '[camera]\nsource = "/dev/video2"\n'
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert "kept your" in out
    assert run(capsys, tmp_path, "--no-venv", "--dry-run")[0] == 0
    assert config.read_text() == '[camera]\nsource = "/dev/video2"\n'


def test_an_existing_password_is_kept_and_made_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = at(tmp_path, "/etc/digitd/mqtt-password")
    password.parent.mkdir(parents=True)
    password.write_text("s3cret\n")
    password.chmod(0o644)
    assert run(capsys, tmp_path, "--no-venv")[0] == 0
    assert password.read_text() == "s3cret\n"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600


def test_a_changed_unit_file_is_put_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "--no-venv")[0] == 0
    unit = at(tmp_path, "/etc/systemd/system/digitd.service")
    unit.write_text(unit.read_text().replace("MemoryMax=", "#MemoryMax="))
    code, out, _ = run(capsys, tmp_path, "--no-venv")
    assert code == 0
    assert unit.read_bytes() == (SYSTEMD / "digitd.service").read_bytes()
    assert "doing         install the unit file" in out


def test_another_venv_goes_into_exec_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, tmp_path, "--no-venv", "--venv", "/srv/digitd/venv")
    assert code == 0
    for name in ("digitd.service", "digitd@.service"):
        text = at(tmp_path, f"/etc/systemd/system/{name}").read_text()
        assert "ExecStart=/srv/digitd/venv/bin/digitd run --config" in text
        assert "/opt/digitd" not in text
    assert "which does not exist" in out  # --no-venv, and nothing is there yet


def test_someone_elses_digitd_command_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = at(tmp_path, "/usr/local/bin/digitd")
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\n")
    code, out, _ = run(capsys, tmp_path, "--no-venv")
    assert code == 0
    assert "is already there and is not ours" in out
    _fake_venv(tmp_path)
    assert run(capsys, tmp_path, "--uninstall")[0] == 0
    assert theirs.read_text() == "#!/bin/sh\n"


def test_a_venv_the_service_cannot_see_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, tmp_path, "--venv", "/home/pi/venv")
    assert code == 1
    assert "ProtectHome" in err
    assert snapshot(tmp_path) == {}


def test_a_venv_path_systemd_would_misread_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for venv in ("opt/venv", "/opt/my venv", "/opt/100%"):
        code, _, err = run(capsys, tmp_path, "--venv", venv)
        assert code == 1
        assert "ExecStart" in err
    assert snapshot(tmp_path) == {}


def _fake_venv(root: Path) -> Path:
    venv = at(root, "/opt/digitd/venv")
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("include-system-site-packages = false\n")
    (venv / "bin" / "digitd").write_text("#!/bin/sh\n")
    return venv


def test_uninstall_removes_units_and_venv_but_keeps_config_and_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "--no-venv")[0] == 0
    venv = _fake_venv(tmp_path)
    wants = at(tmp_path, "/etc/systemd/system/multi-user.target.wants")
    wants.mkdir()
    for name in ("digitd.service", "digitd@kitchen.service"):
        (wants / name).symlink_to(f"/etc/systemd/system/{name}")
    (wants / "other.service").symlink_to("/lib/systemd/system/other.service")
    state = at(tmp_path, "/var/lib/digitd/outbox.sqlite")
    state.parent.mkdir(parents=True)
    state.write_bytes(b"queued readings")
    at(tmp_path, "/etc/digitd/mqtt-password").write_text("s3cret\n")

    code, out, err = run(capsys, tmp_path, "--uninstall")
    assert code == 0, err
    assert not at(tmp_path, "/etc/systemd/system/digitd.service").exists()
    assert not at(tmp_path, "/etc/systemd/system/digitd@.service").exists()
    assert sorted(p.name for p in wants.iterdir()) == ["other.service"]
    assert not venv.exists()
    assert not at(tmp_path, "/usr/local/bin/digitd").is_symlink()
    assert state.read_bytes() == b"queued readings"
    assert at(tmp_path, "/etc/digitd/mqtt-password").read_text() == "s3cret\n"
    load_config(at(tmp_path, "/etc/digitd/digitd.toml"))
    assert "Kept the config" in out

    before = snapshot(tmp_path)
    code, out, _ = run(capsys, tmp_path, "--uninstall")
    assert code == 0
    assert snapshot(tmp_path) == before
    assert "Nothing to do" in out


def test_uninstall_leaves_a_folder_that_is_not_a_venv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = at(tmp_path, "/opt/digitd/venv")
    folder.mkdir(parents=True)
    (folder / "precious.txt").write_text("mine")
    code, _, err = run(capsys, tmp_path, "--uninstall")
    assert code == 1
    assert "not a virtual environment" in err
    assert (folder / "precious.txt").read_text() == "mine"


def test_uninstall_dry_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "--no-venv")[0] == 0
    _fake_venv(tmp_path)
    before = snapshot(tmp_path)
    code, out, _ = run(capsys, tmp_path, "--uninstall", "--dry-run")
    assert code == 0
    assert snapshot(tmp_path) == before
    assert "would         remove" in out


def test_without_root_it_says_to_use_sudo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def must_not_plan(*_: object) -> list[steps.Step]:
        raise AssertionError("planned an installation into the real system")

    monkeypatch.setattr(plan, "install_steps", must_not_plan)
    monkeypatch.setattr(plan.os, "geteuid", lambda: 1000)
    assert cli.main(["install-service", "--no-venv"]) == 1
    assert "run with sudo" in capsys.readouterr().err


SEED = {
    "passwd": "root:x:0:0:root:/root:/bin/bash\n",
    "group": "root:x:0:\nvideo:x:44:\n",
    "shadow": "root:*:19000:0:99999:7:::\n",
    "gshadow": "root:*::\nvideo:!::\n",
}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                    reason="useradd --prefix needs root and the passwd package")
def test_system_user_is_created_in_the_video_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    etc = at(tmp_path, "/etc")
    etc.mkdir()
    for name, text in SEED.items():
        (etc / name).write_text(text)
        (etc / name).chmod(0o600 if "shadow" in name else 0o644)
    code, out, err = run(capsys, tmp_path, "--no-venv")
    assert code == 0, err
    users = {fields[0]: fields
             for fields in (line.split(":") for line in (etc / "passwd").read_text().splitlines())}
    assert users["digitd"][5:] == ["/var/lib/digitd", "/usr/sbin/nologin"]
    assert int(users["digitd"][2]) < 1000  # a system user
    video = next(line for line in (etc / "group").read_text().splitlines()
                 if line.startswith("video:"))
    assert "digitd" in video.split(":")[3].split(",")
    assert "doing         create the system user" in out

    before = snapshot(tmp_path)
    code, out, _ = run(capsys, tmp_path, "--no-venv")
    assert code == 0
    assert snapshot(tmp_path) == before
    assert "already done  create the system user" in out


def test_a_missing_video_group_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan.os, "geteuid", lambda: 0)
    etc = at(tmp_path, "/etc")
    etc.mkdir()
    (etc / "passwd").write_text(SEED["passwd"])
    (etc / "group").write_text("root:x:0:\n")
    code, _, err = run(capsys, tmp_path, "--no-venv")
    assert code == 1
    assert "group 'video' does not exist" in err and "groupadd" in err


def test_package_specs() -> None:
    default = package_from(None)
    assert default.requirement == f"digitd[edge] @ {ROOT.as_uri()}"
    assert default.version is not None
    assert package_from("digitd==0.2.0").requirement == "digitd[edge]==0.2.0"
    assert package_from("digitd==0.2.0").version == "0.2.0"
    assert package_from("digitd[train]>=0.1").requirement == "digitd[train,edge]>=0.1"
    assert package_from("digitd>=0.1").version is None
    with pytest.raises(InstallError, match="neither an existing file"):
        package_from("numpy")


def test_package_from_a_wheel_file(tmp_path: Path) -> None:
    wheel = tmp_path / "digitd-0.3.1-py3-none-any.whl"
    wheel.write_bytes(b"")
    spec = package_from(str(wheel))
    assert spec.requirement == f"digitd[edge] @ {wheel.as_uri()}"
    assert spec.version == "0.3.1"


def test_raspberry_pi_detection(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    other = tmp_path / "other"
    other.write_bytes(b"QEMU Virtual Machine\x00")
    assert REAL_IS_RASPBERRY_PI([tmp_path / "missing", model])
    assert not REAL_IS_RASPBERRY_PI([other, tmp_path / "missing"])


def test_on_a_pi_the_venv_sees_the_os_packages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan, "is_raspberry_pi", lambda *_: True)
    code, out, _ = run(capsys, tmp_path, "--dry-run")
    assert code == 0
    assert "sees the OS's Python packages (python3-picamera2)" in out


@pytest.mark.slow
def test_venv_step_creates_and_then_switches_system_site_packages(tmp_path: Path) -> None:
    target = layout.Target(tmp_path, PurePosixPath("/opt/digitd/venv"))
    step = steps.CreateVenv(target, system_site_packages=True)
    assert not step.is_done()
    step.apply()
    assert step.is_done()
    cfg = at(tmp_path, "/opt/digitd/venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in cfg
    assert steps.PipInstall(target, package_from(None), reinstall=False).installed_version() \
        is None

    without = steps.CreateVenv(target, system_site_packages=False)
    assert not without.is_done()
    without.apply()  # --upgrade: the packages in it stay
    assert without.is_done()
    assert at(tmp_path, "/opt/digitd/venv/bin/python").exists()


def test_the_checkout_is_copied_before_pip_builds_it(tmp_path: Path) -> None:
    # pip builds a folder in place; as root, in the user's checkout, that would
    # leave root-owned build/ and *.egg-info behind.
    copy = packaging.copy_for_build(ROOT, tmp_path / "digitd")
    assert (copy / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert (copy / "install" / "plan.py").is_file()
    assert (copy / "models").is_dir()
    assert not (copy / ".venv").exists() and not (copy / "tests").exists()
    assert not list(copy.rglob("__pycache__"))
