"""Commands received on ``<base>/cmd``: size-limited JSON, validated strictly.

Anyone who can publish on the broker can send a command, so a payload is
untrusted: :func:`parse_command` either returns one of the typed commands or
raises :class:`CommandError` with a reason fit to publish on ``<base>/error``.
It never raises anything else, whatever the bytes.

Accepted payloads::

    {"command": "read_now"}
    {"command": "set_value", "value": "01234.567"}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Command", "CommandError", "ReadNow", "SetValue", "parse_command"]

MAX_VALUE_DIGITS = 64
_VALUE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class ReadNow:
    """Take a reading now instead of waiting for the next interval."""


@dataclass(frozen=True)
class SetValue:
    """Set the meter's current value (after replacing or misreading a meter)."""

    value: str  # digits with at most one decimal point, e.g. "01234.567"


Command = ReadNow | SetValue


class CommandError(ValueError):
    """A payload that is not a valid command; ``reason`` says what is wrong and how to fix it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _check_keys(obj: dict[str, Any], name: str, allowed: set[str]) -> None:
    extra = sorted(set(obj) - allowed - {"command"})
    if extra:
        raise CommandError(
            f"unknown key(s) {', '.join(map(repr, extra))} for command {name!r}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )


def _read_now(obj: dict[str, Any]) -> Command:
    _check_keys(obj, "read_now", set())
    return ReadNow()


def _set_value(obj: dict[str, Any]) -> Command:
    _check_keys(obj, "set_value", {"value"})
    if "value" not in obj:
        raise CommandError('set_value needs a "value", e.g. {"command": "set_value", '
                           '"value": "01234.567"}')
    value = obj["value"]
    if not isinstance(value, str):
        raise CommandError(
            f"set_value: value must be a string of digits such as \"01234.567\", "
            f"not {type(value).__name__} (a JSON number would lose leading zeros)"
        )
    if not _VALUE.fullmatch(value) or len(value.replace(".", "")) > MAX_VALUE_DIGITS:
        raise CommandError(
            "set_value: value must be 1 to 64 digits 0-9 with at most one decimal point "
            'inside, e.g. "01234.567"'
        )
    return SetValue(value)


_PARSERS = {"read_now": _read_now, "set_value": _set_value}


def parse_command(payload: bytes, max_bytes: int) -> Command:
    """Parse one ``<base>/cmd`` payload; raise :class:`CommandError` when it is not valid.

    ``max_bytes`` is ``mqtt.max_command_bytes``: a larger payload is refused
    before it is decoded, so a flood of huge messages costs nothing to parse.
    """
    if len(payload) > max_bytes:
        raise CommandError(
            f"command is {len(payload)} bytes, more than mqtt.max_command_bytes = {max_bytes}"
        )
    if not payload.strip():
        raise CommandError('empty command; send JSON such as {"command": "read_now"}')
    try:
        obj = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise CommandError("command is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"command is not valid JSON ({exc.msg} at character {exc.pos})") \
            from None
    except RecursionError:  # deeply nested arrays within the size limit
        raise CommandError("command is nested too deeply; send a flat JSON object") from None
    if not isinstance(obj, dict):
        raise CommandError(
            f'command must be a JSON object such as {{"command": "read_now"}}, '
            f"not {type(obj).__name__}"
        )
    name = obj.get("command")
    if not isinstance(name, str):
        raise CommandError(
            f'missing "command" (a string; one of {", ".join(sorted(_PARSERS))})'
        )
    parser = _PARSERS.get(name)
    if parser is None:
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise CommandError(
            f"unknown command {shown!r}; known commands: {', '.join(sorted(_PARSERS))}"
        )
    return parser(obj)
