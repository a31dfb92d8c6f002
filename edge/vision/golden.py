"""Known inputs in a model card, and the check that a runtime reads them as on the workstation.

A runtime can load a model and still compute nonsense on the machine it runs on (a
kernel chosen for a CPU feature that is not really there): every digit then reads
"not a digit" and the daemon publishes nothing, without an error. The converter keeps a
few real inputs of each class in the card (``golden``), each one the model read with a
wide margin, and the device reads them once when it loads the model: a model that reads
any of them as another class is refused, naming the runtime.

The card holds them as ``{"shape": [N, H, W], "inputs": base64(zlib(uint8 bytes)),
"top": [class, ...], "source": "..."}`` (``[N, H, W, 3]`` for a colour model).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

GOLDEN_KEY = "golden"


@dataclass(frozen=True)
class GoldenSet:
    """Inputs of a model's own size and the class the model gave each on the workstation."""

    inputs: npt.NDArray[np.uint8]  # (N, H, W), or (N, H, W, 3) for a colour model
    top: tuple[int, ...]
    source: str = ""

    def to_card(self) -> dict[str, Any]:
        packed = zlib.compress(np.ascontiguousarray(self.inputs).tobytes(), 9)
        return {
            "shape": [int(s) for s in self.inputs.shape],
            "inputs": base64.b64encode(packed).decode("ascii"),
            "top": [int(t) for t in self.top],
            "source": self.source,
        }


class GoldenFormatError(ValueError):
    """A card's ``golden`` section that cannot be decoded."""


def from_card(card: dict[str, Any]) -> GoldenSet | None:
    """The card's known inputs, or None when it has none (a card from before they were kept)."""
    section = card.get(GOLDEN_KEY)
    if section is None:
        return None
    try:
        shape = tuple(int(s) for s in section["shape"])
        raw = zlib.decompress(base64.b64decode(section["inputs"], validate=True))
        inputs = np.frombuffer(raw, np.uint8).reshape(shape)
        top = tuple(int(t) for t in section["top"])
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise GoldenFormatError(f"its '{GOLDEN_KEY}' section cannot be read ({exc})") from None
    if len(shape) not in (3, 4) or len(top) != shape[0]:
        raise GoldenFormatError(
            f"its '{GOLDEN_KEY}' section holds {shape[0] if shape else 0} inputs of shape "
            f"{list(shape)} and {len(top)} classes"
        )
    return GoldenSet(inputs, top, str(section.get("source", "")))


@dataclass(frozen=True)
class GoldenResult:
    """How a loaded model read its known inputs."""

    total: int
    wrong: tuple[tuple[int, int, int], ...]  # (index, expected class, class read)

    @property
    def right(self) -> int:
        return self.total - len(self.wrong)

    @property
    def ok(self) -> bool:
        return not self.wrong


def compare(golden: GoldenSet, probabilities: npt.NDArray[np.floating]) -> GoldenResult:
    """Each known input's top class against the one the card expects."""
    read = [int(i) for i in np.asarray(probabilities).argmax(axis=1)]
    wrong = tuple(
        (i, want, got) for i, (want, got) in enumerate(zip(golden.top, read, strict=True))
        if want != got
    )
    return GoldenResult(len(read), wrong)


def pick(
    images: npt.NDArray[np.uint8],
    labels: Sequence[int],
    probabilities: npt.NDArray[np.floating],
    classes: Sequence[int],
    per_class: int = 1,
    source: str = "",
) -> GoldenSet:
    """For each class in ``classes``, the ``per_class`` inputs read right with the widest
    margin over the runner-up: inputs a sound runtime cannot tip over by rounding. A class
    that no input is read right of is left out (a model trained for a quick test)."""
    probs = np.asarray(probabilities, np.float64)
    order = np.sort(probs, axis=1)
    margin = order[:, -1] - order[:, -2]
    read = probs.argmax(axis=1)
    labels_arr = np.asarray(labels)
    chosen: list[int] = []
    for cls in classes:
        rows = np.flatnonzero((labels_arr == cls) & (read == cls))
        best = rows[np.argsort(-margin[rows], kind="stable")][:per_class]
        chosen.extend(int(r) for r in best)
    return GoldenSet(images[chosen].copy(), tuple(int(read[r]) for r in chosen), source)
