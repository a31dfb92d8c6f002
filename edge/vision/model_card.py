"""The model card: the JSON that travels beside a .tflite model and says how to feed it.

``digits.tflite`` has its card in ``digits.card.json``. The device refuses a model
without a card, a card written for another file (checked by SHA-256) or one made
for another preprocessing version, because any of those would read digits wrong
without saying so.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import DigitdError
from .normalise import PREPROCESSING_VERSION
from .window import WINDOW_PREPROCESSING_VERSION

CARD_FORMAT = "digitd-model-card"
CARD_VERSION = 1
# The two kinds of model: "digit" reads normalised 28x28 digits (auto mode, handwriting),
# "window" reads whole fixed boxes as wheel positions (boxes mode, meters), "dial" reads
# a pointer dial's box as its needle's position (:mod:`~digitd.edge.vision.dial`).
KINDS = ("digit", "window", "dial")
MODEL_FILES = {"digit": "digits.tflite", "window": "meter.tflite", "dial": "dial.tflite"}


class ModelError(DigitdError, ValueError):
    """A model file or model card that the device cannot use."""


def card_path(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".card.json")


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_model_path(kind: str = "digit") -> Path:
    """The shipped model of a kind (``models/digits.tflite``, ``meter.tflite``, ``dial.tflite``)."""
    return Path(str(resources.files("digitd.models").joinpath(MODEL_FILES[kind])))


def write_card(model_path: str | Path, card: dict[str, Any]) -> Path:
    full = {"format": CARD_FORMAT, "card_version": CARD_VERSION, **card}
    full["model_file"] = Path(model_path).name
    full["sha256"] = sha256_of(model_path)
    full["size_bytes"] = Path(model_path).stat().st_size
    path = card_path(model_path)
    path.write_text(json.dumps(full, indent=2) + "\n")
    return path


def load_card(model_path: str | Path, check_hash: bool = True) -> dict[str, Any]:
    """The card beside ``model_path``, checked to be a digitd card written for that very
    file (not yet for its kind or preprocessing: :func:`read_card`); :class:`ModelError`
    saying what is wrong."""
    path = card_path(model_path)
    if not path.exists():
        raise ModelError(
            f"{model_path}: model card {path.name} not found next to it; "
            "models are made with 'digitd convert', which writes the card"
        )
    try:
        card: dict[str, Any] = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable model card ({exc})") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelError(f"{path}: not a digitd model card (no format '{CARD_FORMAT}')")
    if check_hash and card.get("sha256") != sha256_of(model_path):
        raise ModelError(
            f"{path}: the card was written for another file (SHA-256 differs from "
            f"{Path(model_path).name}); convert the model again or restore the matching card"
        )
    return card


def read_card(
    model_path: str | Path, check_hash: bool = True, kind: str = "digit",
    preprocessing_version: int | None = None,
) -> dict[str, Any]:
    """Load and check the card of ``model_path``; raise :class:`ModelError` saying what is wrong.

    ``preprocessing_version``: what the caller prepares its inputs with, when not the digit
    or window model's (the dial model's module says its own)."""
    card = load_card(model_path, check_hash)
    path = card_path(model_path)
    card_kind = card.get("kind", "digit")
    if card_kind != kind:
        use = {"digit": "[model] path (auto mode)",
               "window": "[model] meter_path (boxes)"}.get(card_kind, "the dial model")
        raise ModelError(
            f"{path}: a {card_kind!r} model, but a {kind!r} model is needed here; "
            f"give it as {use}"
        )
    preprocessing = card.get("preprocessing", {})
    version = preprocessing.get("version") if isinstance(preprocessing, dict) else None
    expected = WINDOW_PREPROCESSING_VERSION if kind == "window" else PREPROCESSING_VERSION
    if preprocessing_version is not None:
        expected = preprocessing_version
    if version != expected:
        # A digit model one version behind may be carried over once measured (README,
        # "Stroke widths evened"); a meter model's preprocessing has not changed.
        carry = (" (or, once you have measured it with this version, carry it over: "
                 "python -m digitd.convert.recard MODEL --reason ...)"
                 if kind == "digit" and isinstance(version, int) and version < expected else "")
        raise ModelError(
            f"{path}: model made for preprocessing version {version}, this digitd uses "
            f"{expected}; retrain/convert the model with this version{carry}"
        )
    return card
