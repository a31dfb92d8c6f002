"""Why a meter's cells are misread: its dev crops of one digit read as they are and with
the box changed (moved sideways, cut, a side painted over, widened).

    python -m digitd.train.wheels.probe --meter LandisGyrT330_C --digit 7 [--model M]

Prints, per change, each crop's position and confidence; a change that makes the
misread crops read right points at what the model takes for the digit (README,
"Meters": LandisGyr's "7"s read "1" for the left neighbour's stem in the box).
Only LiteRT runs the model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]


def _paint_left(crop: U8, share: float) -> U8:
    """The left ``share`` of the box painted with the cell's colour just right of it."""
    out = crop.copy()
    k = max(1, int(share * crop.shape[1]))
    edge = crop[:, k : k + 3].reshape(-1, *crop.shape[2:])
    out[:, :k] = np.median(edge, axis=0).astype(np.uint8)
    return out


def _shift_left(crop: U8, share: float) -> U8:
    """The box moved right by ``share`` of its width (the content left), edges repeated."""
    import cv2

    h, w = crop.shape[:2]
    mat = np.array([[1, 0, -share * w], [0, 1, 0]], np.float32)
    return np.asarray(cv2.warpAffine(crop, mat, (w, h), borderMode=cv2.BORDER_REPLICATE),
                      np.uint8)


def _cut_left(crop: U8, share: float) -> U8:
    return np.ascontiguousarray(crop[:, int(share * crop.shape[1]) :])


def _pad_right(crop: U8, share: float) -> U8:
    import cv2

    k = int(share * crop.shape[1])
    return np.asarray(cv2.copyMakeBorder(crop, 0, 0, 0, k, cv2.BORDER_REPLICATE), np.uint8)


CHANGES: dict[str, Callable[[U8, float], U8]] = {
    "paint left": _paint_left,
    "shift left": _shift_left,
    "cut left": _cut_left,
    "widen right": _pad_right,
}


def probe(model: str | None, meter_dir: str, meter: str, digit: int,
          shares: Sequence[float] = (0.15, 0.25)) -> list[tuple[str, list[str]]]:
    """Rows of (change, each crop's "position/confidence" or "-" for not a digit)."""
    from ...edge.reading import shown_position
    from ...edge.vision.classifier import WindowClassifier
    from ...edge.vision.wheel import estimate
    from ...edge.vision.window import window_batch
    from .data import load_meter_digits

    clf = WindowClassifier(model)
    dev = load_meter_digits(meter_dir, "dev")
    picks = [i for i, (g, p) in enumerate(zip(dev.groups, dev.positions, strict=True))
             if meter in g and p >= 0 and round(float(p)) % 10 == digit]
    if not picks:
        raise ValueError(f"no dev crops of {digit} from a meter named like {meter!r}")
    crops = [dev.crops[i] for i in picks]

    def read(batch: list[U8]) -> list[str]:
        ests = estimate(clf.probabilities(window_batch(batch)))
        # Shown as recognize shows positions: 9.97 is 0.0, not 10.0.
        return [f"{shown_position(e.position, 1):.1f}/{e.confidence:.2f}"
                if e.position is not None else "-" for e in ests]

    rows = [("as they are", read(crops))]
    for share in shares:
        for name, change in CHANGES.items():
            rows.append((f"{name} {share:g}", read([change(c, share) for c in crops])))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="meter-window .tflite (default: the shipped one)")
    parser.add_argument("--meter-dir", default="../shared/data/meter-digits")
    parser.add_argument("--meter", required=True, help="part of the meter's name, as in labels.csv")
    parser.add_argument("--digit", type=int, required=True, choices=range(10))
    args = parser.parse_args(argv)
    try:
        rows = probe(args.model, args.meter_dir, args.meter, args.digit)
    except ValueError as exc:
        print(f"window_probe: {exc}", file=sys.stderr)
        return 2
    for name, reads in rows:
        print(f"{name:<16} " + " ".join(f"{r:>9}" for r in reads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
