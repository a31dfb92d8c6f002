"""``digitd install-service``: install digitd as a systemd service in one step.

The installation is a list of small steps. Each says in plain words what it does
(:meth:`Step.describe`), can tell without changing anything whether it is already
done (:meth:`Step.is_done`), and does it (:meth:`Step.apply`). One runner prints
every step, so ``--dry-run`` shows exactly the list a real run would work
through, and a second run reports each step as already done instead of doing it
again. ``--root DIR`` prefixes every path, which is how the tests install into a
temporary directory without touching the machine.

The user's files are sacred: ``/etc/digitd/digitd.toml`` and the password file
are created when absent and never overwritten; ``--uninstall`` removes only what
the installer owns (unit files, enable links, the venv) and keeps config and state.
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import logging
import os
import platform
import re
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class Package:
    """What to pip-install: a requirement line, and the version it gives when known."""

    requirement: str
    version: str | None
    shown: str
    tree: Path | None = None  # a source checkout, copied before pip builds it


def package_from(spec: str | None) -> Package:
    """Turn ``--from`` (a folder, wheel, sdist or requirement; default this checkout)
    into a pip requirement for digitd with the edge extra."""
    if spec is None:
        tree = source_tree()
        if tree is None:
            raise InstallError(
                "this digitd was not installed from a source checkout, so there is "
                "nothing to install from; pass --from with a wheel, an sdist or a "
                "requirement such as 'digitd==0.1.0'"
            )
        meta = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
        return Package(f"digitd[{EXTRA}] @ {tree.as_uri()}", meta["project"].get("version"),
                       str(tree), tree)
    path = Path(spec).expanduser()
    if path.exists():
        version = None
        match = re.match(r"digitd-([^-]+?)(?:\.tar\.gz|\.zip|-.*\.whl)$", path.name)
        if match:
            version = match.group(1)
        return Package(f"digitd[{EXTRA}] @ {path.resolve().as_uri()}", version, str(path))
    match = re.fullmatch(r"\s*(digitd)\s*(\[[^\]]*\])?\s*(.*)", spec, flags=re.IGNORECASE)
    if match is None:
        raise InstallError(
            f"--from {spec!r} is neither an existing file or folder nor a requirement for "
            "digitd; give a wheel, an sdist, a source folder or e.g. 'digitd==0.1.0'"
        )
    extras = match.group(2) or f"[{EXTRA}]"
    if EXTRA not in extras:
        extras = extras[:-1] + f",{EXTRA}]"
    rest = match.group(3)
    pinned = re.fullmatch(r"==\s*([^\s,;]+)", rest.strip())
    return Package(f"digitd{extras}{rest}", pinned.group(1) if pinned else None, spec)


def copy_for_build(tree: Path, dest: Path) -> Path:
    """Copy what building digitd needs from the checkout ``tree`` into ``dest``.

    pip builds a folder in place (``build/``, ``*.egg-info``); run as root on the
    user's checkout, that would leave root-owned files behind in it.
    """
    meta = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    readme = meta.get("project", {}).get("readme")
    if isinstance(readme, dict):
        readme = readme.get("file")
    folders = meta.get("tool", {}).get("setuptools", {}).get("package-dir", {}).values()
    names = {"pyproject.toml", *([readme] if isinstance(readme, str) else []), *folders}
    names |= {p.name for p in tree.glob("LICEN[CS]E*")}
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in sorted(names):
        source = tree / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


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


def _write_file(path: Path, data: bytes, mode: int) -> None:
    # Write beside and rename, so a unit or config is never seen half written.
    tmp = path.with_name(f".{path.name}.digitd-install")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)  # the umask must not loosen or tighten it
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _names_in(table: Path) -> dict[str, list[str]]:
    """``/etc/passwd``-style file: name -> its fields (empty when the file is absent)."""
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    return {fields[0]: fields for fields in (line.split(":") for line in lines) if fields[0]}


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
        return USER in _names_in(self.target.path(PurePosixPath("/etc/passwd")))

    def apply(self) -> None:
        groups = self.target.path(PurePosixPath("/etc/group"))
        if CAMERA_GROUP not in _names_in(groups):
            raise InstallError(
                f"the group '{CAMERA_GROUP}' does not exist in "
                f"{self.target.show(PurePosixPath('/etc/group'))}; it owns the camera devices: "
                f"create it with 'groupadd --system {CAMERA_GROUP}'"
            )
        run_command(self._command())

    def note(self) -> str | None:
        members = _names_in(self.target.path(PurePosixPath("/etc/group"))).get(CAMERA_GROUP)
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
        _write_file(path, self.text.encode("utf-8"), 0o644)


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
class RemoveLink(Step):
    """Undo :class:`LinkCommand`, only where the link is still ours."""

    target: Target
    link: PurePosixPath = COMMAND_LINK

    def describe(self) -> str:
        return f"remove the link {self.target.show(self.link)}"

    def is_done(self) -> bool:
        return not LinkCommand(self.target, self.link).is_done()

    def apply(self) -> None:
        self.target.path(self.link).unlink()


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


@dataclass
class StopServices(Step):
    target: Target

    def describe(self) -> str:
        return "stop digitd and every digitd@ instance (systemctl stop)"

    def skip_reason(self) -> str | None:
        if not self.target.live:
            return "uninstalling under --root, nothing runs there"
        if not systemd_running():
            return "systemd is not running here"
        return None

    def is_done(self) -> bool:
        done = subprocess.run(
            ["systemctl", "list-units", "--no-legend", "--plain",
             "--state=active,activating,reloading,deactivating", UNITS[0], "digitd@*.service"],
            capture_output=True, text=True, check=False,
        )
        return not done.stdout.strip()

    def apply(self) -> None:
        run_command(["systemctl", "stop", UNITS[0], "digitd@*.service"])


@dataclass
class RemoveEnableLinks(Step):
    """What ``systemctl disable`` removes: the *.wants/ links to our units."""

    target: Target

    def _links(self) -> list[Path]:
        unit_dir = self.target.path(UNIT_DIR)
        return sorted(
            link for link in unit_dir.glob("*.wants/*")
            if link.is_symlink() and (link.name == UNITS[0] or link.name.startswith("digitd@"))
        )

    def describe(self) -> str:
        return ("disable digitd and its instances (remove their links in "
                f"{self.target.show(UNIT_DIR)}/*.wants)")

    def is_done(self) -> bool:
        return not self._links()

    def apply(self) -> None:
        for link in self._links():
            link.unlink()


@dataclass
class RemoveFile(Step):
    target: Target
    dest: PurePosixPath

    def describe(self) -> str:
        return f"remove {self.target.show(self.dest)}"

    def is_done(self) -> bool:
        return not self.target.path(self.dest).exists()

    def apply(self) -> None:
        self.target.path(self.dest).unlink(missing_ok=True)


@dataclass
class RemoveVenv(Step):
    target: Target

    def describe(self) -> str:
        return f"remove the virtual environment {self.target.show(self.target.venv)}"

    def is_done(self) -> bool:
        return not self.target.path(self.target.venv).exists()

    def apply(self) -> None:
        path = self.target.path(self.target.venv)
        if not (path / "pyvenv.cfg").is_file():
            raise InstallError(f"{self.target.show(self.target.venv)} is not a virtual "
                               "environment (no pyvenv.cfg), so it was left alone; "
                               "remove it yourself if it is yours to remove")
        shutil.rmtree(path)


# --- planning and running ----------------------------------------------------


@dataclass(frozen=True)
class Options:
    root: Path
    venv: PurePosixPath
    make_venv: bool
    system_site_packages: bool
    source: str | None
    reinstall: bool
    uninstall: bool
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        venv = PurePosixPath(args.venv)
        # Spaces, quotes and % would need escaping in ExecStart=; nobody needs them.
        if not re.fullmatch(r"/[A-Za-z0-9._+/-]+", str(venv)):
            raise InstallError(f"--venv {args.venv!r}: give an absolute path of letters, "
                               "digits and . _ + - / only (it goes into the unit's ExecStart=)")
        if any(venv == d or d in venv.parents for d in HIDDEN_FROM_SERVICE):
            raise InstallError(f"--venv {venv}: the service cannot see /home, /root or "
                               "/run/user (ProtectHome=yes); put the venv elsewhere, "
                               f"such as {DEFAULT_VENV}")
        pi = is_raspberry_pi()
        return cls(
            root=Path(args.root),
            venv=venv,
            make_venv=not args.no_venv,
            system_site_packages=bool(args.system_site_packages) or pi,
            source=args.source,
            reinstall=args.reinstall,
            uninstall=args.uninstall,
            dry_run=args.dry_run,
        )


def unit_text(template: str, venv: PurePosixPath) -> str:
    """A unit file whose ExecStart= runs digitd from ``venv``."""
    return template.replace(f"{DEFAULT_VENV}/bin/digitd", f"{venv}/bin/digitd")


def install_steps(opts: Options, target: Target) -> list[Step]:
    data = data_dir()
    steps: list[Step] = [CreateUser(target)]
    if opts.make_venv:
        steps += [CreateVenv(target, opts.system_site_packages),
                  PipInstall(target, package_from(opts.source), opts.reinstall)]
    steps += [LinkCommand(target),
              MakeDir(target, CONFIG_DIR, 0o755),
              InstallConfig(target, data / EXAMPLE_CONFIG, CONFIG),
              CreatePasswordFile(target)]
    units: list[Step] = [
        InstallUnit(target, unit_text((data / name).read_text(encoding="utf-8"), opts.venv),
                    UNIT_DIR / name)
        for name in UNITS
    ]
    return [*steps, *units, DaemonReload(target, units)]


def uninstall_steps(opts: Options, target: Target) -> list[Step]:
    removals: list[Step] = [RemoveEnableLinks(target),
                            *(RemoveFile(target, UNIT_DIR / name) for name in UNITS)]
    steps: list[Step] = [StopServices(target), *removals, DaemonReload(target, removals)]
    if opts.make_venv:
        steps += [RemoveLink(target), RemoveVenv(target)]
    return steps


@dataclass
class Tally:
    changed: int = 0
    done_before: int = 0
    skipped: int = 0


def run_steps(steps: Sequence[Step], dry_run: bool, say: Callable[[str], None] = print) -> Tally:
    """Work through ``steps`` in order, printing one line per step."""
    tally = Tally()
    for step in steps:
        reason = step.skip_reason()
        if reason is not None:
            tally.skipped += 1
            say(f"  skipped       {step.describe()}: {reason}")
            continue
        if step.is_done():
            tally.done_before += 1
            say(f"  already done  {step.describe()}")
        elif dry_run:
            tally.changed += 1
            say(f"  would         {step.describe()}")
        else:
            say(f"  doing         {step.describe()}")
            step.apply()
            step.changed = True
            tally.changed += 1
        note = step.note()
        if note:
            say(f"                note: {note}")
    return tally


def _next_steps(target: Target) -> list[str]:
    return [
        "Next:",
        f"  1. edit {target.show(CONFIG)} (camera, broker), then check it:",
        f"       digitd check-config {CONFIG}",
        f"  2. if the broker needs a password, write it into {target.show(PASSWORD)}",
        "  3. start it now and at every boot:   sudo systemctl enable --now digitd",
        "  4. watch it:                          journalctl -u digitd -f",
        "  Several cameras: /etc/digitd/NAME.toml and sudo systemctl enable --now digitd@NAME",
    ]


def install(opts: Options, say: Callable[[str], None] = print) -> int:
    target = Target(opts.root, opts.venv)
    if target.live and not opts.dry_run and os.geteuid() != 0:
        raise InstallError(
            "installing a system service needs root: run with sudo, e.g. "
            f"sudo {shlex.quote(sys.argv[0] or 'digitd')} install-service"
            " (try --dry-run first to see every step)"
        )
    action = "uninstall from" if opts.uninstall else "install into"
    where = "this system" if target.live else str(target.root)
    say(f"digitd install-service: {action} {where}"
        + (" (dry run: nothing is changed)" if opts.dry_run else ""))
    steps = uninstall_steps(opts, target) if opts.uninstall else install_steps(opts, target)
    tally = run_steps(steps, opts.dry_run, say)

    verb = "would change" if opts.dry_run else "changed"
    if tally.changed == 0:
        say(f"Nothing to do: everything was already in place ({tally.done_before} steps"
            + (f", {tally.skipped} skipped)." if tally.skipped else ")."))
    else:
        say(f"{tally.changed} {verb}, {tally.done_before} already done, "
            f"{tally.skipped} skipped.")
    if opts.uninstall:
        say(f"Kept the config and password in {target.show(CONFIG_DIR)}, the state in "
            f"{target.show(STATE_DIR)} and the user '{USER}'. To remove them too: "
            f"sudo rm -r {CONFIG_DIR} {STATE_DIR} && sudo userdel {USER}")
        dropins = sorted(target.path(UNIT_DIR).glob("digitd*.service.d"))
        if dropins:
            say("Kept your drop-ins: " + ", ".join(map(str, dropins)))
    else:
        binary = target.path(opts.venv / "bin" / "digitd")
        if not opts.make_venv and not binary.exists():
            say(f"Note: the units run {target.show(opts.venv / 'bin' / 'digitd')}, which does "
                "not exist; install digitd[edge] there, or pass --venv with your venv.")
        if target.live and not opts.dry_run:
            for line in _next_steps(target):
                say(line)
    return 0


def install_command(args: argparse.Namespace) -> int:
    """The ``digitd install-service`` handler."""
    try:
        return install(Options.from_args(args))
    except InstallError as exc:
        print(f"digitd install-service: error: {exc}", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(f"digitd install-service: error: {exc.filename or exc}: permission denied; "
              "run with sudo", file=sys.stderr)
        return 1
