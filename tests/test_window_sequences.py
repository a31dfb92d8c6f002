"""How wheels.evaluate scores whole readings: what the daemon would publish, and what one
photo alone shows (as ``digitd recognize`` reads it)."""

from __future__ import annotations

import pytest

from digitd.edge.config import LocateConfig
from digitd.edge.reading import Reading
from digitd.edge.vision.reader import wheel_reading
from digitd.edge.vision.wheel import WheelEstimate
from digitd.train.wheels.sequences import _Counter, _Tally

BOXES = [(0, 0, 1, 1)] * 3


def _frame(*positions: float | None) -> Reading:
    """Three boxes; a position of None is a box read as "not a digit"."""
    ests = []
    for p in positions:
        scores = [0.0] * 10
        if p is None:
            ests.append(WheelEstimate(0.0, tuple(scores), not_a_digit=0.9))
        else:
            scores[round(p) % 10] = 0.95
            ests.append(WheelEstimate(p, tuple(scores), not_a_digit=0.01, confidence=0.95))
    return wheel_reading(ests, BOXES, LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * 3))


def test_one_photo_counts_what_the_frame_alone_shows() -> None:
    """A frame's own value is scored whether or not the daemon would publish it (the first
    value waits for five frames); a box read as nothing gives no value; a wrong value is
    given but not right."""
    tally = _Tally()
    counter = _Counter()
    counter.offer(_frame(1.0, 2.0, 3.0), 0, "123", tally)  # right, not yet published
    counter.offer(_frame(1.0, 2.0, 4.0), 1, "123", tally)  # a value, wrong
    counter.offer(_frame(1.0, None, 3.0), 2, "123", tally)  # no value
    counter.offer(_frame(1.0, 2.0, 3.4), 3, "123", tally)  # the last wheel's tenth: still 123
    figures = tally.figures()
    assert tally.published == 0
    assert figures["frames"] == 4
    assert figures["one_photo_given"] == 3 / 4
    assert figures["one_photo_exact"] == 2 / 4


def _cells(*scores: float | None, display: str) -> Reading:
    """Boxes read as whole digits 1, 2, 3 ... whose best digit scores ``scores`` (None: a
    cell read as "not a digit")."""
    ests = []
    for k, s in enumerate(scores):
        digit_scores = [0.0] * 10
        if s is None:
            ests.append(WheelEstimate(0.0, tuple(digit_scores), not_a_digit=0.9))
            continue
        digit_scores[k + 1] = s
        ests.append(WheelEstimate(float(k + 1), tuple(digit_scores), not_a_digit=0.0,
                                  confidence=s))
    boxes = [(0, 0, 1, 1)] * len(scores)
    locate = LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * len(scores), display=display)
    return wheel_reading(ests, boxes, locate)


def test_only_leading_weak_lcd_cells_are_unlit_places() -> None:
    """On an LCD a leading cell the model scores under 0.5 is an unlit place, like an
    empty one; the same cell after a digit stays in the reading (with its confidence,
    for the daemon's floor to judge), and wheels keep every guess."""
    lead = _cells(0.3, None, 0.9, 0.9, display="lcd")
    assert lead.value == "34" and len(lead.rejected) == 2
    assert all(r.digit is None and r.position is None for r in lead.rejected)
    inner = _cells(0.9, 0.3, 0.9, display="lcd")
    assert inner.value == "123" and not inner.rejected
    assert inner.digits[1].confidence == 0.3
    wheels = _cells(0.3, 0.9, display="wheels")
    assert wheels.value == "12" and not wheels.rejected
    confident = _cells(0.5, 0.9, display="lcd")  # at the threshold: a digit
    assert confident.value == "12"


def test_an_lcd_counters_leading_zeros_can_be_shown_unlit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``unlit_leading``: an LCD meter's counters show their leading zeros with the
    meter's unlit cells (the errata's blanks) and every other place with a lit crop of
    its digit; without it no unlit cell is drawn."""
    import numpy as np

    from digitd.edge.vision.classifier import WindowClassifier
    from digitd.train.wheels.data import (
        load_errata,
        load_meter_digits,
        positions_with_errata,
        window_examples,
    )
    from digitd.train.wheels.sequences import evaluate_sequences
    from tests.meter_strips import METER_CROPS

    dev = load_meter_digits(str(METER_CROPS), "dev")
    pb = dev.subset(np.array([g == "lcd/lcd_pb" for g in dev.groups]))
    labels = positions_with_errata(pb, load_errata())
    unlit = set(np.flatnonzero(labels < 0).tolist())
    assert unlit  # the committed crops hold some
    clf = WindowClassifier()
    frames: list[list[int]] = []
    real_estimate = clf.estimate

    def spy(x: np.ndarray) -> list[WheelEstimate]:
        frames.append([next(i for i, row in enumerate(inputs) if np.array_equal(row, r))
                       for r in x])
        return real_estimate(x)

    inputs = window_examples(pb, None)
    monkeypatch.setattr(clf, "estimate", spy)
    shown = evaluate_sequences(clf, pb, inputs, 20, 1, labels_as=labels, unlit_leading=True)
    assert shown["frames"] == len(frames) > 0
    leading_unlit = 0
    for picks in frames:
        values = [labels[i] for i in picks]
        lit = [i not in unlit for i in picks]
        # unlit cells only in front, never in the last place, and never after a lit one
        assert lit[-1] and all(lit[k:] == [True] * (len(lit) - k) for k in range(len(lit))
                               if lit[k])
        leading_unlit += lit.count(False)
        assert all(v >= 0 for v, on in zip(values, lit, strict=True) if on)
    assert leading_unlit > 0
    frames.clear()
    evaluate_sequences(clf, pb, inputs, 20, 1, labels_as=labels)
    assert frames and not any(i in unlit for picks in frames for i in picks)


def test_far_too_high_raises_the_leftmost_wheel_not_at_nine() -> None:
    from digitd.train.wheels.sequences import far_too_high

    assert far_too_high("06097") == "96097"
    assert far_too_high("09999") == "99999"
    assert far_too_high("99989") == "99999"  # ten steps of the last digit high
    assert far_too_high("99998") is None  # only the last wheel left: not far too high


def test_counters_recover_from_a_value_published_far_too_high() -> None:
    """The committed dev crops' counters, each with a value published far too high at
    frame 10: on the LCD meters, whose value changes nearly every frame, every counter
    gets its true value published again once five readings count on from each other
    (never sooner), while five identical readings in a row, all that recovered such a
    decrease before, come for few of them."""
    from digitd.edge.vision.classifier import WindowClassifier
    from digitd.train.wheels.data import (
        load_errata,
        load_meter_digits,
        positions_with_errata,
        window_examples,
    )
    from digitd.train.wheels.sequences import evaluate_recovery
    from tests.meter_strips import METER_CROPS

    dev = load_meter_digits(str(METER_CROPS), "dev")
    got = evaluate_recovery(WindowClassifier(), dev, window_examples(dev, None), 60, 1,
                            labels_as=positions_with_errata(dev, load_errata()),
                            unlit_leading=True)
    assert got["need"] == 5 and got["frames_left"] == 30 and got["counters"] > 0
    lcds = ["lcd/lcd_pb", "powermeter/LandisGyrT330_C", "watermeter/Metrona"]
    for name in lcds:
        m = got["per_meter"][name]
        assert m["counters"] > 0 and m["counting_on"]["recovered"] == 1.0, (name, m)
        assert m["counting_on"]["median_frames"] >= 5
        assert m["identical_only"]["recovered"] < 0.5, (name, m)
    assert got["identical_only"]["recovered"] < got["counting_on"]["recovered"]
