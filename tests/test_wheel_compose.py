"""Wheel positions from scores, and counter values composed through roll-overs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitd.edge.vision.compose import compose, expected_turn
from digitd.edge.vision.wheel import (
    BLANK,
    NUM_WINDOW_CLASSES,
    digit_scores,
    estimate,
    position_class,
    soft_targets,
    wheel_digit,
)


def test_soft_targets_peak_at_the_position_and_wrap() -> None:
    t = soft_targets(np.array([3.5, 9.9, -1.0]))
    assert t.shape == (3, NUM_WINDOW_CLASSES)
    assert np.allclose(t.sum(axis=1), 1.0)
    assert t[0].argmax() == 35
    # 9.9 sits next to 0.0 on the wheel: its target spills onto class 0, not class 98 only.
    assert t[1, 0] > 0.1 and t[1, 0] == pytest.approx(t[1, 98], rel=1e-5)
    assert t[2, BLANK] == 1.0 and t[2, :BLANK].sum() == 0.0


@given(st.integers(0, 99))
def test_estimate_recovers_the_position_of_a_soft_target(k: int) -> None:
    est = estimate(soft_targets(np.array([k / 10.0])))[0]
    error = abs(est.position - k / 10.0) % 10.0
    assert min(error, 10.0 - error) < 0.02
    assert 0.0 <= est.position < 10.0
    assert position_class(est.position) == k


def test_digit_scores_give_each_digit_the_positions_nearest_to_it() -> None:
    probs = np.zeros((3, NUM_WINDOW_CLASSES), np.float32)
    probs[0, 34] = 1.0  # 3.4 -> nearest 3
    probs[1, 35] = 1.0  # 3.5 -> nearest 4 (half-way goes to the next digit)
    probs[2, 97] = 1.0  # 9.7 -> nearest 0
    scores = digit_scores(probs)
    assert scores.argmax(axis=1).tolist() == [3, 4, 0]


def test_wheel_digit_none_between_digits_and_for_empty_cells() -> None:
    centred, half, empty = np.zeros((3, NUM_WINDOW_CLASSES), np.float32)
    centred[30] = 1.0
    half[45] = 1.0
    empty[BLANK] = 0.9
    empty[30] = 0.1
    ests = estimate(np.stack([centred, half, empty]))
    assert wheel_digit(ests[0]) == 3 and ests[0].confidence == pytest.approx(1.0)
    assert wheel_digit(ests[1]) is None  # 4.5: no one digit in view
    assert ests[1].position == pytest.approx(4.5)
    assert wheel_digit(ests[2]) is None


def counter_positions(value_tenths: int, wheels: int, start: float = 9.0) -> list[float]:
    """True wheel positions of a counter at ``value_tenths`` tenths of its last wheel."""
    last = (value_tenths % 100) / 10.0
    positions, right, units = [last], last, value_tenths // 10
    for k in range(1, wheels):
        p = (units // 10**k) % 10 + expected_turn(right, start)
        positions.append(p % 10.0)
        right = p % 10.0
    return positions[::-1]


@pytest.mark.parametrize(
    ("positions", "digits", "tenth"),
    [
        ([0.0, 0.0, 5.0, 2.0, 1.3], (0, 0, 5, 2, 1), 3),  # 521.3
        ([1.0, 2.0, 9.0, 9.5], (1, 2, 9, 9), 5),  # carry under way, nothing rolled yet
        ([1.0, 2.5, 9.5, 9.5], (1, 2, 9, 9), 5),  # two wheels half-way: still 1299
        ([1.0, 3.0, 0.0, 0.1], (1, 3, 0, 0), 1),  # rolled over
        ([1.0, 2.9, 9.9, 0.1], (1, 3, 0, 0), 1),  # left wheels not quite home yet
        ([5.0, 2.4, 9.4, 9.9], (5, 2, 9, 9), 9),
        ([3.96], (4,), 0),  # to the tenth first
    ],
)
def test_compose_through_roll_overs(
    positions: list[float], digits: tuple[int, ...], tenth: int
) -> None:
    composed = compose(positions)
    assert composed.digits == digits and composed.tenth == tenth


def test_an_lcd_shows_its_nearest_digits_and_has_no_tenth() -> None:
    # A wheel at 5.9 has not reached 6; an LCD the model places at 5.9 shows a 6.
    assert compose([1.0, 2.0, 5.9]).digits == (1, 2, 5)
    lcd = compose([1.0, 1.9, 5.9], jumps=True)
    assert lcd.digits == (1, 2, 6) and not lcd.has_tenth
    assert lcd.value(extended=True) == "126"
    assert compose([9.96, 0.02], jumps=True).digits == (0, 0)


def test_composed_value_with_decimals_and_extended_resolution() -> None:
    composed = compose([0.0, 0.0, 5.0, 2.0, 1.9])
    assert composed.value() == "00521"
    assert composed.value(decimals=2) == "005.21"
    assert composed.value(extended=True) == "00521.9"
    assert composed.value(decimals=2, extended=True) == "005.219"


@settings(max_examples=300)
@given(st.integers(0, 10**6 - 1), st.sampled_from([9.0, 8.0, 0.0]))
def test_compose_reads_any_counter_exactly(value: int, start: float) -> None:
    """Whatever the counter shows and however its wheels carry, the right value."""
    wheels = 5
    got = compose(counter_positions(value, wheels, start), transition_start=start)
    assert "".join(map(str, got.digits)) == str(value // 10).zfill(wheels)[-wheels:]
    assert got.tenth == value % 10
    assert max(got.misfit) <= 1e-3  # every wheel stands where the carry puts it


@pytest.mark.parametrize(
    ("positions", "wheel", "misfit"),
    [
        # Half-turned beside a neighbour at 6: no carry under way, so one of them is misread.
        ([1.0, 2.5, 6.0, 3.0], 1, 0.5),
        # The last wheel at 9.7 misread as 5.77: its neighbour, 0.74 of its way to 1, is lost.
        ([0.0, 4.06, 8.96, 0.74, 5.77], 3, 0.26),
        # A neighbour at 9.5 explains half a turn. The limit: a 1.9 misread 2.76 beside a
        # neighbour at 9.9 stands 0.14 from a 2.9, so it passes for a 2 (and 2 is wrong).
        ([1.0, 2.5, 9.5, 9.5], 0, 0.0),
        ([2.76, 9.9, 9.9], 0, 0.14),
    ],
)
def test_misfit_is_how_far_a_wheel_stands_from_where_the_carry_puts_it(
    positions: list[float], wheel: int, misfit: float
) -> None:
    got = compose(positions)
    worst = got.worst_misfit()
    assert worst is not None and worst[0] == wheel and worst[1] == pytest.approx(misfit, abs=1e-3)
    assert got.misfit[-1] == 0.0 and compose(positions, jumps=True).misfit == ()


@settings(max_examples=200)
@given(st.integers(0, 10**6 - 1), st.lists(st.floats(-0.2, 0.2), min_size=5, max_size=5))
def test_compose_tolerates_position_errors_on_the_left_wheels(
    value: int, noise: list[float]
) -> None:
    """Errors up to 0.2 on every wheel but the last never change a discrete counter's value."""
    positions = counter_positions(value, 5)
    noisy = [(p + e) % 10.0 for p, e in zip(positions[:-1], noise, strict=False)]
    got = compose([*noisy, positions[-1]])
    assert "".join(map(str, got.digits)) == str(value // 10).zfill(5)[-5:]


def test_a_position_just_below_10_is_shown_as_0() -> None:
    """A wheel at 9.996 is a 0 almost in place: shown, published and filed for labelling
    as 0.0, never as 10.0 (positions are below 10, and a folder named 10.0 is no label)."""
    from digitd.edge.mqtt.payloads import DigitOut
    from digitd.edge.reading import DigitRead, Prediction
    from digitd.edge.service.collect import guess_label
    from digitd.train.wheels.folder import position_of_folder

    read = DigitRead(0, (0, 0, 10, 10), Prediction(0, 0.97, (0.97,) + (0.0,) * 9), 9.996)
    assert read.brief() == "0@0.0:0.97"
    assert read.as_json()["position"] == 0.0
    assert DigitOut(0, 0.97, 9.996).as_json()["position"] == 0.0
    assert guess_label(read) == "0.0" and position_of_folder(guess_label(read)) == 0.0
    assert DigitOut(9, 0.9, 9.94).as_json()["position"] == 9.94
