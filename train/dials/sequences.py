"""Whole water meters: real wheel crops and generated dials, counting through every carry.

A household water meter shows whole m³ on wheels and the fractions on four pointer
dials (x0.1 .. x0.0001). Each meter here is built from the real crops of one dev meter
of ``meter-digits`` for its wheels (each wheel of each frame shown by a real crop
labelled with that wheel's position) and four dials drawn by :mod:`.render` in one
held-out style, numbered alternately clockwise and counter-clockwise (as neighbouring
dials turn), read with ``direction = "auto"``. The meter starts a little before its
last wheel carries and water runs (or not) from frame to frame; the last wheel lags or
leads its dial by up to 0.3 of a digit, as a worn counter does. Every frame goes
through the device's chain: window model and dial model -> composition -> the
daemon's decisions with the meter rules. What counts is what would be published:
exact to the finest dial, and never a decrease; and, in every frame where the x0.1
dial is read, whether the last wheel's carry came out right.

The wheels' estimates are given (``pools``), so that this folder needs nothing of
the meter-window model's: ``digitd evaluate --dials --meter-dir`` makes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from ...edge.config import DecisionConfig, LocateConfig
from ...edge.vision.compose import DEFAULT_TRANSITION_START
from ...edge.vision.decide import QUALITY_CODES, Action, Decider
from ...edge.vision.dial import DialModel
from ...edge.vision.reader import dial_read, wheel_reading
from ...edge.vision.wheel import WheelEstimate
from .render import HELD_OUT_STYLES, STYLES, everyday_shot, render

logger = logging.getLogger(__name__)

DECISIONS = DecisionConfig(meter=True, stable_count=2, heartbeat=0)
WHEELS = 5
DIALS = 4
STEPS = 40
SIZE = 80  # a dial's box, pixels
LAG = 0.3  # the last wheel lags or leads its x0.1 dial by up to this much of a digit
FINEST = Decimal(1).scaleb(-DIALS)
MIN_TENTHS = 80


def true_positions(count: int, fraction: float, lag: float, wheels: int = WHEELS,
                   transition_start: float = DEFAULT_TRANSITION_START,
                   ) -> tuple[list[float], list[float]]:
    """The wheels' and dials' positions of a meter standing at ``count`` steps of its
    finest dial (plus ``fraction`` of one); the last wheel ``lag`` off its dial."""
    dials = [((count % 10 ** (DIALS - k)) + fraction) / 10 ** (DIALS - 1 - k)
             for k in range(DIALS)]
    whole = count // 10**DIALS
    span = 10.0 - transition_start
    # Unwrapped (9.9, 10.2): each wheel turns while its right neighbour goes 9 -> 10.
    right = whole % 10 + min(1.0, max(0.0, (dials[0] - transition_start) / span)) + lag
    positions = [right]
    for k in range(1, wheels):
        right = (whole // 10**k) % 10 + min(1.0, max(0.0, right - 9.0))
        positions.append(right)
    return [p % 10.0 for p in positions[::-1]], dials


def truth(count: int, wheels: int = WHEELS) -> Decimal:
    return Decimal(count % 10 ** (wheels + DIALS)).scaleb(-DIALS)


@dataclass
class _Tally:
    frames: int = 0
    skipped: int = 0  # no real crop of the meter shows some wheel's position
    no_reading: int = 0  # refused: a wheel or dial not read, or they disagree
    published: int = 0
    exact: int = 0
    within_step: int = 0  # off by at most one step of the finest dial
    decreasing: int = 0
    carry_frames: int = 0  # frames read (not refused), the x0.1 dial among them
    carry_right: int = 0  # ... whose last wheel came out right
    # Published while the finest needle stood clear of a tick (0.1 or more from one),
    # where a person reads one digit; and of those, exact.
    clear: int = 0
    clear_exact: int = 0
    refused_by: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        def share(k: int, n: int) -> float:
            return k / n if n else float("nan")

        return {"frames": self.frames, "skipped": self.skipped,
                "no_reading": share(self.no_reading, self.frames),
                "published": self.published, "exact": share(self.exact, self.published),
                "within_one_step": share(self.within_step, self.published),
                "decreasing": self.decreasing,
                "carry_frames": self.carry_frames,
                "carry_right": share(self.carry_right, self.carry_frames),
                "clear_of_a_tick": self.clear,
                "exact_clear_of_a_tick": share(self.clear_exact, self.clear),
                "refused_by": dict(sorted(self.refused_by.items()))}


def evaluate_water_meters(
    pools: Mapping[str, Mapping[int, Sequence[WheelEstimate]]], model: DialModel,
    meters: int = 120, steps: int = STEPS, seed: int = 1,
    styles: Sequence[str] = HELD_OUT_STYLES, direction: str = "auto",
) -> dict[str, Any]:
    """``pools``: per dev meter, the window model's estimates of its real crops by the
    tenth they are labelled with (0..99)."""
    rng = np.random.default_rng(seed)
    boxes = [(0, 0, 1, 1)] * WHEELS
    locate = LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * WHEELS,
                          dials=[[0, 0, SIZE, SIZE]] * DIALS)
    total, per_style = _Tally(), {s: _Tally() for s in styles}
    wrong: list[dict[str, str]] = []
    # Meters whose crops show most tenths: a frame needs a crop at every wheel's position.
    names = sorted(m for m, p in pools.items() if len(p) >= MIN_TENTHS) or sorted(pools)
    for m in range(meters):
        pool = pools[names[m % len(names)]]
        # Every style on every meter (not style k always with meter k mod the meters).
        style_name = styles[(m // len(names)) % len(styles)]
        style = STYLES[style_name]
        directions = ["cw" if (k + m) % 2 == 0 else "ccw" for k in range(DIALS)]
        lag = float(rng.uniform(-LAG, LAG))
        whole = int(rng.integers(0, 10 ** (WHEELS - 1))) * 10 + int(rng.integers(8, 10))
        count = whole * 10**DIALS + int(rng.integers(4000, 10**DIALS))
        decider, last = Decider(DECISIONS), None
        tallies = (total, per_style[style_name])
        for step in range(steps):
            if rng.random() < 0.7:  # water running: 0 .. 25 L a frame
                count += int(rng.integers(1, 250))
            fraction = float(rng.uniform(0.0, 1.0))
            wheels, dials = true_positions(count, fraction, lag)
            ests = []
            for p in wheels:
                options = pool.get(round(p * 10) % 100)
                if not options:
                    break
                ests.append(options[int(rng.integers(len(options)))])
            if len(ests) != WHEELS:
                for t in tallies:
                    t.skipped += 1
                continue
            shot = everyday_shot(rng)
            crops = [render(rng, style, d, directions[k], shot, SIZE)  # type: ignore[arg-type]
                     for k, d in enumerate(dials)]
            reads = [dial_read((0, 0, SIZE, SIZE), e)
                     for e in model.read(crops, [direction] * DIALS)]
            reading = wheel_reading(ests, boxes, locate, dials=reads)
            want = truth(count)
            decision = decider.offer(reading, float(step))
            refused = (decision.reason.code.value if decision.action == Action.REJECT and
                       decision.reason is not None and decision.reason.code in QUALITY_CODES
                       else None)
            # The carry as the frame reads it, where the frame is not refused itself.
            carry = reading.dials[0].read and reading.composed is not None and refused is None
            carry_right = carry and reading.composed is not None and \
                reading.composed.digits[WHEELS - 1] == int(want) % 10
            for t in tallies:
                t.frames += 1
                t.no_reading += refused is not None
                if refused is not None:
                    t.refused_by[refused] = t.refused_by.get(refused, 0) + 1
                t.carry_frames += bool(carry)
                t.carry_right += bool(carry_right)
            if not decision.publish or decision.value is None:
                continue
            number = Decimal(decision.value)
            clear = 0.1 <= fraction <= 0.9
            for t in tallies:
                t.published += 1
                t.exact += number == want
                t.clear += clear
                t.clear_exact += clear and number == want
                t.within_step += abs(number - want) <= FINEST
                t.decreasing += last is not None and number < last
            if number != want and len(wrong) < 10:
                wrong.append({"published": decision.value, "true": f"{want:f}",
                              "style": style_name})
            last = number
        if (m + 1) % 20 == 0:
            logger.info("water meters: %d of %d", m + 1, meters)
    return {"meters": meters, "steps": steps, "wheels": WHEELS, "dials": DIALS,
            "direction": direction, "lag": LAG, **total.figures(),
            "per_style": {s: t.figures() for s, t in per_style.items()},
            "wrong_examples": wrong}
