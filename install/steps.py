"""The installation as small steps: each says what it does, knows whether it is done,
and does it."""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import os
import platform
import re
import shlex
import stat
import struct
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .layout import (
    CAMERA_GROUP,
    COMMAND_LINK,
    EXTRA,
    PASSWORD,
    STATE_DIR,
    UNITS,
    USER,
    InstallError,
    Target,
    names_in,
    run_command,
    systemd_running,
    write_file,
)
from .packaging import Package, copy_for_build

logger = logging.getLogger(__name__)
# --- the steps ---------------------------------------------------------------


class Step(ABC):
    """One thing the installer does; ``changed`` is set by the runner after ``apply``."""

    changed: bool = False

    @abstractmethod
    def describe(self) -> str:
        """What the step does, in plain words (an imperative sentence)."""

    def skip_reason(self) -> str | None:
        """Why this step does not apply here (None: it applies)."""
        return None

    @abstractmethod
    def is_done(self) -> bool:
        """True when there is nothing to do; must not change anything."""

    @abstractmethod
    def apply(self) -> None:
        """Do it; raise :class:`InstallError` with the fix when that fails."""

    def note(self) -> str | None:
        """Something the user should know after this step, if anything."""
        return None


@dataclass
class CreateUser(Step):
    target: Target

    def _command(self) -> list[str]:
        cmd = ["useradd", "--system", "--user-group", "--groups", CAMERA_GROUP,
               "--home-dir", str(STATE_DIR), "--no-create-home",
               "--shell", "/usr/sbin/nologin", "--comment", "digitd camera digit reader"]
        if not self.target.live:
            cmd += ["--prefix", str(self.target.root)]
        return [*cmd, USER]

    def describe(self) -> str:
        return (f"create the system user '{USER}' in the group '{CAMERA_GROUP}' "
                f"({shlex.join(self._command())})")

    def skip_reason(self) -> str | None:
        if self.target.live:
            return None
        if not self.target.path(PurePosixPath("/etc/passwd")).is_file():
            return f"{self.target.show(PurePosixPath('/etc/passwd'))} does not exist"
        if os.geteuid() != 0:
            return "useradd --prefix needs root"
        return None

    def is_done(self) -> bool:
        return USER in names_in(self.target.path(PurePosixPath("/etc/passwd")))

    def apply(self) -> None:
        groups = self.target.path(PurePosixPath("/etc/group"))
        if CAMERA_GROUP not in names_in(groups):
            raise InstallError(
                f"the group '{CAMERA_GROUP}' does not exist in "
                f"{self.target.show(PurePosixPath('/etc/group'))}; it owns the camera devices: "
                f"create it with 'groupadd --system {CAMERA_GROUP}'"
            )
        run_command(self._command())

    def note(self) -> str | None:
        members = names_in(self.target.path(PurePosixPath("/etc/group"))).get(CAMERA_GROUP)
        if members is not None and len(members) > 3 and USER in members[3].split(","):
            return None
        if self.is_done():
            # The unit adds the group anyway (SupplementaryGroups=); this is for
            # `sudo -u digitd digitd snapshot ...` run by hand.
            return (f"'{USER}' exists but is not in the group '{CAMERA_GROUP}': "
                    f"sudo usermod -a -G {CAMERA_GROUP} {USER}")
        return None


@dataclass
class CreateVenv(Step):
    target: Target
    system_site_packages: bool

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "venv"]
        if self.system_site_packages:
            cmd.append("--system-site-packages")
        if self.target.path(self.target.venv / "bin" / "python").exists():
            cmd.append("--upgrade")  # rewrites pyvenv.cfg, keeps the installed packages
        return [*cmd, str(self.target.path(self.target.venv))]

    def describe(self) -> str:
        what = (" that also sees the OS's Python packages (python3-picamera2)"
                if self.system_site_packages else "")
        return f"create the virtual environment {self.target.show(self.target.venv)}{what}"

    def _includes_system_site(self) -> bool | None:
        try:
            cfg = self.target.path(self.target.venv / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            return None
        match = re.search(r"(?m)^include-system-site-packages\s*=\s*(\w+)", cfg)
        return match is not None and match.group(1).lower() == "true"

    def is_done(self) -> bool:
        return (self.target.path(self.target.venv / "bin" / "python").exists()
                and self._includes_system_site() == self.system_site_packages)

    def apply(self) -> None:
        if importlib.util.find_spec("ensurepip") is None:
            raise InstallError("Python's venv module cannot install pip here: "
                               "sudo apt install python3-venv")
        if platform.machine().startswith(("arm", "aarch64")) and struct.calcsize("P") == 4:
            raise InstallError("this is a 32-bit ARM Python, and LiteRT (ai-edge-litert) has no "
                               "32-bit wheels: install the 64-bit Raspberry Pi OS")
        self.target.path(self.target.venv).parent.mkdir(parents=True, exist_ok=True)
        run_command(self._command())

    def note(self) -> str | None:
        os_packages = Path("/usr/lib/python3/dist-packages")
        if self.system_site_packages and not (os_packages / "picamera2").exists():
            return "picamera2 is not installed in the OS: sudo apt install python3-picamera2"
        return None


@dataclass
class PipInstall(Step):
    target: Target
    package: Package
    reinstall: bool

    def _python(self) -> Path:
        return self.target.path(self.target.venv / "bin" / "python")

    def describe(self) -> str:
        return (f"install digitd[{EXTRA}] from {self.package.shown} into "
                f"{self.target.show(self.target.venv)} (pip)")

    def installed_version(self) -> str | None:
        if not self._python().exists():
            return None
        # -I: neither $PYTHONPATH nor the current folder (a checkout has a
        # digitd.egg-info there) may answer for the venv.
        done = subprocess.run(
            [str(self._python()), "-I", "-c",
             "import importlib.metadata as m; print(m.version('digitd'))"],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    def is_done(self) -> bool:
        if self.reinstall:
            return False
        have = self.installed_version()
        if have is None:
            return False
        # An unpinned requirement is satisfied by any installed version; --reinstall upgrades.
        return self.package.version is None or have == self.package.version

    def apply(self) -> None:
        with tempfile.TemporaryDirectory(prefix="digitd-install-") as tmp:
            requirement = self.package.requirement
            if self.package.tree is not None:
                copy = copy_for_build(self.package.tree, Path(tmp) / "digitd")
                requirement = f"digitd[{EXTRA}] @ {copy.as_uri()}"
            cmd = [str(self._python()), "-m", "pip", "install", "--disable-pip-version-check",
                   "--upgrade", *(["--force-reinstall"] if self.reinstall else []), requirement]
            # pip's own progress goes straight to the terminal: on a Pi this takes minutes.
            run_command(cmd, capture=False)


@dataclass
class MakeDir(Step):
    target: Target
    directory: PurePosixPath
    mode: int

    def describe(self) -> str:
        return f"create the folder {self.target.show(self.directory)}"

    def is_done(self) -> bool:
        return self.target.path(self.directory).is_dir()

    def apply(self) -> None:
        path = self.target.path(self.directory)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(self.mode)


@dataclass
class InstallConfig(Step):
    """The example config, only where there is none: an existing config is never touched."""

    target: Target
    source: Path
    dest: PurePosixPath

    def describe(self) -> str:
        return f"put the example config in {self.target.show(self.dest)}"

    def is_done(self) -> bool:
        return self.target.path(self.dest).exists()

    def apply(self) -> None:
        path = self.target.path(self.dest)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return  # appeared since is_done(): still never overwrite it
        try:
            os.write(fd, self.source.read_bytes())
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)

    def note(self) -> str | None:
        path = self.target.path(self.dest)
        if path.exists() and path.read_bytes() != self.source.read_bytes():
            return f"kept your {self.target.show(self.dest)} as it is"
        return None


@dataclass
class CreatePasswordFile(Step):
    """An empty root-only password file: systemd refuses to start a unit whose
    LoadCredential= source is missing, and empty means "no password"."""

    target: Target
    dest: PurePosixPath = PASSWORD

    def describe(self) -> str:
        return (f"create the empty MQTT password file {self.target.show(self.dest)} "
                "(mode 0600; empty means no password)")

    def _loose(self) -> bool:
        mode = self.target.path(self.dest).stat().st_mode
        return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))

    def is_done(self) -> bool:
        return self.target.path(self.dest).exists() and not self._loose()

    def apply(self) -> None:
        path = self.target.path(self.dest)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass  # a password is already there: keep it, only make it private
        path.chmod(0o600)


@dataclass
class InstallUnit(Step):
    """A unit file; ours to replace (local changes belong in drop-ins)."""

    target: Target
    text: str
    dest: PurePosixPath

    def describe(self) -> str:
        return f"install the unit file {self.target.show(self.dest)}"

    def is_done(self) -> bool:
        try:
            return self.target.path(self.dest).read_text(encoding="utf-8") == self.text
        except OSError:
            return False

    def apply(self) -> None:
        path = self.target.path(self.dest)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, self.text.encode("utf-8"), 0o644)


@dataclass
class LinkCommand(Step):
    """/usr/local/bin/digitd -> the venv's, so `digitd check-config` works in a shell;
    a ``digitd`` that is already there (someone else's) is left alone."""

    target: Target
    link: PurePosixPath = COMMAND_LINK

    def _points_to(self) -> str:
        return str(self.target.venv / "bin" / "digitd")

    def describe(self) -> str:
        return f"link {self.target.show(self.link)} to {self._points_to()}"

    def skip_reason(self) -> str | None:
        path = self.target.path(self.link)
        if (path.exists() or path.is_symlink()) and not self.is_done():
            return f"{self.target.show(self.link)} is already there and is not ours"
        return None

    def is_done(self) -> bool:
        path = self.target.path(self.link)
        return path.is_symlink() and os.readlink(path) == self._points_to()

    def apply(self) -> None:
        path = self.target.path(self.link)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(self._points_to())


@dataclass
class DaemonReload(Step):
    """``systemctl daemon-reload`` when a unit file changed (or systemd asks for it)."""

    target: Target
    after: Sequence[Step]

    def describe(self) -> str:
        return "tell systemd about the changed unit files (systemctl daemon-reload)"

    def skip_reason(self) -> str | None:
        if not self.target.live:
            return "installing under --root, not into the running system"
        if not systemd_running():
            return "systemd is not running here; it reads the units when it starts"
        return None

    def is_done(self) -> bool:
        if any(step.changed for step in self.after):
            return False
        done = subprocess.run(
            ["systemctl", "show", "--property=NeedDaemonReload", "--value", UNITS[0]],
            capture_output=True, text=True, check=False,
        )
        return done.stdout.strip() != "yes"

    def apply(self) -> None:
        run_command(["systemctl", "daemon-reload"])
