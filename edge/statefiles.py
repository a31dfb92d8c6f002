"""The state directory's layout: the one place that names the files digitd keeps there.

The outbox (``mqtt``), the last accepted value, the set-up page's saved ``[locate]``
and the runtime check (``service``) each live in the state directory under these names;
the modules that write them take their names from here.
"""

from __future__ import annotations

from pathlib import Path

OUTBOX = "outbox.sqlite3"  # readings not yet acknowledged by the broker (SQLite)
LAST_VALUE = "last_value.json"  # the last accepted value, restored at start
LOCATE_OVERRIDE = "locate.toml"  # [locate] kept from the set-up page, read after the config
RUNTIME_CHECK = "runtime_check.json"  # which TFLite runtime read each model right


def state_file(state_dir: str | Path, name: str) -> Path:
    """``name`` (one of this module's) inside ``state_dir``."""
    if name not in (OUTBOX, LAST_VALUE, LOCATE_OVERRIDE, RUNTIME_CHECK):
        raise ValueError(f"{name!r} is not a file of the state directory")
    return Path(state_dir) / name
