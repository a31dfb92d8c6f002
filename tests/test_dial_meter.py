"""A water meter's whole reading: wheels and pointer dials composed, and what the daemon's
decisions, flow and leak watch make of it (pure parts; the dial reader itself is
tests/test_dial.py)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitd.edge.config import DecisionConfig, LocateConfig
from digitd.edge.reading import DialRead, Reading
from digitd.edge.vision.compose import compose
from digitd.edge.vision.decide import Action, Code, Decider
from digitd.edge.vision.flow import FlowWatch
from digitd.edge.vision.reader import wheel_reading
from digitd.edge.vision.wheel import WheelEstimate

DIALS = [[400 + 60 * k, 300, 50, 50] for k in range(4)]


def _wheel(position: float) -> WheelEstimate:
    scores = [0.0] * 10
    scores[round(position) % 10] = 0.97
    return WheelEstimate(position % 10.0, tuple(scores), not_a_digit=0.01, confidence=0.97)


def _dial(position: float | None, confidence: float = 0.95) -> DialRead:
    return DialRead(box=(0, 0, 50, 50), position=None if position is None else position % 10.0,
                    confidence=confidence, direction="cw", angle=0.0,
                    refused=None if position is not None else "no needle found")


def _reading(wheels: Sequence[float], dials: Sequence[float | None],
             **locate: Any) -> Reading:
    cfg = LocateConfig(mode="boxes", boxes=[[0, 0, 10, 10]] * len(wheels), dials=DIALS[:len(dials)],
                       **locate)
    return wheel_reading([_wheel(p) for p in wheels], [(0, 0, 10, 10)] * len(wheels), cfg,
                         dials=[_dial(p) for p in dials])


def test_the_finest_dial_shows_the_digit_its_needle_has_passed() -> None:
    assert _reading([5, 2, 0.0], [8.99, 9.9, 9.0, 9.95]).value == "520.8989"
    assert _reading([5, 2, 0.0], [8.99, 9.9, 9.0, 0.02]).value == "520.8990"


def test_the_issue_s_examples() -> None:
    # A dial at 2.95 while the finer one reads 1.0 has passed 3.
    assert compose([2.95, 1.0], dials_from=0).digits == (3, 1)
    # The last wheel at 0.8 and the x0.1 dial at 0.2: the wheel has carried.
    assert _reading([5, 2, 0.8], [0.2, 2.0, 0.0, 0.0]).value == "521.0200"
    # The same wheel with the dial at 9.5 is still on its way from 0 to 1.
    assert _reading([5, 2, 0.5], [9.5, 5.0, 0.0, 0.0]).value == "520.9500"
    assert _reading([0, 0, 5, 2, 0.0], [8.98, 9.83, 8.3, 3.0]).value == "00520.8983"


def true_reading(units_1e4: int, fraction: float, lag: float) -> tuple[list[float], list[float]]:
    """Wheels (3) and dials (4) of a meter standing at ``units_1e4`` ten-thousandths (and a
    ``fraction`` of one more); the last wheel ``lag`` off where its dial puts it."""
    dials = [((units_1e4 % 10 ** (4 - k)) + fraction) / 10 ** (3 - k) for k in range(4)]
    whole = units_1e4 // 10_000
    # Each wheel unwrapped (9.9, 10.2): it turns while its right neighbour goes 9 -> 10.
    right = whole % 10 + max(0.0, dials[0] - 9.0) + lag
    wheels = [right]
    for k in (1, 2):
        right = (whole // 10**k) % 10 + min(1.0, max(0.0, right - 9.0))
        wheels.append(right)
    return [w % 10 for w in wheels[::-1]], dials


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 9_999_999), st.floats(0, 0.999), st.floats(-0.3, 0.3))
def test_wheels_and_dials_compose_to_the_truth(n: int, fraction: float, lag: float) -> None:
    wheels, dials = true_reading(n, fraction, lag)
    reading = _reading([round(w, 1) % 10 for w in wheels], dials)
    assert reading.disagreement is None
    assert Decimal(reading.value) == Decimal(n) / 10_000


def test_a_dial_not_read_refuses_the_frame_or_shortens_the_value() -> None:
    refused = _reading([5, 2, 0.0], [8.9, None, 8.3, 3.0])
    assert not refused.complete
    decision = Decider(DecisionConfig()).offer(refused, 0.0)
    assert decision.action == Action.REJECT and decision.reason is not None
    assert decision.reason.code == Code.DIAL_UNREAD
    assert "dial 2 of 4" in decision.reason.message
    coarser = _reading([5, 2, 0.0], [8.9, None, 8.3, 3.0], unreadable_dial="coarser")
    assert coarser.complete and coarser.value == "520.8"


def test_a_dial_that_cannot_be_where_its_neighbour_puts_it_is_a_misread() -> None:
    # The x0.01 dial at 5.0 while the x0.001 one reads 0.5: it should stand near 5.05.
    assert _reading([5, 2, 0.0], [8.5, 5.0, 0.5, 5.0]).disagreement is None
    # ... but at 5.0 beside a finer dial at 9.5 it should stand at 5.95 or 4.95: misread.
    bad = _reading([5, 2, 0.0], [8.5, 5.45, 9.5, 0.0])
    assert bad.disagreement is not None and "dial 2" in bad.disagreement


def test_running_water_publishes_values_that_count_on_and_never_a_decrease() -> None:
    decider = Decider(DecisionConfig(meter=True, stable_count=2, heartbeat=0))
    published: list[Decimal] = []
    n = 5_200_000
    for t in range(60):
        n += 7  # 0.7 L a frame: the finest dial turns every frame
        jitter = 0.04 if t % 3 else -0.04  # the finest dial read a little off either way
        wheels, dials = true_reading(n, 0.5 + jitter, 0.0)
        decision = decider.offer(_reading([round(w, 1) for w in wheels], dials), float(t))
        if decision.publish and decision.value is not None:
            published.append(Decimal(decision.value))
    assert len(published) >= 50  # every frame or so, not only when two alike come in a row
    assert all(b >= a for a, b in itertools.pairwise(published))
    assert published[-1] == Decimal(n) / 10_000


def test_the_meter_rules_step_is_the_last_wheel_s() -> None:
    # A rise of 0.0015 m3 is 15 steps of the finest dial but no wheel's jump.
    decider = Decider(DecisionConfig(meter=True, stable_count=1, confirm_jump=10, heartbeat=0))
    decider.set_value("520.8983", 0.0)
    decision = decider.offer(_reading([5, 2, 0.0], [9.0, 9.98, 9.8, 8.0]), 1.0)
    assert decision.action == Action.PUBLISH and decision.value == "520.8998"


def test_flow_and_leak() -> None:
    watch = FlowWatch(leak_hours=2.0, now=0.0)
    value = Decimal("520.0000")
    for t in range(0, 3 * 3600, 60):  # 1 L a minute, never stopping, for three hours
        watch.offer(f"{value:.4f}", float(t))
        value += Decimal("0.0010")
    now = float(3 * 3600 - 60)
    assert watch.flow(now) == pytest.approx(0.001, rel=1e-6)  # units (m3) a minute
    assert watch.leak(now) is True
    still = FlowWatch(leak_hours=2.0, now=0.0)
    for t in range(0, 3 * 3600, 60):  # ten minutes of use in every hour, then still
        if (t // 60) % 60 < 10:
            value += Decimal("0.0010")
        still.offer(f"{value:.4f}", float(t))
    assert still.leak(now) is False
    assert still.flow(now) == 0.0
    assert FlowWatch(leak_hours=0.0, now=0.0).leak(0.0) is None


def test_a_first_dial_misread_by_one_does_not_agree_with_the_reading_before() -> None:
    decider = Decider(DecisionConfig(meter=True, stable_count=2, heartbeat=0))
    decider.set_value("520.8980", -1.0)
    first = decider.offer(_reading([5, 2, 0.0], [8.98, 9.83, 8.3, 3.5]), 0.0)  # 520.8983
    assert first.action == Action.WAIT
    # The x0.1 dial read a whole unit high: 520.9983 is not water running since.
    second = decider.offer(_reading([5, 2, 0.0], [9.98, 9.83, 8.3, 3.5]), 1.0)
    assert second.action == Action.WAIT and second.streak == 1
    third = decider.offer(_reading([5, 2, 0.0], [8.98, 9.84, 8.4, 3.5]), 2.0)  # 520.8984
    assert third.action == Action.WAIT  # a new run: 520.9983 -> 520.8984 counts on from nothing
    fourth = decider.offer(_reading([5, 2, 0.0], [8.98, 9.84, 8.4, 4.5]), 3.0)  # 520.8984
    assert fourth.publish and fourth.value == "520.8984"
