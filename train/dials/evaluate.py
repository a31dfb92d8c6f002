"""How well the dial model reads dials of makes it was never trained on.

``python -m digitd.train.dials.evaluate [--model models/dial.tflite] [--n N] [--seed S]
[--json]`` renders dials of the held-out styles (both directions of numbering, positions
uniform over the scale), reads each with the direction "auto" and again with it given,
one dial per call on one thread, and reports, per style, per direction
and per picture condition (everyday, off-centre box, oblique view, flash, blur with a
poor JPEG): the share within 0.3 of the truth, the median error (both taken round the
dial: 9.9 is 0.2 from 0.1), the refused share and the share whose direction was found
right. Then the negatives (flow-indicator star, covered dial, burnt-out flash, texture)
and how many were refused, and the median time per dial (crop to reading). ``--tune``
reports the styles the model was trained on instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...edge.vision.dial import DialEstimate, DialModel
from .render import (
    HELD_OUT_STYLES,
    NEGATIVES,
    STYLES,
    TUNE_STYLES,
    Direction,
    Shot,
    everyday_shot,
    render,
    render_negative,
)

logger = logging.getLogger(__name__)

WITHIN = 0.3  # a reading this close to the truth is right


def _everyday(rng: np.random.Generator) -> Shot:
    return everyday_shot(rng)


def _off_centre(rng: np.random.Generator) -> Shot:
    return everyday_shot(rng, off_centre=float(rng.uniform(0.06, 0.1)))


def _oblique(rng: np.random.Generator) -> Shot:
    return everyday_shot(rng, oblique=float(rng.uniform(12.0, 20.0)))


def _flash(rng: np.random.Generator) -> Shot:
    return replace(everyday_shot(rng), flash=float(rng.uniform(0.4, 0.8)),
                   flash_on_needle=bool(rng.random() < 0.5))


def _blur_jpeg(rng: np.random.Generator) -> Shot:
    return replace(everyday_shot(rng), blur=float(rng.uniform(1.0, 1.6)),
                   jpeg=int(rng.integers(30, 51)))


# Each condition's share of the dials: most are everyday pictures.
CONDITIONS: dict[str, tuple[Callable[[np.random.Generator], Shot], int]] = {
    "everyday": (_everyday, 4),
    "off_centre": (_off_centre, 1),
    "oblique": (_oblique, 1),
    "flash": (_flash, 1),
    "blur_jpeg": (_blur_jpeg, 1),
}


def circular_error(found: float, truth: float) -> float:
    """How far apart two positions are round the dial (0 .. 5)."""
    e = abs(found - truth) % 10.0
    return min(e, 10.0 - e)


@dataclass(frozen=True)
class _Read:
    style: str
    direction: Direction
    condition: str
    error: float | None  # None: refused
    given_error: float | None  # read again with the direction given (as a config would)
    direction_right: bool
    seconds: float


def _figures(rows: Sequence[_Read]) -> dict[str, float]:
    read = [r.error for r in rows if r.error is not None]
    given = [r.given_error for r in rows if r.given_error is not None]
    n = max(1, len(rows))
    return {
        "n": len(rows),
        "within_0.3": round(sum(e <= WITHIN for e in read) / n, 4),
        "median_error": round(statistics.median(read), 4) if read else float("nan"),
        "refused": round(1.0 - len(read) / n, 4),
        "direction_right": round(sum(r.direction_right for r in rows) / n, 4),
        "given_within_0.3": round(sum(r.given_error is not None and r.given_error <= WITHIN
                                      for r in rows) / n, 4),
        "given_median_error": round(statistics.median(given), 4) if given else float("nan"),
    }


def _timed(model: DialModel, crop: np.ndarray[Any, Any]) -> tuple[DialEstimate, float]:
    t0 = time.perf_counter()
    est = model.read([crop], ["auto"])[0]
    return est, time.perf_counter() - t0


def evaluate(model: DialModel, styles: Sequence[str], n: int = 3200, seed: int = 0,
             negatives: int = 400, size: int = 80) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cycle = [name for name, (_, share) in CONDITIONS.items() for _ in range(share)]
    rows: list[_Read] = []
    for i in range(n):
        style = styles[i % len(styles)]
        direction: Direction = "cw" if (i // len(styles)) % 2 == 0 else "ccw"
        condition = cycle[(i // (2 * len(styles))) % len(cycle)]
        truth = float(rng.uniform(0.0, 10.0))
        crop = render(rng, STYLES[style], truth, direction, CONDITIONS[condition][0](rng), size)
        est, seconds = _timed(model, crop)
        error = None if est.position is None else circular_error(est.position, truth)
        given = model.read([crop], [direction])[0].position
        given_error = None if given is None else circular_error(given, truth)
        rows.append(_Read(style, direction, condition, error, given_error,
                          est.direction == direction, seconds))
        if (i + 1) % 500 == 0:
            print(f"{i + 1}/{n} dials read", file=sys.stderr, flush=True)
    refused: dict[str, float] = {}
    reasons: dict[str, dict[str, int]] = {}
    for kind in NEGATIVES:
        said: dict[str, int] = {}
        for k in range(negatives // len(NEGATIVES)):
            crop = render_negative(rng, kind, STYLES[styles[k % len(styles)]], size)
            why = model.read([crop], ["auto"])[0].refused or "read"
            said[why] = said.get(why, 0) + 1
        total = sum(said.values())
        refused[kind] = round(1.0 - said.get("read", 0) / max(1, total), 4)
        reasons[kind] = said
    return {
        "styles": list(styles),
        "model": model.model_path.name,
        "size": size,
        "seed": seed,
        "all": _figures(rows),
        "per_direction": {d: _figures([r for r in rows if r.direction == d])
                          for d in ("cw", "ccw")},
        "per_style": {s: {d: _figures([r for r in rows if r.style == s and r.direction == d])
                          for d in ("cw", "ccw")} for s in styles},
        "per_condition": {c: _figures([r for r in rows if r.condition == c])
                          for c in CONDITIONS},
        "negatives_refused": refused,
        "negative_reasons": reasons,
        "median_us_per_dial": round(statistics.median(r.seconds for r in rows) * 1e6, 1),
    }


def report_table(report: dict[str, Any]) -> str:
    def line(name: str, f: dict[str, float]) -> str:
        return (f"{name:<34} {f['n']:>5}  {100 * f['within_0.3']:6.2f} %  "
                f"{f['median_error']:6.3f}  {100 * f['refused']:5.2f} %  "
                f"{100 * f['direction_right']:6.2f} %  "
                f"{100 * f['given_within_0.3']:6.2f} %  {f['given_median_error']:6.3f}")

    out = [f"{'':<34} {'dials':>5}  {'<=0.3':>8}  {'median':>6}  {'refused':>7}  "
           f"{'direction':>8}  {'given: <=0.3':>12}  {'median':>6}", line("all", report["all"])]
    out += [line(d, f) for d, f in report["per_direction"].items()]
    for s, per in report["per_style"].items():
        out += [line(f"{s} {d}", f) for d, f in per.items()]
    out += [line(c, f) for c, f in report["per_condition"].items()]
    out += ["negatives refused: " + ", ".join(
        f"{k} {100 * v:.1f} %" for k, v in report["negatives_refused"].items())]
    out.append(f"median {report['median_us_per_dial']} µs per dial")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--model", help="the dial .tflite (default: models/dial.tflite)")
    p.add_argument("--n", type=int, default=3200, help="dials to read (default 3200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--negatives", type=int, default=400, help="negatives, all kinds together")
    p.add_argument("--tune", action="store_true",
                   help="the styles the model was trained on, not the held-out ones")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    styles = TUNE_STYLES if args.tune else HELD_OUT_STYLES
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    model = DialModel(args.model, num_threads=1)
    report = evaluate(model, styles, args.n, args.seed, args.negatives)
    print(json.dumps(report) if args.json else report_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
