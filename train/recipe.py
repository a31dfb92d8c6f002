"""A model's recipe as data: the settings of one training run, in a TOML file.

    digitd train --recipe train/wheels/recipe.toml --out runs/mine

A recipe names its ``kind`` (``"digit"``, ``"window"`` or ``"dial"``) and any of that kind's
settings (:class:`~digitd.train.digits.train.TrainConfig`,
:class:`~digitd.train.wheels.train.WindowTrainConfig`,
:class:`~digitd.train.dials.train.DialTrainConfig`) by their field names, the same
names a model card records under ``training.settings``: a card's settings make a recipe.
The few everyday options of ``digitd train`` (data folders, epochs, seed, limit, init,
out) override it when given. An unknown key or a value of the wrong type is one error
naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

KINDS = ("digit", "window", "dial")


def _fields(kind: str) -> dict[str, dataclasses.Field[Any]]:
    if kind == "dial":
        from .dials.train import DialTrainConfig

        return {f.name: f for f in dataclasses.fields(DialTrainConfig)}
    if kind == "window":
        from .wheels.train import WindowTrainConfig

        return {f.name: f for f in dataclasses.fields(WindowTrainConfig)}
    from .digits.train import TrainConfig

    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _coerce(path: Path, key: str, value: Any, field: dataclasses.Field[Any]) -> Any:
    """``value`` as the field holds it (a TOML list as a tuple), or a one-line error."""
    default = _default(field)
    if default is None and str(field.type).startswith("int"):
        default = 0  # an optional whole number (limit): checked as one
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{path}: {key} = {value!r}: give a list of strings")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {key} = {value!r}: give true or false")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: {key} = {value!r}: give a number")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path}: {key} = {value!r}: give a whole number")
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: {key} = {value!r}: give a table")
        return value
    if not isinstance(value, str):  # paths and names (their default may be None)
        raise ValueError(f"{path}: {key} = {value!r}: give a string")
    return value


def load_recipe(path: str | Path) -> tuple[str, dict[str, Any]]:
    """``(kind, settings)`` of the recipe file at ``path``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a readable recipe ({exc})") from None
    kind = data.pop("kind", "digit")
    if kind not in KINDS:
        raise ValueError(f"{path}: kind = {kind!r}: give one of {', '.join(KINDS)}")
    fields = _fields(kind)
    settings = {}
    for key, value in data.items():
        if key not in fields:
            raise ValueError(f"{path}: unknown key {key!r} for a {kind} model; known: "
                             f"kind, {', '.join(sorted(fields))}")
        settings[key] = _coerce(path, key, value, fields[key])
    return kind, settings
