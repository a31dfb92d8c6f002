"""How well a meter-window model reads real meters it never saw: the dev split, per meter.

``python -m digitd.train.wheels.evaluate --model models/meter.tflite`` prints the
table (and ``--json`` one object): for wheels near a whole digit (within 0.2 of
it) the exact digit rate and how many legible digits were refused, the median
position error over every wheel, blank cells refused, per meter and per digit;
the held-out LCD cells; the box shifted, scaled and turned as real set-ups are;
the same crops under an LED flash's glare (with the errata: a glared unlit cell is
still no digit); whole readings of 5-wheel counters composed from dev crops, and of
generated meter photos (``--synthetic-counters``, fonts held out of training). Only
LiteRT runs the model: no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge.config import DEFAULT_MIN_CONFIDENCE
from ...edge.vision.wheel import estimate, wheel_digit
from .figures import NEAR_WHOLE, crop_figures

logger = logging.getLogger(__name__)

def _per(groups: Sequence[str], probs: npt.NDArray[np.floating],
         positions: npt.NDArray[np.floating]) -> dict[str, dict[str, float]]:
    names = np.array(groups)
    return {
        str(g): crop_figures(probs[names == g], positions[names == g])
        for g in sorted(set(groups))
    }


def evaluate_dev(model: str | None, meter_dir: str, sevenseg_dir: str | None,
                 sequences: int = 900, seed: int = 1,
                 synthetic_counters: int = 0,
                 wheel_tolerance: float | None = None) -> dict[str, Any]:
    from ...edge.vision.classifier import WindowClassifier
    from ...edge.vision.window import window_batch
    from .data import (
        ERRATA,
        SEVENSEG_ERRATA,
        beside,
        frame_bars,
        glare_crop,
        load_errata,
        load_meter_digits,
        load_sevenseg,
        positions_with_errata,
        reframe,
        window_examples,
    )
    from .sequences import (
        evaluate_recovery,
        evaluate_sequences,
        evaluate_synthetic_sequences,
        lcd_meters,
    )

    clf = WindowClassifier(model)
    dev = load_meter_digits(meter_dir, "dev")
    x = window_examples(dev, None)
    probs = clf.probabilities(x)
    report: dict[str, Any] = {
        "model": str(clf.model_path),
        "dev": crop_figures(probs, dev.positions),
        "per_meter": _per(dev.groups, probs, dev.positions),
    }
    # The same crops with the labels their pictures contradict corrected (looked at one
    # by one, listed in train/wheels/meter_digits_errata.csv): the figures as labelled stay above.
    corrected = positions_with_errata(dev, load_errata())
    changed = np.flatnonzero(corrected != dev.positions)
    touched = {dev.groups[i] for i in changed}
    report["errata"] = {
        "file": ERRATA.name,
        "corrected": len(changed),
        "dev": crop_figures(probs, corrected),
        "per_meter": {g: f for g, f in _per(dev.groups, probs, corrected).items()
                      if g in touched},
    }
    true_digit = np.round(dev.positions).astype(np.int64) % 10
    report["per_digit"] = {
        str(d): crop_figures(probs[true_digit == d], dev.positions[true_digit == d])[
            "near_whole_accuracy"
        ]
        for d in range(10)
    }
    # The same crops framed as a set-up box might be: shifted, scaled, turned; and with
    # the window's frame showing as bars at the edges of a box drawn too large.
    rng = np.random.default_rng(seed)
    moved = window_batch([reframe(c, rng, strength=1.0) for c in dev.crops])
    report["dev_reframed"] = crop_figures(clf.probabilities(moved), dev.positions)
    barred = window_batch([frame_bars(c, rng) for c in dev.crops])
    report["dev_frame_bars"] = crop_figures(clf.probabilities(barred), dev.positions)
    # ... and drawn wider than the cell: a strip of another cell of the same meter beside it.
    same_meter: dict[str, list[Any]] = {}
    for c, g in zip(dev.crops, dev.groups, strict=True):
        same_meter.setdefault(g, []).append(c)
    widened = window_batch([beside(c, same_meter[g], rng) for c, g in zip(dev.crops, dev.groups,
                                                                          strict=True)])
    report["dev_side_neighbours"] = crop_figures(clf.probabilities(widened), dev.positions)
    # ... and under an LED flash's glare (its own random stream: the rows above stay as
    # they were measured before this row existed). The glare errata count: a glared
    # unlit cell is still no digit.
    glare_rng = np.random.default_rng([seed, 4])
    glared = window_batch([glare_crop(c, glare_rng) for c in dev.crops])
    report["dev_glare"] = crop_figures(clf.probabilities(glared), corrected)
    # The reader's rule for an LCD's leading cells (edge/vision/reader.py, UNLIT_BELOW):
    # how many lit and unlit LCD cells score under it (dev meters whose crops are all
    # whole digits, with the errata; then the held-out LCD cells below).
    lcds = lcd_meters(dev.groups, corrected)
    on_lcd = np.array([g in lcds for g in dev.groups])
    unlit_counts = _weak_cells(probs[on_lcd], corrected[on_lcd])
    if sevenseg_dir:
        cells = load_sevenseg(sevenseg_dir, "heldout")
        cell_probs = clf.probabilities(window_examples(cells, None))
        report["sevenseg_heldout"] = crop_figures(cell_probs, cells.positions)
        read = [wheel_digit(e) if e.confidence >= DEFAULT_MIN_CONFIDENCE else None
                for e in estimate(cell_probs)]
        got = np.array([-2 if d is None else d for d in read])
        right = np.where(cells.positions >= 0, got == np.round(cells.positions), got == -2)
        report["sevenseg_heldout"]["all_cells_accuracy"] = float(right.mean())
        # Frames caught mid-change (segments missing) are left out of the second figures.
        shows = load_errata(SEVENSEG_ERRATA)
        partial = np.array([shows.get(f) == "partial" for f in cells.files])
        report["errata"]["sevenseg_file"] = SEVENSEG_ERRATA.name
        report["errata"]["sevenseg_left_out"] = int(partial.sum())
        report["errata"]["sevenseg_heldout"] = crop_figures(
            cell_probs[~partial], cells.positions[~partial]
        )
        held = _weak_cells(cell_probs, cells.positions)
        unlit_counts = {k: unlit_counts[k] + held[k] for k in unlit_counts}
    report["lcd_weak_cells"] = unlit_counts
    if sequences:
        report["sequences"] = evaluate_sequences(clf, dev, x, sequences, seed,
                                                 wheel_tolerance=wheel_tolerance)
        # A crop labelled "0" that shows an unlit cell makes a frame whose truth is not
        # what it shows: with the errata such crops are not drawn as digits.
        report["errata"]["sequences"] = evaluate_sequences(
            clf, dev, x, sequences, seed, labels_as=corrected, wheel_tolerance=wheel_tolerance
        )
        # ... and as such a display shows a counter: its leading zeros unlit.
        report["errata"]["sequences_unlit_leading"] = evaluate_sequences(
            clf, dev, x, sequences, seed, labels_as=corrected, wheel_tolerance=wheel_tolerance,
            unlit_leading=True,
        )
        # The same counters, each with a value published far too high at frame 10.
        report["errata"]["recovery"] = evaluate_recovery(
            clf, dev, x, sequences, seed, labels_as=corrected, wheel_tolerance=wheel_tolerance,
            unlit_leading=True,
        )
    if synthetic_counters:
        report["synthetic_sequences"] = evaluate_synthetic_sequences(
            clf, synthetic_counters, seed
        )
        # The 40 + 40 fixed meter photos tests/test_meter_reading.py holds the shipped
        # model to (its floors: 39 wheels, 35 LCDs), for any model.
        from ..common.meters import TEST_METERS, read_test_meters

        report["test_meters"] = {
            kind: {"n": TEST_METERS, "wrong": [list(w) for w in read_test_meters(clf, kind)]}
            for kind in ("wheels", "lcd")
        }
    report["before"] = digit_model_baseline(dev)
    return report


def _weak_cells(probs: npt.NDArray[np.floating], positions: npt.NDArray[np.floating]
                ) -> dict[str, int]:
    """Lit and unlit cells, and how many of each the reader takes for a weak guess."""
    from ...edge.vision.reader import weak_guess

    weak = np.array([weak_guess(e) for e in estimate(probs)], bool)
    lit = np.asarray(positions) >= 0
    return {"lit": int(lit.sum()), "lit_weak": int((weak & lit).sum()),
            "unlit": int((~lit).sum()), "unlit_weak": int((weak & ~lit).sum())}


def digit_model_baseline(dev: Any) -> dict[str, Any]:
    """The same near-whole dev crops through the way boxes were read before: the
    shipped handwriting model on MNIST-style normalised crops (ink cropped, centred)."""
    from ...edge.vision.classifier import Classifier
    from ...edge.vision.normalise import normalise_digit

    clf = Classifier()
    positions = np.asarray(dev.positions, np.float64)
    near = (positions >= 0) & (np.abs(positions - np.round(positions)) <= NEAR_WHOLE + 1e-6)
    idx = np.flatnonzero(near)
    preds = clf.classify(np.stack([normalise_digit(dev.crops[i]) for i in idx]))
    want = np.round(positions[idx]).astype(np.int64) % 10
    got = np.array([-1 if p.digit is None or p.confidence < 0.5 else p.digit for p in preds])
    return {
        "model": "digits.tflite (shipped handwriting model), MNIST-style normalisation",
        "near_whole_n": len(idx),
        "near_whole_accuracy": float((got == want).mean()) if len(idx) else float("nan"),
        "legible_refused": float((got == -1).mean()) if len(idx) else float("nan"),
    }


def _pct(v: float) -> str:
    return "  -  " if v != v else f"{100 * v:5.1f}"


def print_report(r: dict[str, Any], out: Any = sys.stdout) -> None:
    def line(name: str, f: dict[str, float]) -> None:
        print(
            f"{name:34s} {f['n']:5d} {f['near_whole_n']:5d}  {_pct(f['near_whole_accuracy'])} %"
            f"  {_pct(f['legible_refused'])} %   {f['median_position_error']:5.2f}"
            f"   {_pct(f['blank_refused'])} %",
            file=out,
        )

    print(f"model {r['model']}", file=out)
    print(f"{'crops':34s} {'n':>5s} {'near':>5s}  {'exact':>7s}  {'refused':>8s}  "
          f"{'pos.err':>7s}  {'blank refused':>13s}", file=out)
    line("dev split (8 unseen meters)", r["dev"])
    for name, f in r["per_meter"].items():
        line(f"  {name}", f)
    if "errata" in r:
        e = r["errata"]
        print(f"the same, {e['corrected']} crops labelled as digits that show none counted "
              f"as blank ({e['file']}):", file=out)
        line("  dev split", e["dev"])
        for name, f in e["per_meter"].items():
            line(f"  {name}", f)
    line("dev, box shifted/scaled/turned", r["dev_reframed"])
    line("dev, frame bars at the edges", r["dev_frame_bars"])
    if "dev_side_neighbours" in r:
        line("dev, a neighbouring cell beside", r["dev_side_neighbours"])
    if "dev_glare" in r:
        line("dev, a flash's glare (with errata)", r["dev_glare"])
    if "sevenseg_heldout" in r:
        line("sevenseg cells (held-out frames)", r["sevenseg_heldout"])
        print(f"  all sevenseg cells right (digits and blanks): "
              f"{_pct(r['sevenseg_heldout']['all_cells_accuracy'])} %", file=out)
        e = r.get("errata", {})
        if "sevenseg_heldout" in e:
            line(f"  without {e['sevenseg_left_out']} partial frames", e["sevenseg_heldout"])
            print(f"  ({e['sevenseg_file']}: cells whose segments are not all there)", file=out)
    if "lcd_weak_cells" in r:
        w = r["lcd_weak_cells"]
        print(f"LCD cells (dev LCD meters with the errata, held-out cells) whose best digit "
              f"scores under the reader's unlit-place threshold: lit {w['lit_weak']} of "
              f"{w['lit']}, unlit {w['unlit_weak']} of {w['unlit']}", file=out)
    print("per digit (near-whole exact): " + "  ".join(
        f"{d}:{_pct(v).strip()}" for d, v in r["per_digit"].items()), file=out)
    if "before" in r:
        b = r["before"]
        print(f"before (digit model, MNIST-style crops) on the same near-whole dev crops: "
              f"exact {_pct(b['near_whole_accuracy'])} %, refused {_pct(b['legible_refused'])} %",
              file=out)
    if "sequences" in r:
        s = r["sequences"]
        print(
            f"whole readings ({s['wheels']} wheels, {s['sequences']} counters x {s['steps']} "
            f"frames, dev crops): published {s['published']}, exact {_pct(s['exact'])} %, "
            f"decreasing {s['decreasing']}, frames without a reading {_pct(s['no_reading'])} %",
            file=out,
        )
        e = r.get("errata", {}).get("sequences")
        if e:
            print(f"  with the errata: published {e['published']}, exact {_pct(e['exact'])} %, "
                  f"decreasing {e['decreasing']}, frames without a reading "
                  f"{_pct(e['no_reading'])} %", file=out)
        u = r.get("errata", {}).get("sequences_unlit_leading")
        if u:
            print(f"  with the errata, an LCD's leading zeros shown by its unlit cells: "
                  f"published {u['published']}, exact {_pct(u['exact'])} %, decreasing "
                  f"{u['decreasing']}, frames without a reading {_pct(u['no_reading'])} %, "
                  f"one frame right {_pct(u['one_photo_exact'])} %", file=out)
            for name, m in u["per_meter"].items():
                if name in r["errata"]["per_meter"]:
                    print(f"    {name:30s} published {m['published']:4d}  exact "
                          f"{_pct(m['exact'])} %  frames without a reading "
                          f"{_pct(m['no_reading'])} %  one frame right "
                          f"{_pct(m['one_photo_exact'])} %", file=out)
        v = r.get("errata", {}).get("recovery")
        if v:
            print(f"  a value published far too high at frame {v['at']} (its leftmost wheel not "
                  f"at 9 read as 9; {v['counters']} counters, {v['frames_left']} frames left): "
                  f"the true value published again in {_pct(v['counting_on']['recovered'])} %, "
                  f"after a median of {v['counting_on']['median_frames']:.0f} frames; "
                  f"{v['need']} identical readings in a row (until commit e18cad5 the only way "
                  "back) "
                  f"came in {_pct(v['identical_only']['recovered'])} %, after a median of "
                  f"{v['identical_only']['median_frames']:.0f}", file=out)
            print("    per meter, recovered (median frames) counting on / identical only: "
                  + ", ".join(f"{name.split('/')[-1]} {_pct(m['counting_on']['recovered'])} % "
                              f"({m['counting_on']['median_frames']:.0f}) / "
                              f"{_pct(m['identical_only']['recovered'])} %"
                              for name, m in v["per_meter"].items()), file=out)
        print(f"  one frame at a time, no decisions (as recognize reads a photo): value "
              f"right {_pct(s['one_photo_exact'])} % of frames, given "
              f"{_pct(s['one_photo_given'])} %"
              + (f"; with the errata {_pct(e['one_photo_exact'])} %, given "
                 f"{_pct(e['one_photo_given'])} %" if e else ""), file=out)
        for name, m in s["per_meter"].items():
            print(f"  {name:32s} published {m['published']:4d}  exact {_pct(m['exact'])} %  "
                  f"decreasing {m['decreasing']}  frames without a reading "
                  f"{_pct(m['no_reading'])} %  one frame right {_pct(m['one_photo_exact'])} %",
                  file=out)
    if "test_meters" in r:
        t = r["test_meters"]
        print("the fixed meter photos of tests/test_meter_reading.py read exactly: "
              + ", ".join(f"{kind} {m['n'] - len(m['wrong'])} of {m['n']}"
                          for kind, m in t.items()), file=out)
    if "synthetic_sequences" in r:
        s = r["synthetic_sequences"]
        print(f"whole readings of generated meter photos ({s['counters']} counters x "
              f"{s['steps']} frames, held-out fonts): published {s['published']}, exact "
              f"{_pct(s['exact'])} %, decreasing {s['decreasing']}; one frame at a time "
              f"right {_pct(s['one_photo_exact'])} %", file=out)
        for name, m in s["per_kind"].items():
            print(f"  {name:32s} published {m['published']:4d}  exact {_pct(m['exact'])} %  "
                  f"decreasing {m['decreasing']}  frames without a reading "
                  f"{_pct(m['no_reading'])} %  one frame right {_pct(m['one_photo_exact'])} %",
                  file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitd.train.wheels.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="meter-window .tflite (default: the shipped one)")
    parser.add_argument("--meter-dir", default="../shared/data/meter-digits")
    parser.add_argument("--sevenseg-dir", default="../shared/data/sevenseg-digits")
    parser.add_argument("--sequences", type=int, default=900,
                        help="counters composed from dev crops (0: none)")
    parser.add_argument("--synthetic-counters", type=int, default=60,
                        help="counters of generated meter photos, 30 frames each (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wheel-tolerance", type=float,
                        help="whole readings: [locate] wheel_tolerance (default: the "
                        "config's; 0.5 turns the check off)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = evaluate_dev(args.model, args.meter_dir, args.sevenseg_dir or None,
                          args.sequences, args.seed, args.synthetic_counters,
                          args.wheel_tolerance)
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
