"""Flow and leaks from a meter's accepted values over time.

A meter read to the litre (wheels and dials) shows water running as a value that
rises from one reading to the next. :class:`FlowWatch` keeps the accepted values of
the last few minutes and gives the rate (units a minute), and whether the water has
stopped at all lately: a household's flow is zero for long stretches every day (at
night at least), so a flow that has not stopped for ``leak_hours`` is a leak (a
running toilet, a dripping tap) — the reading nobody looks at until the bill comes.

Pure logic: the caller passes ``now`` (seconds, one clock).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

# The rate is taken over this much of the latest history.
FLOW_WINDOW_S = 300.0
# "Stopped" is this long without a rise of more than one step of the finest digit.
STILL_S = 600.0


class FlowWatch:
    """Feed every accepted value (:meth:`offer`); ask for :meth:`flow` and :meth:`leak`."""

    def __init__(self, leak_hours: float, now: float) -> None:
        self.leak_s = leak_hours * 3600.0
        self._samples: deque[tuple[float, Decimal]] = deque()
        self._still_at = now  # nothing is known before the start: no leak yet
        self._step: Decimal | None = None

    def offer(self, value: str, now: float) -> None:
        """An accepted value (published, or confirmed unchanged) at ``now``."""
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        self._step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
        if self._samples and now < self._samples[-1][0]:
            self._samples.clear()  # the clock stepped back: start again
        self._samples.append((now, number))
        keep = max(FLOW_WINDOW_S, STILL_S)
        # Keep one sample at or before the window's start, the base of the rates.
        while len(self._samples) > 1 and self._samples[1][0] <= now - keep:
            self._samples.popleft()
        base = self._base(now - STILL_S)
        if base is not None and number - base[1] <= self._step:
            self._still_at = now

    def _base(self, since: float) -> tuple[float, Decimal] | None:
        """The latest sample at or before ``since``, if the history reaches back so far."""
        found = None
        for sample in self._samples:
            if sample[0] <= since:
                found = sample
            else:
                break
        return found

    def flow(self, now: float) -> float | None:
        """Units a minute over the last :data:`FLOW_WINDOW_S` (None: no recent values)."""
        if len(self._samples) < 2 or now - self._samples[-1][0] > FLOW_WINDOW_S:
            return None
        base = self._base(now - FLOW_WINDOW_S) or self._samples[0]
        last = self._samples[-1]
        span = last[0] - base[0]
        if span <= 0:
            return None
        return max(0.0, float(last[1] - base[1])) * 60.0 / span

    def leak(self, now: float) -> bool | None:
        """True when the flow has not stopped for ``leak_hours`` (None: leak watch off)."""
        if self.leak_s <= 0:
            return None
        return now - self._still_at >= self.leak_s

