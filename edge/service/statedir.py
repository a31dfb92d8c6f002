"""The state directory: where it is, made private and checked writable before anything."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..config import DigitdConfig
from ..errors import ConfigurationError

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
