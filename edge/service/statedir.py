"""The state directory: where it is, made private and checked writable before anything;
the last accepted value kept there for the next start."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import tomllib
from pathlib import Path

from pydantic import ValidationError

from ..config import DigitdConfig, LocateConfig, locate_toml
from ..errors import ConfigurationError
from ..statefiles import LAST_VALUE, LOCATE_OVERRIDE, state_file

logger = logging.getLogger(__name__)


class StateDirError(ConfigurationError):
    """The state directory cannot be created or written (a configuration problem)."""


def prepare_state_dir(path: Path, *, ours: bool) -> None:
    """Create the state directory private to this user (0700) and check it is writable.

    ``ours``: the directory is not systemd's ``StateDirectory=`` (which sets its own
    mode); one left group- or world-readable by an earlier version is tightened, with
    the files in it, because the readings and the outbox are nobody else's business.
    """
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StateDirError(
            f"cannot create the state directory {path}: {exc.strerror or exc}; set "
            "daemon.state_dir to a writable directory"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        why = "a read-only file system" if _read_only(path) else "no write permission"
        raise StateDirError(
            f"the state directory {path} is not writable ({why}); make it writable for the "
            "user digitd runs as, or set daemon.state_dir to a writable directory"
        )
    if not ours:
        return
    for item in (path, *path.iterdir()):
        try:
            st = item.lstat()
            if st.st_uid != os.geteuid() or not (st.st_mode & 0o077) or item.is_symlink():
                continue
            mode = 0o700 if item.is_dir() else 0o600
            os.chmod(item, mode)
            logger.info("%s was readable by others: mode now %o", item, mode)
        except OSError as exc:
            logger.warning("%s: cannot make it private (%s)", item, exc)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def state_dir_for(cfg: DigitdConfig, env: dict[str, str] | os._Environ[str]) -> Path:
    """The state directory: config, then systemd's $STATE_DIRECTORY, then the user's own."""
    if cfg.daemon.state_dir:
        return Path(cfg.daemon.state_dir).expanduser()
    if env.get("STATE_DIRECTORY"):
        # systemd may list several, separated by ':'; the first is ours.
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "digitd" / cfg.device.id


def load_last_value(state_dir: Path) -> tuple[str, float] | None:
    """The value accepted last before a stop, and when; None when there is none to trust."""
    path = state_file(state_dir, LAST_VALUE)
    try:
        saved = json.loads(path.read_text())
        value, when = str(saved["value"]), float(saved["time"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("%s: ignored, cannot be read (%s)", path, exc)
        return None
    logger.info("last accepted value %s restored from %s", value, path)
    return value, when


def save_last_value(state_dir: Path, value: str) -> str | None:
    """Write the value (beside, then renamed); the reason when the disk refuses, else None."""
    path = state_file(state_dir, LAST_VALUE)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps({"value": value, "time": time.time()}))
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


class LocateOverride:
    """The ``[locate]`` the set-up page kept: written here, read back after the config
    file at every start and reload (:func:`with_locate_override`)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_file(state_dir, LOCATE_OVERRIDE)

    def saved(self) -> bool:
        return self.path.is_file()

    def save(self, locate: LocateConfig) -> Path:
        # A temporary file of its own beside it, then one rename: a reader never sees
        # half a file, and two saves never share a temporary name.
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("# Saved from the set-up page; read after the config file, whose\n"
                         "# [locate] it replaces. Delete this file to use the config's again.\n"
                         + locate_toml(locate))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return self.path


def with_locate_override(cfg: DigitdConfig, state_dir: Path) -> DigitdConfig:
    """``cfg`` with the ``[locate]`` the set-up page saved in the state directory, if any.

    The page's "keep after restarts" writes it (:class:`LocateOverride`); it is read after
    the config file and replaces its ``[locate]`` (logged, so it never goes unnoticed).
    A broken file is ignored with an error line: the config's own settings still read.
    """
    path = state_file(state_dir, LOCATE_OVERRIDE)
    if not path.is_file():
        return cfg
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        locate = LocateConfig.model_validate(data.get("locate", {}))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        logger.error("%s: ignored, the config's [locate] is used (%s)", path,
                     str(exc).splitlines()[0])
        return cfg
    logger.info("[locate] from %s (saved from the set-up page) replaces the config's; "
                "delete that file to use the config's again", path)
    return cfg.model_copy(update={"locate": locate})
