"""Carry a converted digit model over to this digitd's preprocessing without retraining.

    python -m digitd.convert.recard models/digits.tflite --reason "…"

For a change of :mod:`digitd.edge.vision.normalise` that a model's weights were
measured to take as they are (the README gives the figures, and ``--reason`` says
where): the card's ``preprocessing`` section is set to this version and description,
and ``preprocessing.carried_over`` records from which version, when and why. What the
model was trained with stays in ``training.preprocessing_version``: the card never
claims training it did not have. The model file is not touched; its SHA-256 is
checked first, so a card is never moved onto another model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..edge.vision.model_card import ModelError, card_path, load_card
from ..edge.vision.normalise import PREPROCESSING_DESCRIPTION, PREPROCESSING_VERSION


def recard(model: str | Path, reason: str) -> dict[str, Any]:
    """Rewrite ``model``'s card for this preprocessing version; the new card.

    :class:`ModelError` names the problem: no card, another file's card, a meter
    model (its preprocessing is another), or a card already at this version.
    """
    card = load_card(model)  # there, a digitd card, written for this very file
    path = card_path(model)
    if card.get("kind", "digit") != "digit":
        raise ModelError(f"{path}: a {card.get('kind')!r} model; only digit models are recarded")
    old = card.get("preprocessing", {}).get("version")
    if old == PREPROCESSING_VERSION:
        raise ModelError(f"{path}: already made for preprocessing version {old}")
    if not reason.strip():
        raise ModelError("say why the weights suit the new preprocessing (--reason)")
    card["preprocessing"] = {
        "version": PREPROCESSING_VERSION,
        "description": PREPROCESSING_DESCRIPTION,
        "carried_over": {
            "from_version": old,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "reason": reason.strip(),
        },
    }
    path.write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a digit .tflite with its card beside it")
    parser.add_argument("--reason", required=True,
                        help="why the weights suit the new preprocessing (measured where)")
    args = parser.parse_args(argv)
    try:
        card = recard(args.model, args.reason)
    except ModelError as exc:
        print(f"recard: {exc}", file=sys.stderr)
        return 2
    carried = card["preprocessing"]["carried_over"]
    print(f"{card_path(args.model)}: preprocessing version {carried['from_version']} -> "
          f"{card['preprocessing']['version']}; the model file is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
