"""Whole readings from real crops: 5-wheel counters counting up through roll-overs.

Each counter is built from the crops of one dev meter: its value rises a few
tenths of the last wheel per frame, every wheel's true position follows the
counter's carry (a wheel turns while its right neighbour passes 9 -> 0; LCD
meters jump from digit to digit), and each wheel of each frame is shown by a
real crop labelled with that position. The frames then go through the device's
own chain: window model -> composition -> decisions (meter rules). What counts
is what would be published: exact, or wrong, and never a decrease. A frame for
which the meter has no crop labelled with some wheel's position is skipped
(counted): dev meters do not show every tenth.

:func:`evaluate_synthetic_sequences` counts the same way on whole generated meter
photos (wheels and LCDs in fonts held out of training), read through fixed boxes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from digitd.edge.config import DecisionConfig, LocateConfig
from digitd.edge.service.decide import Action, Decider
from digitd.edge.vision.classifier import WindowClassifier
from digitd.edge.vision.compose import expected_turn
from digitd.edge.vision.reader import wheel_reading
from digitd.train.window_data import WindowSet

logger = logging.getLogger(__name__)

WHEELS = 5
STEPS = 40


def true_positions(value_tenths: int, wheels: int, lcd: bool) -> list[float]:
    """Each wheel's position, to the tenth, for a counter standing at ``value_tenths``
    tenths of its last wheel."""
    last = (value_tenths % 100) / 10.0
    if lcd:
        last = float(int(last))
    positions = [last]
    units = value_tenths // 10
    right = last
    for k in range(1, wheels):
        digit = (units // 10**k) % 10
        turn = 0.0 if lcd else expected_turn(right)
        p = round(digit + turn, 1) % 10.0
        positions.append(p)
        right = p
    return positions[::-1]


def truth(value_tenths: int, wheels: int) -> str:
    return str(value_tenths // 10).zfill(wheels)[-wheels:]


def evaluate_sequences(
    clf: WindowClassifier, dev: WindowSet, inputs: np.ndarray, counters: int = 300,
    seed: int = 1, wheels: int = WHEELS, steps: int = STEPS,
    labels_as: np.ndarray | None = None,
) -> dict[str, Any]:
    """``inputs``: the model inputs of ``dev``'s crops (``window_examples(dev, None)``),
    already made for the per-crop figures; ``labels_as``: their positions if not
    ``dev.positions`` (the errata's corrections)."""
    rng = np.random.default_rng(seed)
    boxes = [(0, 0, 1, 1)] * wheels
    # Set up as the meter's owner would: an LCD's digits jump (``display = "lcd"``).
    locates = {
        display: LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * wheels, display=display)
        for display in ("wheels", "lcd")
    }
    by_meter: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    labelled = dev.positions if labels_as is None else labels_as
    for i, (g, p) in enumerate(zip(dev.groups, labelled, strict=True)):
        if p >= 0:
            by_meter[g][round(float(p) * 10) % 100].append(i)
    meters = sorted(by_meter)

    published = exact = decreasing = frames = no_reading = skipped = 0
    per_meter: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # published, exact, decr
    wrong_examples: list[dict[str, str]] = []
    for c in range(counters):
        meter = meters[c % len(meters)]
        labels = by_meter[meter]
        lcd = all(k % 10 == 0 for k in labels)
        # Start a little before a roll-over of two or more wheels now and then.
        base = int(rng.integers(0, 10 ** (wheels - 1))) * 10
        if rng.random() < 0.5:
            base = (base // 1000) * 1000 + 990 - int(rng.integers(0, 40))
        value = base
        decider = Decider(DecisionConfig(meter=True, stable_count=2, heartbeat=0))
        last_published: Decimal | None = None
        for step in range(steps):
            value += int(rng.integers(0, 4 if not lcd else 12))
            positions = true_positions(value, wheels, lcd)
            picks: list[int] = []
            for p in positions:
                # Only a crop labelled with exactly this position: a neighbour's crop
                # would make the frame show another value than the truth it is scored on.
                options = labels.get(round(p * 10) % 100)
                if not options:
                    break
                picks.append(int(options[int(rng.integers(len(options)))]))
            if len(picks) != wheels:
                skipped += 1
                continue
            frames += 1
            ests = clf.estimate(inputs[picks])
            reading = wheel_reading(ests, boxes, locates["lcd" if lcd else "wheels"], 0.0)
            decision = decider.offer(reading, float(step))
            if decision.action == Action.REJECT and decision.reason is not None and \
                    decision.reason.code in ("not_a_digit", "low_confidence"):
                no_reading += 1
            if not decision.publish or decision.value is None:
                continue
            published += 1
            per_meter[meter][0] += 1
            number = Decimal(decision.value)
            if last_published is not None and number < last_published:
                decreasing += 1
                per_meter[meter][2] += 1
            last_published = number
            want = truth(value, wheels)
            # Compared as numbers: an LCD's unlit leading cells read as nothing, not "0".
            if number == Decimal(want):
                exact += 1
                per_meter[meter][1] += 1
            elif len(wrong_examples) < 10:
                wrong_examples.append({"meter": meter, "published": decision.value, "true": want})
    return {
        "wheels": wheels,
        "sequences": counters,
        "steps": steps,
        "frames": frames,
        "frames_skipped_no_crop": skipped,
        "published": published,
        "exact": exact / published if published else float("nan"),
        "decreasing": decreasing,
        "no_reading": no_reading / frames if frames else float("nan"),
        "per_meter": {
            m: {"published": v[0], "exact": v[1] / v[0] if v[0] else float("nan"),
                "decreasing": v[2]}
            for m, v in sorted(per_meter.items())
        },
        "wrong_examples": wrong_examples,
    }


def evaluate_synthetic_sequences(
    clf: WindowClassifier, counters: int = 60, seed: int = 1, wheels: int = WHEELS,
    steps: int = 30,
) -> dict[str, Any]:
    """Whole readings of generated meter photos (:func:`digitd.train.meters.meter_image`,
    fonts held out of training) counting up the same way: two counters in three with
    wheels, every third an LCD (set up with ``display = "lcd"``). Each frame is a
    whole 640x480 photo read through fixed boxes, as the daemon reads a camera."""
    from digitd.edge.vision.reader import Reader
    from digitd.train.meters import meter_image

    rng = np.random.default_rng(seed)
    # per kind: published, exact, decreasing, frames, frames without a reading
    totals: dict[str, list[int]] = {k: [0, 0, 0, 0, 0] for k in ("wheels", "lcd")}
    wrong_examples: list[dict[str, str]] = []
    for c in range(counters):
        kind = "lcd" if c % 3 == 2 else "wheels"
        lcd = kind == "lcd"
        base = int(rng.integers(0, 10 ** (wheels - 1))) * 10
        if rng.random() < 0.5:
            base = (base // 1000) * 1000 + 990 - int(rng.integers(0, 40))
        value = base
        meter_seed = seed * 100_003 + c  # one meter per counter: only the digits change
        decider = Decider(DecisionConfig(meter=True, stable_count=2, heartbeat=0))
        reader: Reader | None = None
        last_published: Decimal | None = None
        t = totals[kind]
        for step in range(steps):
            value += int(rng.integers(0, 4 if not lcd else 12))
            positions = true_positions(value, wheels, lcd)
            shown = "".join(str(int(p)) for p in positions)
            rolls = None if lcd else [p - int(p) for p in positions]
            image, boxes = meter_image(shown, meter_seed, kind=kind, decimals=0, rolls=rolls)
            if reader is None:
                locate = LocateConfig(mode="boxes", boxes=boxes, display=kind)
                reader = Reader(None, locate, window=clf)
            t[3] += 1
            decision = decider.offer(reader.read(image), float(step))
            if decision.action == Action.REJECT and decision.reason is not None and \
                    decision.reason.code in ("not_a_digit", "low_confidence"):
                t[4] += 1
            if not decision.publish or decision.value is None:
                continue
            t[0] += 1
            number = Decimal(decision.value)
            if last_published is not None and number < last_published:
                t[2] += 1
            last_published = number
            want = truth(value, wheels)
            if number == Decimal(want):
                t[1] += 1
            elif len(wrong_examples) < 10:
                wrong_examples.append({"kind": kind, "published": decision.value, "true": want})
    published = sum(v[0] for v in totals.values())
    frames = sum(v[3] for v in totals.values())
    return {
        "wheels": wheels,
        "counters": counters,
        "steps": steps,
        "frames": frames,
        "published": published,
        "exact": sum(v[1] for v in totals.values()) / published if published else float("nan"),
        "decreasing": sum(v[2] for v in totals.values()),
        "no_reading": sum(v[4] for v in totals.values()) / frames if frames else float("nan"),
        "per_kind": {
            k: {"frames": v[3], "published": v[0],
                "exact": v[1] / v[0] if v[0] else float("nan"), "decreasing": v[2],
                "no_reading": v[4] / v[3] if v[3] else float("nan")}
            for k, v in totals.items()
        },
        "wrong_examples": wrong_examples,
    }
