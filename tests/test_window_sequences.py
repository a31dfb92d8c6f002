"""How window_eval scores whole readings: what the daemon would publish, and what one
photo alone shows (as ``digitd recognize`` reads it)."""

from __future__ import annotations

from digitd.edge.config import LocateConfig
from digitd.edge.reading import Reading
from digitd.edge.vision.reader import wheel_reading
from digitd.edge.vision.wheel import WheelEstimate
from digitd.train.window_sequences import _Counter, _Tally

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
    return wheel_reading(ests, BOXES, LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * 3), 0.6)


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
