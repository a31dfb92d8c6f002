"""The steps of ``--uninstall``: stop the services, remove what the installer owns (unit
files, enable links, the command link, the venv); config, password and state stay."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .layout import (
    COMMAND_LINK,
    UNIT_DIR,
    UNITS,
    InstallError,
    Target,
    run_command,
    systemd_running,
)
from .steps import LinkCommand, Step

logger = logging.getLogger(__name__)


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
