"""Between a frame's reading and a publish: is this reading good enough, stable, plausible?

Pure logic: no I/O, no clock. The caller passes ``now`` (seconds on one clock,
``time.time()`` if accepted values are persisted across restarts, else
``time.monotonic()``) so every rule can be tested with exact times.

Rules, in order, for each :meth:`Decider.offer`:

1. Quality: every region must be read as a digit, each at or above
   ``min_confidence``, and there must be ``expected_digits`` of them when set;
   counter wheels must agree with each other's carry (``wheel_tolerance``), and every
   pointer dial the value carries must be read (``dial_unread``). A failing reading is
   rejected and breaks the run of identical readings.
2. Stability: the same value ``stable_count`` times in a row before it counts. With
   dials, readings that count on from each other agree (water running turns the finest
   dial every frame), and the meter rules' step is the last wheel's.
3. Change: a stable value equal to the accepted one is not republished, except
   for the heartbeat (every ``heartbeat`` s) or when a publish was requested.
4. Meter (``meter``): no decrease unless ``allow_decrease``; no increase faster
   than ``max_rate`` units/hour since the accepted value was last confirmed. A
   value these rules reject is accepted anyway once it has been read
   ``max(stable_count, recover_after)`` times in a row, so one misread that got
   through can never freeze the meter. A value one step of its last digit below
   the accepted one is the last wheel settling (read a tenth early, or jittering
   at a digit's edge): it is neither published nor a fault, and never "recovered"
   into a decrease; the meter catches up by itself.
5. Jump (``meter``, ``confirm_jump``): a rise of ``confirm_jump`` steps of the last
   digit or more (more than the last wheel turns between two published values) is what
   one misread wheel left of it gives (02524 read 02535, 02437 read 03439), not a
   counter counting. With ``extended_resolution`` the step is that of the last wheel,
   not of its added tenth. It is published only once
   ``max(stable_count, recover_after)`` readings in a row each count on from the one
   before (no lower than it by more than the settling step, and less than
   ``confirm_jump`` steps above it) while all stay that far above the accepted value.
   Unlike the other meter rules these readings need not be identical, so a meter that
   moves while the daemon was away is caught up with even as its last wheel turns.
   With ``confirm_jump`` set, a decrease of fewer steps than it is never recovered
   into: the accepted value was read a little high (a last wheel misread), and the meter
   passes it within one turn of its last wheel. A decrease of that many steps or more
   (a misread published far too high, a meter exchanged) is recovered into after the same
   run as a jump: ``max(stable_count, recover_after)`` readings in a row that count on
   from each other, or as many identical ones; a meter that keeps counting (an LCD that
   changes every frame or two, water running) would otherwise never show that many
   identical readings and stay on the wrong value.
6. First value (``meter``, ``confirm_jump``): with nothing accepted yet (no value
   persisted, none set) there is nothing to judge a reading against, so the first value
   waits (``wait``, not an error) for the same run: ``max(stable_count, recover_after)``
   readings in a row that count on from each other. A misread that comes and goes (a
   leading "0" read as "8" in one frame of three) is not published as a meter's first
   value, which the true values would then only undo as a decrease.

Values are compared as decimal numbers (``"0417"`` and ``"417.0"`` are equal for
the meter rules) but kept as the read strings, leading zeros included.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from ..config import DecisionConfig
from ..reading import DialRead, DigitRead, Reading

logger = logging.getLogger(__name__)

VALUE_PATTERN = re.compile(r"^[0-9]{1,64}(\.[0-9]{1,64})?$")
MAX_VALUE_CHARS = 64


def below_floor(read: DigitRead | DialRead, min_confidence: float) -> bool:
    """A region or dial read at a confidence under the floor (or at none a number can show)."""
    return not (math.isfinite(read.confidence) and read.confidence >= min_confidence)


def apply_floor(reading: Reading, min_confidence: float) -> Reading:
    """The reading as the floor leaves it, for whoever shows readings rather than
    publishing them (``recognize``, ``snapshot``, the evaluations): a digit under
    ``min_confidence`` is not reported (its wheel position stays, as the daemon's
    decisions keep it). Readers never apply a floor themselves, so every consumer
    sees the same reading and the daemon's rejection names the low confidence."""
    if not any(d.digit is not None and below_floor(d, min_confidence) for d in reading.digits):
        return reading
    digits = tuple(replace(d, digit=None) if d.digit is not None and below_floor(d, min_confidence)
                   else d for d in reading.digits)
    return replace(reading, digits=digits)


class Action(StrEnum):
    PUBLISH = "publish"  # a new value (or a forced publish): send it
    HEARTBEAT = "heartbeat"  # the unchanged value, due again: send it
    UNCHANGED = "unchanged"  # confirmed, nothing to send
    WAIT = "wait"  # readable, not yet read stable_count times in a row
    REJECT = "reject"  # refused: see the reason


class Code(StrEnum):
    NO_DIGITS = "no_digits"
    NOT_A_DIGIT = "not_a_digit"
    LOW_CONFIDENCE = "low_confidence"
    DIGIT_COUNT = "digit_count"
    WHEELS_DISAGREE = "wheels_disagree"
    DIAL_UNREAD = "dial_unread"
    DECREASE = "decrease"
    TOO_FAST = "too_fast"
    JUMP = "jump"


# The codes of a frame's reading refused itself (rule 1), before any meter rule judges
# its value.
QUALITY_CODES = frozenset({Code.NO_DIGITS, Code.NOT_A_DIGIT, Code.LOW_CONFIDENCE,
                           Code.DIGIT_COUNT, Code.WHEELS_DISAGREE, Code.DIAL_UNREAD})


@dataclass(frozen=True)
class Rejection:
    """Why a reading was refused: a code for machines, a sentence for people."""

    code: Code
    message: str
    value: str  # what was read (refused regions left out)

    def as_json(self) -> dict[str, object]:
        return {"code": str(self.code), "message": self.message, "value": self.value}


@dataclass(frozen=True)
class Decision:
    action: Action
    value: str | None  # publish/heartbeat/unchanged: the accepted value; wait/reject: the read one
    reading: Reading | None = None  # None for set_value
    reason: Rejection | None = None  # set for REJECT
    streak: int = 0  # identical readings in a row so far
    forced: bool = False  # set_value or request_publish made this publish
    recovered: bool = False  # accepted despite the meter rules, after agreeing readings

    @property
    def publish(self) -> bool:
        return self.action in (Action.PUBLISH, Action.HEARTBEAT)


@dataclass
class _Run:
    """Readings in a row far from the accepted value (above it: a jump; below: a large
    decrease) that count on from each other."""

    last: Decimal  # the highest so far: the next must count on from it
    count: int


@dataclass
class _Accepted:
    value: str
    number: Decimal
    confirmed_at: float  # last time a stable reading agreed: the base of the rate rule
    published_at: float


def parse_value(value: str) -> Decimal:
    """The number a value string stands for; ValueError naming the expected form."""
    if not VALUE_PATTERN.match(value):
        raise ValueError(
            f"value {value[:80]!r}: expected digits with an optional decimal point, "
            "like 01234.567"
        )
    return Decimal(value)


class Decider:
    """Turns per-frame readings into publish decisions. Not thread-safe: one caller."""

    def __init__(self, cfg: DecisionConfig) -> None:
        self.cfg = cfg
        self._candidate: str | None = None
        self._streak = 0
        self._accepted: _Accepted | None = None
        self._jump: _Run | None = None
        self._drop: _Run | None = None
        self._force = False

    @property
    def value(self) -> str | None:
        """The accepted (last published) value, if any."""
        return self._accepted.value if self._accepted else None

    @property
    def publish_requested(self) -> bool:
        return self._force

    def request_publish(self) -> None:
        """Publish the next stable, accepted value even if it did not change ("read now").

        Stability and meter rules still apply: a forced publish is a fresh reading,
        never an unconfirmed one.
        """
        self._force = True

    def set_value(self, value: str, now: float) -> Decision:
        """Make ``value`` the accepted one (the "set meter value" command) and publish it.

        Later readings are judged against it; if the display keeps showing
        something else, the meter rules recover to that after agreeing readings.
        Also the way to restore a value persisted across a restart (ignore the
        returned decision then).
        """
        number = parse_value(value)
        self._accepted = _Accepted(value, number, confirmed_at=now, published_at=now)
        self._candidate, self._streak = None, 0
        self._jump = self._drop = None
        self._force = False
        return Decision(Action.PUBLISH, value, forced=True)

    def offer(self, reading: Reading, now: float) -> Decision:
        """Judge one frame's reading at time ``now`` (seconds)."""
        problem = self._check_quality(reading)
        if problem is not None:
            self._candidate, self._streak = None, 0
            self._jump = self._drop = None
            return Decision(Action.REJECT, problem.value, reading, problem)
        value = reading.value
        digit_step = _digit_step(reading, value)
        self._follow_runs(value, digit_step)
        if value == self._candidate or (reading.dials_used and
                                         self._counts_on_candidate(value, reading)):
            self._candidate, self._streak = value, self._streak + 1
        else:
            self._candidate, self._streak = value, 1
        if self._streak < self.cfg.stable_count or self._first_unconfirmed():
            return Decision(Action.WAIT, value, reading, streak=self._streak)
        return self._decide_stable(value, reading, now, digit_step)

    # ---- rules ---------------------------------------------------------------------------

    def _check_quality(self, reading: Reading) -> Rejection | None:
        cfg = self.cfg
        value = reading.value
        if not reading.digits and not reading.dials:
            return Rejection(Code.NO_DIGITS, "no digits found in the frame", value)
        unread = [i for i in reading.unread_dials if i < reading.dials_used]
        if unread or (reading.dials and not reading.dials_used):
            i = unread[0] if unread else 0
            return Rejection(
                Code.DIAL_UNREAD,
                f"dial {i + 1} of {len(reading.dials)} not read: "
                f"{reading.dials[i].refused or 'no position'}",
                value,
            )
        refused = [i for i, d in enumerate(reading.digits) if not d.read]
        if refused:
            return Rejection(
                Code.NOT_A_DIGIT,
                f"{_regions(refused)} of {len(reading.digits)} not read as a digit",
                value,
            )
        low = [i for i, d in enumerate(reading.digits) if below_floor(d, cfg.min_confidence)]
        low_dials = [i for i, d in enumerate(reading.dials[: reading.dials_used])
                     if below_floor(d, cfg.min_confidence)]
        if low_dials and not low:
            worst = min(reading.dials[i].confidence for i in low_dials)
            dials = ", ".join(str(i + 1) for i in low_dials)
            return Rejection(
                Code.LOW_CONFIDENCE,
                f"dial {dials} below the confidence floor {cfg.min_confidence:.2f} "
                f"(lowest {worst:.2f})",
                value,
            )
        if low:
            worst = min(reading.digits[i].confidence for i in low)
            return Rejection(
                Code.LOW_CONFIDENCE,
                f"{_regions(low)} below the confidence floor "
                f"{cfg.min_confidence:.2f} (lowest {worst:.2f})",
                value,
            )
        if (cfg.expected_digits is not None and reading.digits
                and len(reading.digits) != cfg.expected_digits):
            return Rejection(
                Code.DIGIT_COUNT,
                f"{len(reading.digits)} digits read, {cfg.expected_digits} expected",
                value,
            )
        if reading.disagreement is not None:
            return Rejection(Code.WHEELS_DISAGREE, reading.disagreement, value)
        if not VALUE_PATTERN.match(value):  # only a broken recogniser gets here
            return Rejection(Code.NOT_A_DIGIT, f"value {value!r} is not a number", value)
        return None

    def _check_meter(self, value: str, now: float, digit_step: Decimal) -> Rejection | None:
        cfg, acc = self.cfg, self._accepted
        if not cfg.meter or acc is None:
            return None
        number = Decimal(value)
        if number < acc.number and not cfg.allow_decrease:
            message = f"{value} is lower than the accepted {acc.value}"
            if self._small_decrease(number, digit_step):
                message += (f", by less than confirm_jump {cfg.confirm_jump} steps: the accepted "
                            "value was read a little high; waiting for the meter to reach it")
            elif cfg.confirm_jump:
                message += (f": published once {self._need} readings in a row count on from it "
                            "(the accepted value was misread, or the meter exchanged)")
            return Rejection(Code.DECREASE, message, value)
        if cfg.max_rate is not None and number > acc.number:
            hours = max(0.0, now - acc.confirmed_at) / 3600.0
            allowed = Decimal(repr(cfg.max_rate * hours))
            if number - acc.number > allowed:
                return Rejection(
                    Code.TOO_FAST,
                    f"{value} is {number - acc.number} above the accepted {acc.value} "
                    f"after {hours * 60:.1f} min; max_rate {cfg.max_rate:g}/h allows "
                    f"{float(allowed):.6g}",
                    value,
                )
        if self._jumps(number, digit_step):
            steps = (number - acc.number) / digit_step
            return Rejection(
                Code.JUMP,
                f"{value} is {steps:f} steps of the last digit above the accepted {acc.value} "
                f"(confirm_jump {cfg.confirm_jump}): published once "
                f"{self._need} readings in a row count on from it",
                value,
            )
        return None

    def _small_decrease(self, number: Decimal, digit_step: Decimal) -> bool:
        """Below the accepted value by less than ``confirm_jump`` steps: less than a turn of
        the last wheel, which the meter makes up by itself."""
        acc, jump = self._accepted, self.cfg.confirm_jump
        return acc is not None and bool(jump) and acc.number - number < jump * digit_step

    @property
    def _need(self) -> int:
        """Readings in a row that confirm what the meter rules refused: a jump, a first
        value, a larger decrease."""
        return max(self.cfg.stable_count, self.cfg.recover_after)

    def _jumps(self, number: Decimal, digit_step: Decimal) -> bool:
        """``number`` is at least ``confirm_jump`` steps above the accepted value, or there
        is none yet (a first value is a jump from nothing)."""
        acc, jump = self._accepted, self.cfg.confirm_jump
        if not self.cfg.meter or not jump:
            return False
        return acc is None or number - acc.number >= jump * digit_step

    def _first_unconfirmed(self) -> bool:
        """A meter's first value without ``max(stable_count, recover_after)`` readings in a
        row that count on from each other."""
        if self._accepted is not None or not self.cfg.meter or not self.cfg.confirm_jump:
            return False
        return self._jump is None or self._jump.count < self._need

    def _drops(self, number: Decimal, digit_step: Decimal) -> bool:
        """``number`` is ``confirm_jump`` steps or more below the accepted value: more than
        the last wheel turns, so not a value read a little high."""
        acc, jump = self._accepted, self.cfg.confirm_jump
        if not self.cfg.meter or not jump or self.cfg.allow_decrease or acc is None:
            return False
        return acc.number - number >= jump * digit_step

    def _follow_runs(self, value: str, digit_step: Decimal) -> None:
        """Count the readings in a row that jumped, or dropped far, and count on from each
        other."""
        number = Decimal(value)
        self._jump = (self._count_on(self._jump, number, digit_step)
                      if self._jumps(number, digit_step) else None)
        self._drop = (self._count_on(self._drop, number, digit_step)
                      if self._drops(number, digit_step) else None)

    def _count_on(self, run: _Run | None, number: Decimal, digit_step: Decimal) -> _Run:
        """``run`` with ``number`` added if it counts on from it (no lower than its highest
        by more than the settling step, less than ``confirm_jump`` steps above), else a new
        run."""
        most = self.cfg.confirm_jump * digit_step
        if run is not None and run.last - _step(number) <= number < run.last + most:
            run.last, run.count = max(run.last, number), run.count + 1
            return run
        return _Run(number, 1)

    def _counts_on_candidate(self, value: str, reading: Reading) -> bool:
        """With dials, a run of readings agrees while it counts on from the one before
        (water running turns the finest dial every frame): no lower than it by more than
        one step of the finest dial, and less than one step of the first dial above (more
        water than runs between two frames; a first dial misread by one is not)."""
        if self._candidate is None:
            return False
        number, before = Decimal(value), Decimal(self._candidate)
        finest = _step(number)
        return before - finest <= number < before + finest.scaleb(reading.dials_used - 1)

    def _settling(self, value: str) -> bool:
        """A meter value one step of its last digit below the accepted one."""
        acc = self._accepted
        if not self.cfg.meter or self.cfg.allow_decrease or acc is None:
            return False
        number = Decimal(value)
        return acc.number - _step(number) <= number < acc.number

    def _decide_stable(
        self, value: str, reading: Reading, now: float, digit_step: Decimal
    ) -> Decision:
        acc = self._accepted
        streak = self._streak
        if acc is not None and value == acc.value:
            acc.confirmed_at = max(acc.confirmed_at, now)
            if self._force:
                return self._publish(Action.PUBLISH, reading, now, forced=True)
            if self.cfg.heartbeat > 0 and now - acc.published_at >= self.cfg.heartbeat:
                return self._publish(Action.HEARTBEAT, reading, now)
            if now < acc.published_at:  # the clock stepped back: restart the heartbeat
                acc.published_at = now
            return Decision(Action.UNCHANGED, value, reading, streak=streak)
        if acc is not None and self._settling(value):
            acc.confirmed_at = max(acc.confirmed_at, now)
            return Decision(Action.UNCHANGED, acc.value, reading, streak=streak)
        problem = self._check_meter(value, now, digit_step)
        recovered = False
        if problem is not None:
            # A jump or a large decrease is confirmed by readings that count on from it (or
            # identical ones), the others by identical ones; a small decrease never is: the
            # meter catches up instead.
            agreeing = streak
            if problem.code is Code.JUMP:
                agreeing = self._jump.count if self._jump is not None else 0
            elif problem.code is Code.DECREASE and self._small_decrease(Decimal(value),
                                                                        digit_step):
                agreeing = 0
            elif problem.code is Code.DECREASE and self._drop is not None:
                agreeing = max(streak, self._drop.count)
            if agreeing < self._need:
                return Decision(Action.REJECT, value, reading, problem, streak=streak)
            recovered = True
            logger.warning(
                "accepting %s after %d agreeing readings although %s", value, agreeing,
                problem.message,
            )
        self._accepted = _Accepted(value, Decimal(value), confirmed_at=now, published_at=now)
        self._jump = self._drop = None
        forced = self._force
        self._force = False
        return Decision(
            Action.PUBLISH, value, reading, streak=streak, forced=forced, recovered=recovered
        )

    def _publish(
        self, action: Action, reading: Reading, now: float, forced: bool = False
    ) -> Decision:
        assert self._accepted is not None
        self._accepted.published_at = now
        self._force = False
        return Decision(action, self._accepted.value, reading, streak=self._streak, forced=forced)


def _step(number: Decimal) -> Decimal:
    """One step of a value's last digit: 1 for 0417, 0.001 for 01234.567."""
    exponent = number.as_tuple().exponent
    return Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)


def _digit_step(reading: Reading, value: str) -> Decimal:
    """One step of the last digit read: the value's last digit, or with extended resolution
    the digit before the added tenth (a wheel's tenth moves too fast to count jumps in),
    or with dials the last wheel's (the dials turn continuously: a jump is a wheel's)."""
    step = _step(Decimal(value))
    composed = reading.composed
    if reading.extended and composed is not None and composed.has_tenth:
        return step * 10
    if reading.dials_used and reading.digits:
        return step.scaleb(reading.dials_used)
    return step


def _regions(indices: list[int]) -> str:
    """1-based positions, left to right, as people count digits on a display."""
    word = "region" if len(indices) == 1 else "regions"
    return f"{word} " + ", ".join(str(i + 1) for i in indices)
