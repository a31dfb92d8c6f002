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
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from digitd.edge.config import DecisionConfig, LocateConfig
from digitd.edge.reading import Reading
from digitd.edge.service.decide import Action, Code, Decider
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


def lcd_meters(groups: Sequence[str], positions: np.ndarray) -> set[str]:
    """The meters whose crops (blank ones aside) are all labelled whole digits: LCDs, set
    up with ``display = "lcd"`` as their owners would."""
    fractional = {g for g, p in zip(groups, positions, strict=True)
                  if p >= 0 and round(float(p) * 10) % 10}
    return set(groups) - fractional


def truth(value_tenths: int, wheels: int) -> str:
    return str(value_tenths // 10).zfill(wheels)[-wheels:]


def _start(rng: np.random.Generator, wheels: int) -> int:
    """A counter's first value in tenths: now and then a little before a roll-over of
    two or more wheels."""
    base = int(rng.integers(0, 10 ** (wheels - 1))) * 10
    if rng.random() < 0.5:
        base = (base // 1000) * 1000 + 990 - int(rng.integers(0, 40))
    return base


@dataclass
class _Tally:
    frames: int = 0
    no_reading: int = 0  # frames refused: a wheel not read (not a digit, low confidence), or
    # wheels that cannot all be right (one misread)
    published: int = 0
    exact: int = 0
    decreasing: int = 0
    # Each frame read on its own, as ``digitd recognize`` reads one photo (no decisions):
    # its value shown, and shown right.
    one_photo_given: int = 0
    one_photo_exact: int = 0

    def exact_rate(self) -> float:
        return self.exact / self.published if self.published else float("nan")

    def no_reading_rate(self) -> float:
        return self.no_reading / self.frames if self.frames else float("nan")

    def figures(self) -> dict[str, Any]:
        return {"frames": self.frames, "published": self.published, "exact": self.exact_rate(),
                "decreasing": self.decreasing, "no_reading": self.no_reading_rate(),
                "one_photo_given": self._share(self.one_photo_given),
                "one_photo_exact": self._share(self.one_photo_exact)}

    def _share(self, count: int) -> float:
        return count / self.frames if self.frames else float("nan")


class _Counter:
    """One counter's frames through the meter rules, scored by what they publish."""

    def __init__(self) -> None:
        self.decider = Decider(DecisionConfig(meter=True, stable_count=2, heartbeat=0))
        self.last: Decimal | None = None

    def offer(self, reading: Reading, step: int, want: str, *tallies: _Tally) -> str | None:
        """Count the frame in ``tallies``; the value published if it is not ``want``."""
        decision = self.decider.offer(reading, float(step))
        unread = decision.action == Action.REJECT and decision.reason is not None and \
            decision.reason.code in (Code.NOT_A_DIGIT, Code.LOW_CONFIDENCE, Code.WHEELS_DISAGREE)
        # What the photo alone shows: a value once every box has a position, even one the
        # daemon would refuse (recognize prints it, with "wheels_disagree" if so).
        alone = reading.value if reading.complete else ""
        alone_right = bool(alone) and Decimal(alone) == Decimal(want)
        for t in tallies:
            t.frames += 1
            t.no_reading += unread
            t.one_photo_given += bool(alone)
            t.one_photo_exact += alone_right
        if not decision.publish or decision.value is None:
            return None
        number = Decimal(decision.value)
        decreasing = self.last is not None and number < self.last
        self.last = number
        # Compared as numbers: an LCD's unlit leading cells read as nothing, not "0".
        right = number == Decimal(want)
        for t in tallies:
            t.published += 1
            t.decreasing += decreasing
            t.exact += right
        return None if right else decision.value


def evaluate_sequences(
    clf: WindowClassifier, dev: WindowSet, inputs: np.ndarray, counters: int = 900,
    seed: int = 1, wheels: int = WHEELS, steps: int = STEPS,
    labels_as: np.ndarray | None = None, wheel_tolerance: float | None = None,
    unlit_leading: bool = False,
) -> dict[str, Any]:
    """``inputs``: the model inputs of ``dev``'s crops (``window_examples(dev, None)``),
    already made for the per-crop figures; ``labels_as``: their positions if not
    ``dev.positions`` (the errata's corrections); ``wheel_tolerance``: the
    ``[locate]`` setting, if not its default; ``unlit_leading``: an LCD counter's
    leading zeros are shown by the meter's unlit cells (crops ``labels_as`` calls
    blank), as such a display shows them, its other zeros by lit "0"s."""
    rng = np.random.default_rng(seed)
    boxes = [(0, 0, 1, 1)] * wheels
    # Set up as the meter's owner would: an LCD's digits jump (``display = "lcd"``).
    tolerance = {} if wheel_tolerance is None else {"wheel_tolerance": wheel_tolerance}
    locates = {
        display: LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * wheels, display=display,
                              **tolerance)
        for display in ("wheels", "lcd")
    }
    by_meter: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    unlit: dict[str, list[int]] = defaultdict(list)
    labelled = dev.positions if labels_as is None else labels_as
    for i, (g, p) in enumerate(zip(dev.groups, labelled, strict=True)):
        if p >= 0:
            by_meter[g][round(float(p) * 10) % 100].append(i)
        elif unlit_leading:
            unlit[g].append(i)
    meters = sorted(by_meter)
    lcds = lcd_meters(dev.groups, labelled)

    total = _Tally()
    per_meter: dict[str, _Tally] = defaultdict(_Tally)
    skipped = 0
    wrong_examples: list[dict[str, str]] = []
    for c in range(counters):
        meter = meters[c % len(meters)]
        labels = by_meter[meter]
        lcd = meter in lcds
        value = _start(rng, wheels)
        counter = _Counter()
        for step in range(steps):
            value += int(rng.integers(0, 4 if not lcd else 12))
            positions = true_positions(value, wheels, lcd)
            picks: list[int] = []
            leading = lcd and bool(unlit[meter])
            for k, p in enumerate(positions):
                # Only a crop labelled with exactly this position: a neighbour's crop
                # would make the frame show another value than the truth it is scored on.
                options = labels.get(round(p * 10) % 100)
                # A display draws its last place even at 0; zeros before the first other
                # digit are unlit places.
                leading = leading and p == 0.0 and k < wheels - 1
                if leading:
                    options = unlit[meter]
                if not options:
                    break
                picks.append(int(options[int(rng.integers(len(options)))]))
            if len(picks) != wheels:
                skipped += 1
                continue
            ests = clf.estimate(inputs[picks])
            reading = wheel_reading(ests, boxes, locates["lcd" if lcd else "wheels"], 0.0)
            want = truth(value, wheels)
            wrong = counter.offer(reading, step, want, total, per_meter[meter])
            if wrong is not None and len(wrong_examples) < 10:
                wrong_examples.append({"meter": meter, "published": wrong, "true": want})
    return {
        "wheels": wheels,
        "sequences": counters,
        "steps": steps,
        **total.figures(),
        "frames_skipped_no_crop": skipped,
        "per_meter": {m: t.figures() for m, t in sorted(per_meter.items())},
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
    total = _Tally()
    per_kind = {k: _Tally() for k in ("wheels", "lcd")}
    wrong_examples: list[dict[str, str]] = []
    for c in range(counters):
        kind = "lcd" if c % 3 == 2 else "wheels"
        lcd = kind == "lcd"
        value = _start(rng, wheels)
        meter_seed = seed * 100_003 + c  # one meter per counter: only the digits change
        counter = _Counter()
        reader: Reader | None = None
        for step in range(steps):
            value += int(rng.integers(0, 4 if not lcd else 12))
            positions = true_positions(value, wheels, lcd)
            shown = "".join(str(int(p)) for p in positions)
            rolls = None if lcd else [p - int(p) for p in positions]
            image, boxes = meter_image(shown, meter_seed, kind=kind, decimals=0, rolls=rolls)
            if reader is None:
                locate = LocateConfig(mode="boxes", boxes=boxes, display=kind)
                reader = Reader(None, locate, window=clf)
            want = truth(value, wheels)
            wrong = counter.offer(reader.read(image), step, want, total, per_kind[kind])
            if wrong is not None and len(wrong_examples) < 10:
                wrong_examples.append({"kind": kind, "published": wrong, "true": want})
    return {
        "wheels": wheels,
        "counters": counters,
        "steps": steps,
        **total.figures(),
        "per_kind": {k: t.figures() for k, t in per_kind.items()},
        "wrong_examples": wrong_examples,
    }
