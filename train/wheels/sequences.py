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
:func:`evaluate_recovery` gives each counter a value published far too high and counts
the frames until the true value is published again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from ...edge.config import DecisionConfig, LocateConfig
from ...edge.reading import Reading
from ...edge.vision.classifier import WindowClassifier
from ...edge.vision.compose import expected_turn
from ...edge.vision.decide import QUALITY_CODES, Action, Code, Decider
from ...edge.vision.reader import wheel_reading
from .data import WindowSet

logger = logging.getLogger(__name__)

# The daemon's decisions as a meter's owner sets them up: meter rules, two readings alike.
DECISIONS = DecisionConfig(meter=True, stable_count=2, heartbeat=0)

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
        self.decider = Decider(DECISIONS)
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


def _frames(
    clf: WindowClassifier, dev: WindowSet, inputs: np.ndarray, counters: int, seed: int,
    wheels: int, steps: int, labels_as: np.ndarray | None, wheel_tolerance: float | None,
    unlit_leading: bool,
) -> Iterator[tuple[int, str, int, Reading | None, str]]:
    """Every frame of every counter, in order: (counter, meter, step, its reading through
    the device's chain, the true value); the reading is None for a frame skipped because
    the meter has no crop labelled with some wheel's position."""
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
    for c in range(counters):
        meter = meters[c % len(meters)]
        labels = by_meter[meter]
        lcd = meter in lcds
        value = _start(rng, wheels)
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
            want = truth(value, wheels)
            if len(picks) != wheels:
                yield c, meter, step, None, want
                continue
            ests = clf.estimate(inputs[picks])
            reading = wheel_reading(ests, boxes, locates["lcd" if lcd else "wheels"])
            yield c, meter, step, reading, want


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
    total = _Tally()
    per_meter: dict[str, _Tally] = defaultdict(_Tally)
    skipped = 0
    wrong_examples: list[dict[str, str]] = []
    counter, current = _Counter(), 0
    for c, meter, step, reading, want in _frames(clf, dev, inputs, counters, seed, wheels,
                                                 steps, labels_as, wheel_tolerance,
                                                 unlit_leading):
        if c != current:
            counter, current = _Counter(), c
        if reading is None:
            skipped += 1
            continue
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


def far_too_high(value: str) -> str | None:
    """``value`` with its leftmost wheel that is not at 9 read as 9 (06097 as 96097): a
    misread at least ten steps of the last digit high; None if only the last wheel is
    left to raise."""
    for k, ch in enumerate(value[:-1]):
        if ch != "9":
            return value[:k] + "9" + value[k + 1:]
    return None


def evaluate_recovery(
    clf: WindowClassifier, dev: WindowSet, inputs: np.ndarray, counters: int = 900,
    seed: int = 1, at: int = 10, wheels: int = WHEELS, steps: int = STEPS,
    labels_as: np.ndarray | None = None, wheel_tolerance: float | None = None,
    unlit_leading: bool = False,
) -> dict[str, Any]:
    """The counters of :func:`evaluate_sequences` (the same arguments), each with a value
    published far too high at frame ``at`` (:func:`far_too_high` of the true one, put in
    as the accepted value): the frames until the true value is published again, and, for
    comparison, until ``recover_after`` readings in a row are the same value (all that
    recovered a large decrease until commit e18cad5). A counter that does neither within its
    frames counts as not recovered; one without a frame after ``at`` is not counted."""
    need = max(DECISIONS.stable_count, DECISIONS.recover_after)
    new: dict[str, list[int]] = defaultdict(list)
    old: dict[str, list[int]] = defaultdict(list)
    planted: dict[str, int] = defaultdict(int)
    decider: Decider | None = None
    current = -1
    same, run, recovered, identical, counted = "", 0, False, False, False
    for c, meter, step, reading, want in _frames(clf, dev, inputs, counters, seed, wheels,
                                                 steps, labels_as, wheel_tolerance,
                                                 unlit_leading):
        if c != current:
            decider, current = None, c
        if step == at and (high := far_too_high(want)) is not None:
            decider = Decider(DECISIONS)
            decider.set_value(high, float(step))
            same, run, recovered, identical, counted = "", 0, False, False, False
        if decider is None or reading is None:
            continue
        # Counted once it has a frame: a meter without a crop for some wheel's position
        # makes no frame, which no rule could recover on.
        planted[meter] += not counted
        counted = True
        decision = decider.offer(reading, float(step))
        if not recovered and decision.publish and decision.value is not None \
                and Decimal(decision.value) == Decimal(want):
            new[meter].append(step - at + 1)
            recovered = True
        # What the old rule counted: readings in a row that pass the quality checks and
        # are the same value.
        passed = not (decision.reason is not None and decision.reason.code in QUALITY_CODES)
        run = run + 1 if passed and reading.value == same else int(passed)
        same = reading.value if passed else ""
        if not identical and run >= need:
            old[meter].append(step - at + 1)
            identical = True

    def figures(meters: Sequence[str]) -> dict[str, Any]:
        n = sum(planted[m] for m in meters)
        out = {}
        for name, runs in (("counting_on", new), ("identical_only", old)):
            frames = [f for m in meters for f in runs[m]]
            out[name] = {"recovered": len(frames) / n if n else float("nan"),
                         "median_frames": float(np.median(frames)) if frames else float("nan")}
        return {"counters": n, **out}

    return {"at": at, "frames_left": steps - at, "need": need, **figures(list(planted)),
            "per_meter": {m: figures([m]) for m in sorted(planted)}}


def evaluate_synthetic_sequences(
    clf: WindowClassifier, counters: int = 60, seed: int = 1, wheels: int = WHEELS,
    steps: int = 30,
) -> dict[str, Any]:
    """Whole readings of generated meter photos (:func:`digitd.train.common.meters.meter_image`,
    fonts held out of training) counting up the same way: two counters in three with
    wheels, every third an LCD (set up with ``display = "lcd"``). Each frame is a
    whole 640x480 photo read through fixed boxes, as the daemon reads a camera."""
    from ...edge.vision.reader import Reader
    from ..common.meters import meter_image

    rng = np.random.default_rng(seed)
    total = _Tally()
    per_kind = {k: _Tally() for k in ("wheels", "lcd")}
    wrong_examples: list[dict[str, str]] = []
    for c in range(counters):
        kind: Literal["wheels", "lcd"] = "lcd" if c % 3 == 2 else "wheels"
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
