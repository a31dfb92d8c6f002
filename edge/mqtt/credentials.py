"""Secrets from files: a path in the config, else a systemd credential.

Secrets never come from the command line or the config itself: a file named in the
config (``mqtt.password_file``, ``web.password_file``) or, under systemd,
``$CREDENTIALS_DIRECTORY/<name>`` (``LoadCredential=``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigurationError

logger = logging.getLogger(__name__)


class SecretError(ConfigurationError):
    """A secret's file that is named but cannot be read."""


def read_secret(path: Path, what: str, fix: str,
                error: type[ConfigurationError] = SecretError) -> str | None:
    """The secret in ``path``; an empty file means "none" (the installer creates one
    empty, because systemd refuses to start a unit whose LoadCredential= file is missing)."""
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(f"cannot read the {what} from {path}: {reason}; {fix}") from None
    if not secret:
        logger.info("the %s file %s is empty: none is used", what, path)
        return None
    return secret


def credential_path(explicit: str | None, name: str, env: Mapping[str, str]) -> Path | None:
    """``explicit`` if given, else the systemd credential ``name`` if there is one."""
    if explicit:
        return Path(explicit)
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory and (Path(directory) / name).is_file():
        return Path(directory) / name
    return None
