"""A counter's value from its wheels' positions, the way the counter itself carries.

A wheel of a mechanical counter turns to its next digit while the wheel to its
right passes 9 -> 0; before that it shows its digit, maybe a little turned. So a
wheel that looks half-way between 3 and 4 is a 3 if the wheel to its right is at
9.5 (the carry is under way) and a 4 if the wheel to its right is already at 0.1.
Reading right to left, each wheel's digit is the one its position is nearest to
once the turn its neighbour's carry explains is taken off.

``transition_start`` says where in its neighbour's turn a wheel starts moving:
9.0 for most counters (it moves while the neighbour goes 9 -> 0), 0 for counters
whose wheels all turn continuously (each wheel a tenth of its neighbour). The
digits of an LCD jump (``jumps``): each shows its nearest digit. Taken as a wheel,
an LCD "6" the model places at 5.9 would be a 5 (a wheel at 5.9 has not reached
6), as one in ten of the lcd_pb dev cells would.

Pointer dials after the wheels (``dials_from``: the index of the first) are geared
continuously: each stands a tenth of its finer neighbour's turn past its digit (a
x0.01 dial at 2.95 while the x0.001 one reads 1.0 has passed 3). The last wheel is
carried by the first dial the way a wheel is by its neighbour, at ``transition_start``
of the dial's turn. The finest dial shows the digit its needle has passed (9.95 is
just before 0), not its position to the tenth as a wheel does.

Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..reading import Composed

DEFAULT_TRANSITION_START = 9.0


def _nearest(x: float) -> int:
    return math.floor(x + 0.5)


def _signed(x: float) -> float:
    """``x`` digits taken round the dial to -5 .. 5 (9.8 past 0 is -0.2)."""
    return ((x + 5.0) % 10.0) - 5.0


def expected_turn(right: float, transition_start: float = DEFAULT_TRANSITION_START) -> float:
    """How far (0..1) a wheel has turned towards its next digit when its right
    neighbour stands at ``right`` (0 <= right < 10)."""
    if transition_start >= 10.0:
        return 0.0
    return min(1.0, max(0.0, (right - transition_start) / (10.0 - transition_start)))


def compose(
    positions: Sequence[float],
    transition_start: float = DEFAULT_TRANSITION_START,
    jumps: bool = False,
    dials_from: int | None = None,
) -> Composed:
    """The digits a counter shows, from each wheel's position (0 <= p < 10), left to right.

    The last wheel's digit is the one it has reached (3.9 is still a 3, its tenth
    9); positions are taken to the tenth first, so 3.96 is a 4. With ``jumps``
    (an LCD) every digit is the nearest one and there is no tenth. Each wheel's
    ``misfit`` is how far it stands from where its right neighbour's carry puts it.
    """
    if not positions:
        return Composed((), 0)
    if jumps:
        return Composed(tuple(_nearest(p) % 10 for p in positions), 0, has_tenth=False)
    tenths = _nearest(positions[-1] * 10.0) % 100
    digits = [0] * len(positions)
    misfit = [0.0] * len(positions)
    digits[-1] = tenths // 10
    right = tenths / 10.0  # where the wheel to the right stands, continuously
    if dials_from is not None and dials_from < len(positions):
        # The finest dial shows the digit its needle has passed: 9.95 is just before 0.
        right = positions[-1] % 10.0
        digits[-1] = math.floor(right) % 10
    for i in range(len(positions) - 2, -1, -1):
        geared = dials_from is not None and i >= dials_from
        turn = right / 10.0 if geared else expected_turn(right, transition_start)
        digit = _nearest(positions[i] - turn) % 10
        # How far the wheel stands from where the carry puts it (0 .. 0.5): a wheel
        # half-turned beside a neighbour that is nowhere near 9 -> 0 cannot be.
        misfit[i] = round(abs(_signed(positions[i] - turn - digit)), 3)
        digits[i] = digit
        if geared:
            # A dial's finer neighbours say where it stands better than its own needle.
            right = digit + min(turn, 0.99)
        else:
            # Where this wheel stands past its digit, for its own left neighbour.
            past = _signed(positions[i] - digit)
            right = digit + min(max(past, 0.0), 0.99)
    return Composed(tuple(digits), tenths % 10, misfit=tuple(misfit),
                    has_tenth=dials_from is None)
