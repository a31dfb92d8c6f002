"""Where things go and what this system is: paths, the service user, the unit files'
folder, the checkout, and the few system calls every step shares."""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
import shlex
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

USER = "digitd"
CAMERA_GROUP = "video"
DEFAULT_VENV = PurePosixPath("/opt/digitd/venv")
CONFIG_DIR = PurePosixPath("/etc/digitd")
CONFIG = CONFIG_DIR / "digitd.toml"
PASSWORD = CONFIG_DIR / "mqtt-password"
UNIT_DIR = PurePosixPath("/etc/systemd/system")
STATE_DIR = PurePosixPath("/var/lib/digitd")
COMMAND_LINK = PurePosixPath("/usr/local/bin/digitd")
UNITS = ("digitd.service", "digitd@.service")
EXAMPLE_CONFIG = "digitd.example.toml"
EXTRA = "edge"
# /home, /root and /run/user are invisible to the service (ProtectHome=yes).
HIDDEN_FROM_SERVICE = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))


class InstallError(RuntimeError):
    """A step cannot be done; the message names the problem and the fix."""


# --- where things go -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The system being installed into: ``/`` or a temporary root for tests."""

    root: Path
    venv: PurePosixPath = DEFAULT_VENV

    @property
    def live(self) -> bool:
        """True when installing into the running system (not a ``--root``)."""
        return self.root.resolve() == Path("/")

    def path(self, p: PurePosixPath) -> Path:
        """``p`` (an absolute path on the target system) as a path on this machine."""
        return self.root / p.relative_to("/")

    def show(self, p: PurePosixPath) -> str:
        """``p`` as the user should read it: the real path, under ``--root`` if any."""
        return str(p) if self.live else str(self.path(p))


def systemd_running() -> bool:
    # sd_booted(): this directory exists only when systemd is PID 1.
    return Path("/run/systemd/system").is_dir()


def is_raspberry_pi(model_files: Sequence[Path] = MODEL_FILES) -> bool:
    for path in model_files:
        try:
            if "Raspberry Pi" in path.read_bytes().decode("utf-8", "replace"):
                return True
        except OSError:
            continue
    return False


def data_dir() -> Path:
    """The folder with the unit files and the example config.

    A source checkout (editable install) has them in ``systemd/`` beside ``edge/``;
    a build that maps ``systemd/`` as the package ``digitd.systemd`` ships them too.
    """
    candidates = [Path(__file__).resolve().parents[1] / "systemd"]
    if importlib.util.find_spec("digitd.systemd") is not None:
        candidates.append(Path(str(importlib.resources.files("digitd.systemd"))))
    for folder in candidates:
        if all((folder / name).is_file() for name in (*UNITS, EXAMPLE_CONFIG)):
            return folder
    raise InstallError(
        "cannot find the unit files (digitd.service, digitd@.service, digitd.example.toml) "
        f"next to this digitd (looked in {', '.join(map(str, candidates))}); "
        "run install-service from a digitd source checkout"
    )


def source_tree() -> Path | None:
    """The digitd project this command runs from, when it runs from a checkout."""
    here = Path(__file__).resolve().parents[1]
    try:
        meta = tomllib.loads((here / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return here if meta.get("project", {}).get("name") == "digitd" else None


def run_command(cmd: Sequence[str], *, capture: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; a failure becomes an :class:`InstallError` that quotes the command."""
    logger.debug("running %s", shlex.join(cmd))
    try:
        done = subprocess.run(list(cmd), capture_output=capture, text=True, check=False)
    except FileNotFoundError:
        raise InstallError(f"{cmd[0]} is not installed (needed for: {shlex.join(cmd)})") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout or "").strip() if capture else "see above"
        raise InstallError(f"`{shlex.join(cmd)}` failed (exit {done.returncode}): {said}")
    return done


def write_file(path: Path, data: bytes, mode: int) -> None:
    # Write beside and rename, so a unit or config is never seen half written.
    tmp = path.with_name(f".{path.name}.digitd-install")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)  # the umask must not loosen or tighten it
    finally:
        os.close(fd)
    os.replace(tmp, path)


def names_in(table: Path) -> dict[str, list[str]]:
    """``/etc/passwd``-style file: name -> its fields (empty when the file is absent)."""
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    return {fields[0]: fields for fields in (line.split(":") for line in lines) if fields[0]}
