"""The decision rules: examples with exact times, then properties over arbitrary readings."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from digitd.edge.config import DecisionConfig
from digitd.edge.reading import Composed, DigitRead, Prediction, Reading
from digitd.edge.vision.decide import Action, Code, Decider, Decision, parse_value


def digit(d: int | None, confidence: float = 0.99) -> DigitRead:
    scores = tuple(confidence if i == d else (1.0 - confidence) / 9 for i in range(10))
    return DigitRead(digit=d, box=(0, 0, 10, 20),
                     prediction=Prediction(d, confidence, scores))


def reading(text: str, confidence: float = 0.99, decimals: int = 0) -> Reading:
    """A reading of ``text``; '?' marks a region not read as a digit."""
    return Reading(
        tuple(digit(None if c == "?" else int(c), confidence) for c in text), decimals=decimals
    )


def cfg(**kw: object) -> DecisionConfig:
    return DecisionConfig.model_validate(kw)


def run(decider: Decider, *texts: str, start: float = 0.0, step: float = 1.0) -> list[Decision]:
    return [decider.offer(reading(t), start + i * step) for i, t in enumerate(texts)]


def actions(decisions: list[Decision]) -> list[str]:
    return [str(d.action) for d in decisions]


def first(decider: Decider, value: str, now: float = 0.0) -> None:
    """A meter whose first value is already accepted (as a persisted one is restored), for
    the rules that judge later readings; the first-value rule has tests of its own."""
    decider.set_value(value, now)


# ---- quality -------------------------------------------------------------------------------


def test_stable_count_then_publish_then_unchanged() -> None:
    d = Decider(cfg(stable_count=3, heartbeat=0))
    got = run(d, "0417", "0417", "0417", "0417")
    assert actions(got) == ["wait", "wait", "publish", "unchanged"]
    assert got[2].value == "0417" and got[2].streak == 3 and not got[2].forced
    assert d.value == "0417"


def test_a_different_reading_restarts_the_run() -> None:
    d = Decider(cfg(stable_count=2))
    assert actions(run(d, "0417", "0418", "0417", "0417")) == ["wait", "wait", "wait", "publish"]


@pytest.mark.parametrize(
    ("read", "code", "words"),
    [
        (Reading(()), Code.NO_DIGITS, "no digits"),
        (reading("04?7"), Code.NOT_A_DIGIT, "region 3 of 4"),
        (reading("0417", confidence=0.5), Code.LOW_CONFIDENCE, "regions 1, 2, 3, 4"),
        (reading("0417", confidence=math.nan), Code.LOW_CONFIDENCE, "confidence floor"),
        (reading("417"), Code.DIGIT_COUNT, "3 digits read, 4 expected"),
    ],
)
def test_bad_readings_are_rejected_with_a_reason(read: Reading, code: Code, words: str) -> None:
    d = Decider(cfg(expected_digits=4, min_confidence=0.6))
    got = d.offer(read, 0.0)
    assert got.action is Action.REJECT and not got.publish
    assert got.reason is not None and got.reason.code is code
    assert words in got.reason.message
    assert got.reason.value == read.value
    assert got.reason.as_json() == {"code": str(code), "message": got.reason.message,
                                    "value": read.value}


def test_one_low_digit_rejects_and_breaks_the_run() -> None:
    d = Decider(cfg(stable_count=2, min_confidence=0.8))
    mixed = Reading((digit(0), digit(4, 0.79), digit(1), digit(7)))
    assert d.offer(reading("0417"), 0).action is Action.WAIT
    assert d.offer(mixed, 1).reason is not None
    assert d.offer(reading("0417"), 2).action is Action.WAIT
    assert d.offer(reading("0417"), 3).action is Action.PUBLISH


# ---- change and heartbeat ----------------------------------------------------------------


def test_heartbeat_republishes_the_unchanged_value() -> None:
    d = Decider(cfg(stable_count=1, heartbeat=300))
    assert d.offer(reading("12"), 0).action is Action.PUBLISH
    assert d.offer(reading("12"), 299).action is Action.UNCHANGED
    beat = d.offer(reading("12"), 300)
    assert beat.action is Action.HEARTBEAT and beat.publish and beat.value == "12"
    assert d.offer(reading("12"), 301).action is Action.UNCHANGED
    assert d.offer(reading("12"), 600).action is Action.HEARTBEAT


def test_heartbeat_off() -> None:
    d = Decider(cfg(stable_count=1, heartbeat=0))
    assert actions(run(d, "12", "12", start=0, step=1e6)) == ["publish", "unchanged"]


def test_read_now_publishes_the_next_stable_value_even_unchanged() -> None:
    d = Decider(cfg(stable_count=2, heartbeat=0))
    run(d, "7", "7")
    d.request_publish()
    assert d.publish_requested
    assert d.offer(reading("8"), 10).action is Action.WAIT  # not confirmed: not forced out
    assert d.offer(reading("7"), 11).action is Action.WAIT
    forced = d.offer(reading("7"), 12)
    assert forced.action is Action.PUBLISH and forced.forced and forced.value == "7"
    assert not d.publish_requested
    assert d.offer(reading("7"), 13).action is Action.UNCHANGED


def test_set_value_publishes_and_becomes_the_reference() -> None:
    d = Decider(cfg(stable_count=1, meter=True, recover_after=3))
    run(d, "0417")
    forced = d.set_value("0500.5", 5)
    assert forced.action is Action.PUBLISH and forced.forced and forced.value == "0500.5"
    assert d.value == "0500.5"
    # The display still shows 0417: lower than the set value, so refused until it recovers.
    got = run(d, "0417", "0417", "0417", start=6)
    assert actions(got) == ["reject", "reject", "publish"]
    assert got[0].reason is not None and got[0].reason.code is Code.DECREASE
    assert got[2].recovered


@pytest.mark.parametrize("bad", ["", "12a", "1.2.3", "-5", "1e3", " 12", "9" * 65])
def test_set_value_refuses_what_is_not_a_meter_value(bad: str) -> None:
    d = Decider(cfg())
    with pytest.raises(ValueError, match="digits with an optional decimal point"):
        d.set_value(bad, 0)
    assert d.value is None


# ---- meter rules ----------------------------------------------------------------------------


def test_meter_refuses_a_decrease_then_recovers() -> None:
    d = Decider(cfg(stable_count=2, meter=True, recover_after=5, heartbeat=0))
    first(d, "0417")
    got = run(d, "0317", "0317", "0317", "0317", "0317", start=10)
    assert actions(got) == ["wait", "reject", "reject", "reject", "publish"]
    reason = got[1].reason
    assert reason is not None and reason.code is Code.DECREASE and reason.value == "0317"
    assert reason.message == ("0317 is lower than the accepted 0417: published once 5 "
                              "readings in a row count on from it (the accepted value was "
                              "misread, or the meter exchanged)")
    assert got[4].recovered and d.value == "0317"
    # With the jump rule off, any decrease is recovered into.
    e = Decider(cfg(stable_count=2, meter=True, recover_after=3, heartbeat=0, confirm_jump=0))
    first(e, "0417")
    assert actions(run(e, "0411", "0411", "0411", start=10)) == ["wait", "reject", "publish"]


def test_meter_recovers_from_a_value_far_too_high_while_it_counts() -> None:
    """86097 published for 06097 (a leading "0" misread in every frame for a while): the
    true values are a large decrease, and on an LCD that changes every frame or two, or a
    wheel meter with water running, they are never the same five times in a row. They
    count on from each other, so the meter is recovered after recover_after of them."""
    d = Decider(cfg(stable_count=1, meter=True, recover_after=5, heartbeat=0))
    first(d, "86097")
    got = run(d, "06097", "06098", "06098", "06100", "06101", "06102", start=10)
    assert actions(got) == ["reject"] * 4 + ["publish", "publish"]
    assert got[0].reason is not None and got[0].reason.code is Code.DECREASE
    assert got[4].recovered and not got[5].recovered and d.value == "06102"
    # A reading that does not count on from the run (back more than a step, or a leap of
    # confirm_jump steps) starts it anew, as does a refused frame.
    e = Decider(cfg(stable_count=1, meter=True, recover_after=3, heartbeat=0))
    first(e, "86097")
    got = run(e, "06097", "06098", "06080", "06081", "06300", "06301", "06302", start=10)
    assert actions(got) == ["reject"] * 6 + ["publish"] and e.value == "06302"
    f = Decider(cfg(stable_count=1, meter=True, recover_after=3, heartbeat=0))
    first(f, "86097")
    run(f, "06097", "06098", start=10)
    assert f.offer(reading("06099", confidence=0.2), 12).action is Action.REJECT
    assert actions(run(f, "06100", "06101", start=13)) == ["reject", "reject"]
    # With the jump rule off, only identical readings recover a decrease, as before.
    g = Decider(cfg(stable_count=1, meter=True, recover_after=3, heartbeat=0, confirm_jump=0))
    first(g, "86097")
    assert not any(x.publish for x in run(g, "06097", "06098", "06099", "06100", start=10))


def test_meter_waits_out_a_value_published_a_little_high() -> None:
    """0417 published when the meter stood at 0411 (its last wheel misread): the true
    readings below it are refused, never "recovered" into a decrease, however many agree;
    the meter is published again once it passes 0417."""
    d = Decider(cfg(stable_count=2, meter=True, recover_after=3, heartbeat=0))
    first(d, "0417")
    got = run(d, *["0411"] * 8, *["0415"] * 4, "0417", "0418", "0418", start=10)
    assert not any(g.publish for g in got[:-1]), actions(got)
    reason = got[1].reason
    assert reason is not None and reason.code is Code.DECREASE
    assert "by less than confirm_jump 10 steps" in reason.message
    assert "waiting for the meter to reach it" in reason.message
    assert got[-1].action is Action.PUBLISH and not got[-1].recovered and d.value == "0418"


def test_meter_last_digit_settling_back_is_not_a_decrease() -> None:
    """A last wheel read a step early (0418), then right (0417): the 0417 is not published
    as a decrease, nor "recovered" into one, and the meter goes on from there."""
    d = Decider(cfg(stable_count=2, meter=True, recover_after=3, heartbeat=0))
    first(d, "0418")
    got = run(d, *["0417"] * 8, start=10)
    assert all(g.action in (Action.WAIT, Action.UNCHANGED) for g in got), actions(got)
    assert d.value == "0418" and not any(g.reason for g in got)
    assert actions(run(d, "0419", "0419", start=30)) == ["wait", "publish"]
    # One step of the last digit is what a decimal value settles by too; two is a decrease.
    e = Decider(cfg(stable_count=1, meter=True, recover_after=9, heartbeat=0))
    first(e, "041.8")
    assert e.offer(reading("0417", decimals=1), 1).action is Action.UNCHANGED
    assert e.offer(reading("0416", decimals=1), 2).action is Action.REJECT


def test_meter_allows_a_decrease_when_told() -> None:
    d = Decider(cfg(stable_count=1, meter=True, allow_decrease=True))
    first(d, "0417")
    assert actions(run(d, "0411", "0410", start=1)) == ["publish", "publish"]


def test_meter_rate_counts_from_the_last_confirmation() -> None:
    d = Decider(cfg(stable_count=1, meter=True, max_rate=100.0, recover_after=3, heartbeat=0))
    first(d, "0417")
    # 36 s = 0.01 h: up to 1 unit.
    assert d.offer(reading("0418"), 36).action is Action.PUBLISH
    # Confirmed again at 72 s; a jump of 2 at 108 s is more than 0.01 h allows.
    assert d.offer(reading("0418"), 72).action is Action.UNCHANGED
    fast = d.offer(reading("0420"), 108)
    assert fast.reason is not None and fast.reason.code is Code.TOO_FAST
    assert "max_rate 100/h" in fast.reason.message
    # 0.02 h after the last confirmation (72 s) the same 2 units are plausible.
    assert d.offer(reading("0420"), 144).action is Action.PUBLISH


def test_meter_values_with_a_decimal_point_compare_as_numbers() -> None:
    d = Decider(cfg(stable_count=1, meter=True, recover_after=10))
    r = Reading(tuple(digit(int(c)) for c in "01234567"), decimals=3)
    assert r.value == "01234.567"
    first(d, r.value)
    assert d.offer(r, 0).action is Action.UNCHANGED
    lower = Reading(tuple(digit(int(c)) for c in "01234560"), decimals=3)
    got = d.offer(lower, 1)
    assert got.reason is not None and got.reason.code is Code.DECREASE
    higher = Reading(tuple(digit(int(c)) for c in "01240000"), decimals=3)
    assert d.offer(higher, 2).value == "01240.000"
    # Leading zeros are kept for publishing but do not make a value larger or smaller.
    assert d.offer(reading("1240"), 3).action is Action.PUBLISH


def test_meter_holds_back_a_misread_leading_digit() -> None:
    """02437 read as 03439 (the thousands wheel misread, the others counting on): a rise of
    1002 steps between two frames is a misread, not counting; it is never published and
    the true values go on being published around it."""
    d = Decider(cfg(stable_count=2, meter=True, heartbeat=0))
    first(d, "02437")
    got = run(d, "03439", "03439", "02439", "02439", "03440", "03440", start=10)
    assert actions(got) == ["wait", "reject", "wait", "publish", "wait", "reject"]
    reason = got[1].reason
    assert reason is not None and reason.code is Code.JUMP and reason.value == "03439"
    assert "1002 steps of the last digit above the accepted 02437" in reason.message
    assert "5 readings in a row" in reason.message
    assert d.value == "02439"


def test_meter_catches_up_with_a_jump_that_keeps_counting() -> None:
    """Restarted on a value from last week while water runs: the readings are never the
    same twice, but they count on from each other, so the new value is published after
    recover_after of them (identical readings would never come)."""
    d = Decider(cfg(stable_count=1, meter=True, recover_after=4, heartbeat=0))
    d.set_value("01000", 0)
    got = run(d, "01700", "01701", "01703", "01703", "01704", start=1)
    assert actions(got) == ["reject", "reject", "reject", "publish", "publish"]
    assert got[0].reason is not None and got[0].reason.code is Code.JUMP
    assert got[3].recovered and not got[4].recovered  # 01704 counts on from 01703
    # A last wheel settling a step back does not break the run; a reading that falls
    # further back, or leaps on again, starts it anew.
    e = Decider(cfg(stable_count=1, meter=True, recover_after=3, heartbeat=0))
    e.set_value("01000", 0)
    assert actions(run(e, "01700", "01699", "01700", start=1)) == ["reject", "reject", "publish"]
    f = Decider(cfg(stable_count=1, meter=True, recover_after=3, heartbeat=0))
    f.set_value("01000", 0)
    got = run(f, "01700", "01650", "01900", "01901", "01001", "01902", "01903", start=1)
    # 01650 is back 50, 01900 leaps 250: each starts a new run; 01001 (near the accepted
    # value: published at once) ends it.
    assert actions(got) == ["reject"] * 4 + ["publish", "reject", "reject"]
    assert f.value == "01001"


def test_meter_jump_counts_steps_of_the_last_digit() -> None:
    """02524 read as 02535 (the tens wheel misread, the last wheel right): 11 steps, more
    than the last wheel turns between two published values."""
    d = Decider(cfg(stable_count=1, meter=True, heartbeat=0))
    first(d, "02524")
    got = d.offer(reading("02535"), 1)
    assert got.reason is not None and got.reason.code is Code.JUMP
    assert d.offer(reading("02533"), 2).action is Action.PUBLISH  # 9 steps: counting
    d.set_value("01234.567", 3)
    litres = [Reading(tuple(digit(int(c)) for c in text), decimals=3)
              for text in ("01234576", "01234586")]
    assert d.offer(litres[0], 4).action is Action.PUBLISH  # 9 steps of a litre
    got = d.offer(litres[1], 5)  # 10 steps
    assert got.reason is not None and got.reason.code is Code.JUMP
    # 0 turns the rule off, and a decrease is still a decrease, not a jump.
    e = Decider(cfg(stable_count=1, meter=True, heartbeat=0, confirm_jump=0))
    assert actions(run(e, "02437", "93439")) == ["publish", "publish"]
    g = run(e, "02437", start=5)[0]
    assert g.reason is not None and g.reason.code is Code.DECREASE


def test_meter_jump_with_extended_resolution_counts_whole_steps_of_the_last_wheel() -> None:
    """521.0 -> 521.9 is the last wheel turning (9 tenths), 521.0 -> 522.5 one whole step
    and a half: the added tenth does not make every turn of the last wheel a jump, but
    a misread wheel left of it still is one."""

    def wheels(text: str, tenth: int) -> Reading:
        digits = tuple(int(c) for c in text)
        return Reading(tuple(digit(x) for x in digits),
                       composed=Composed(digits, tenth), extended=True)

    d = Decider(cfg(stable_count=1, meter=True, heartbeat=0))
    assert wheels("521", 0).value == "521.0"
    first(d, "521.0")
    assert d.offer(wheels("522", 5), 1).action is Action.PUBLISH
    got = d.offer(wheels("532", 6), 2)  # the tens wheel misread: 10.1 whole steps
    assert got.reason is not None and got.reason.code is Code.JUMP, got
    assert "101 steps" not in got.reason.message and "10.1 steps" in got.reason.message


def test_first_meter_value_waits_for_readings_that_count_on() -> None:
    """Nothing accepted yet: a misread that comes and goes (a leading "0" read as "8" in
    some frames) is not published as the first value; the first value is, once
    max(stable_count, recover_after) readings in a row count on from each other."""
    d = Decider(cfg(stable_count=2, meter=True, recover_after=5, heartbeat=0))
    texts = ["06096", "86096", "06097", "06097", "86097", "06098", "06098", "06099", "06099",
             "06100", "06100"]
    got = run(d, *texts)
    assert actions(got) == ["wait"] * 10 + ["publish"]  # waiting, not an error
    assert d.value == "06100" and not got[-1].recovered
    # The rate and the jump rule have nothing to judge it by: a first value is not too fast.
    e = Decider(cfg(stable_count=1, meter=True, max_rate=0.001, recover_after=3))
    assert actions(run(e, "99999", "99999", "99999")) == ["wait", "wait", "publish"]
    # Without the jump rule (confirm_jump = 0) the first stable value is taken as is, as
    # it is without the meter rules; so is a value set or restored (set_value).
    f = Decider(cfg(stable_count=1, meter=True, confirm_jump=0))
    assert f.offer(reading("86096"), 0).action is Action.PUBLISH
    g = Decider(cfg(stable_count=1, meter=False))
    assert g.offer(reading("86096"), 0).action is Action.PUBLISH


def test_parse_value() -> None:
    assert parse_value("01234.567") == Decimal("1234.567")
    with pytest.raises(ValueError, match=r"like 01234\.567"):
        parse_value("12,5")


# ---- properties ---------------------------------------------------------------------------

VALUES = ["0417", "0418", "0420", "0411", "417", "9999", "04?7", ""]

configs = st.builds(
    DecisionConfig,
    min_confidence=st.floats(0, 1),
    expected_digits=st.none() | st.integers(1, 5),
    stable_count=st.integers(1, 4),
    heartbeat=st.sampled_from([0.0, 5.0, 50.0]),
    meter=st.booleans(),
    allow_decrease=st.booleans(),
    max_rate=st.none() | st.floats(1.0, 1e5),
    recover_after=st.integers(1, 6),
    confirm_jump=st.sampled_from([0, 1, 3, 100]),
)

confidences = st.floats(allow_nan=True, allow_infinity=True) | st.floats(0.5, 1.0)


@st.composite
def readings(draw: st.DrawFn) -> Reading:
    """Mostly a few plausible meter values, sometimes anything at all."""
    if draw(st.integers(0, 9)) < 8:
        text = draw(st.sampled_from(VALUES))
        conf = draw(st.sampled_from([0.99, 0.99, 0.99, 0.7, 0.3]))
        return reading(text, conf)
    regions = draw(st.lists(st.tuples(st.none() | st.integers(0, 9), confidences), max_size=8))
    return Reading(tuple(digit(d, c) for d, c in regions), decimals=draw(st.integers(0, 8)))


@st.composite
def timelines(draw: st.DrawFn) -> list[tuple[Reading, float, str]]:
    """Runs of the same reading, as a camera over a slow meter gives them."""
    steps: list[tuple[Reading, float, str]] = []
    for _ in range(draw(st.integers(0, 12))):
        read = draw(readings())
        for _ in range(draw(st.integers(1, 7))):
            dt = draw(st.sampled_from([0.0, 1.0, 10.0, 60.0, 600.0]) | st.floats(0, 1000))
            kind = draw(st.sampled_from(["offer"] * 9 + ["force"]))
            steps.append((read, dt, kind))
    return steps


def _last_step(number: Decimal) -> Decimal:
    """One step of the last digit as written: 1 for 0417, 0.001 for 1234.567."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(1).scaleb(exponent)


meter_configs = configs.map(
    lambda c: c.model_copy(update={"meter": True, "expected_digits": None, "min_confidence": 0.5})
)
timeline = timelines()


@settings(max_examples=300, deadline=None)
@given(config=configs | meter_configs, steps=timeline)
def test_properties_over_arbitrary_readings(
    config: DecisionConfig, steps: list[tuple[Reading, float, str]]
) -> None:
    d = Decider(config)
    now = 0.0
    offered: list[Reading] = []
    last_pub: tuple[Decimal, float] | None = None
    for read, dt, kind in steps:
        now += dt
        if kind == "force":
            d.request_publish()
        got = d.offer(read, now)  # never raises
        offered.append(read)
        if got.action is Action.REJECT:
            assert got.reason is not None and got.reason.message
            continue
        assert got.reason is None
        if not got.publish:
            continue
        event(f"{got.action}{' forced' if got.forced else ''}")
        assert got.value is not None and got.value == d.value
        # Published only after stable_count identical, complete readings in a row.
        last_k = offered[-config.stable_count :]
        assert len(last_k) == config.stable_count
        assert all(r.complete and r.value == got.value for r in last_k)
        number = Decimal(got.value)
        if config.meter and last_pub is not None and got.action is Action.PUBLISH:
            prev, prev_at = last_pub
            # A decrease or a jump only after enough agreeing readings.
            allowed = math.inf
            if config.max_rate is not None:
                allowed = config.max_rate * (now - prev_at) / 3600
            # The margin keeps float rounding from deciding; real jumps here are >= 1.
            too_fast = float(number - prev) > allowed * (1 + 1e-9) + 1e-9
            broke_rules = (number < prev and not config.allow_decrease) or too_fast
            if broke_rules:
                event("published after recovering")
                assert got.recovered
                need = max(config.stable_count, config.recover_after)
                assert len(offered) >= need
                tail = offered[-need:]
                if number < prev and config.confirm_jump:
                    # Never a decrease of less than a turn of the last wheel; a larger one
                    # after readings in a row each as far below (they need not be identical).
                    assert prev - number >= config.confirm_jump * _last_step(number)
                    assert all(r.complete for r in tail)
                    for r in tail:
                        v = Decimal(r.value)
                        assert prev - v >= config.confirm_jump * _last_step(v)
                else:
                    assert all(r.value == got.value for r in tail)
            jump = config.confirm_jump * _last_step(number)
            if config.confirm_jump and number - prev >= jump and not broke_rules:
                # A jump only after enough readings in a row, each as far above.
                event("jump published after readings counting on")
                assert got.recovered
                need = max(config.stable_count, config.recover_after)
                tail = offered[-need:]
                assert len(tail) == need and all(r.complete for r in tail)
                for r in tail:
                    v = Decimal(r.value)
                    assert v - prev >= config.confirm_jump * _last_step(v)
        last_pub = (number, now)


@settings(max_examples=200, deadline=None)
@given(config=configs, steps=timeline)
def test_heartbeat_never_repeats_a_value_too_soon(
    config: DecisionConfig, steps: list[tuple[Reading, float, str]]
) -> None:
    d = Decider(config)
    now = 0.0
    last: dict[str, float] = {}
    for read, dt, _ in steps:
        now += dt
        got = d.offer(read, now)
        if got.action is Action.HEARTBEAT:
            assert got.value is not None
            assert config.heartbeat > 0 and now - last[got.value] >= config.heartbeat
        if got.publish and got.value is not None:
            last[got.value] = now


def test_quality_codes_are_the_readings_own_faults() -> None:
    """QUALITY_CODES (what wheels.evaluate counts as a frame refused in itself) holds the
    codes rule 1 gives, and none of the meter rules'."""
    from digitd.edge.vision.decide import QUALITY_CODES

    d = Decider(cfg(stable_count=1, meter=True, expected_digits=4, heartbeat=0))
    first(d, "0417")
    quality = [d.offer(reading("0417", confidence=0.2), 1), d.offer(reading("041"), 2),
               d.offer(Reading(()), 3),
               d.offer(Reading((digit(0), digit(None), digit(1), digit(7))), 4)]
    meter = [d.offer(reading("0317"), 5), d.offer(reading("0917"), 6)]
    assert [q.reason.code for q in quality if q.reason] == [
        Code.LOW_CONFIDENCE, Code.DIGIT_COUNT, Code.NO_DIGITS, Code.NOT_A_DIGIT]
    assert all(q.reason.code in QUALITY_CODES for q in quality if q.reason)
    assert [m.reason.code for m in meter if m.reason] == [Code.DECREASE, Code.JUMP]
    assert not any(m.reason.code in QUALITY_CODES for m in meter if m.reason)
    assert Code.WHEELS_DISAGREE in QUALITY_CODES
