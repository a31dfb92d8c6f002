"""Plain data passed between the stages: what was read in one frame."""

from __future__ import annotations

from dataclasses import dataclass, field

BoxXYWH = tuple[int, int, int, int]


def shown_position(position: float, places: int) -> float:
    """A wheel position rounded for showing: 9.996 to one place is 0.0, not 10.0 (a
    position is always below 10)."""
    return round(round(position, places) % 10.0, places)


@dataclass(frozen=True)
class Composed:
    """The counter's digits left to right and the tenth the last wheel has turned."""

    digits: tuple[int, ...]
    tenth: int  # 0..9: how far the last wheel has turned past its digit
    has_tenth: bool = True  # False for an LCD: its digits jump, there is no tenth to add
    # Per wheel, left to right: how far (0..0.5 digit) it stands from where the carry of
    # the wheel to its right puts it (0 for the last wheel and for an LCD).
    misfit: tuple[float, ...] = ()

    def worst_misfit(self) -> tuple[int, float] | None:
        """The wheel (0-based) that stands furthest from where the carry puts it."""
        if not self.misfit:
            return None
        i = max(range(len(self.misfit)), key=lambda k: self.misfit[k])
        return i, self.misfit[i]

    def value(self, decimals: int = 0, extended: bool = False) -> str:
        """The reading as a string: ``decimals`` digits after the point, plus the tenth if
        ``extended`` (one more decimal than the boxes show) and there is one."""
        text = "".join(str(d) for d in self.digits)
        places = decimals
        if extended and self.has_tenth:
            text += str(self.tenth)
            places += 1
        if places and len(text) > places:
            return f"{text[:-places]}.{text[-places:]}"
        if places and len(text) == places:  # dials alone: all of it after the point
            return f"0.{text}"
        return text


@dataclass(frozen=True)
class Prediction:
    """What the model says about one crop (wherever it came from)."""

    digit: int | None  # the model's best digit; None: its best guess is "not a digit"
    confidence: float  # probability of the chosen class
    scores: tuple[float, ...]  # the ten digit probabilities
    not_a_digit: float = 0.0  # probability of "not a digit" (0 for a 10-class model)
    alternatives: tuple[tuple[int, float], ...] = ()  # next most likely digits, best first


@dataclass(frozen=True)
class DigitRead:
    """One located region: where it is, what the model said, and what is read there."""

    digit: int | None  # None: "not a digit", below the confidence floor, or a dim cell
    box: BoxXYWH  # x, y, w, h in frame pixels
    prediction: Prediction
    # Meter-window model only: the wheel's position in digits (3.5: half-way from 3 to 4);
    # None for an empty cell. A wheel between two digits has a position but no digit.
    position: float | None = None

    @property
    def confidence(self) -> float:
        return self.prediction.confidence

    @property
    def scores(self) -> tuple[float, ...]:
        return self.prediction.scores

    @property
    def not_a_digit(self) -> float:
        return self.prediction.not_a_digit

    @property
    def read(self) -> bool:
        """Something was read here: a digit, or a wheel's position."""
        return self.digit is not None or self.position is not None

    def brief(self) -> str:
        """``7:0.99`` for a digit, ``-@3.5:0.97`` for a wheel between two digits (its
        position), ``?:0.40`` for a region read as neither."""
        if self.position is not None:
            shown = (f"{self.digit if self.digit is not None else '-'}"
                     f"@{shown_position(self.position, 1):.1f}")
        else:
            shown = str(self.digit) if self.digit is not None else "?"
        return f"{shown}:{self.confidence:.2f}"

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "scores": [round(s, 4) for s in self.scores],
        }
        if self.position is not None:
            out["position"] = shown_position(self.position, 2)
        return out


@dataclass(frozen=True)
class DialRead:
    """One analog pointer dial: where its needle points, or why it was not read."""

    box: BoxXYWH  # x, y, w, h in frame pixels
    position: float | None  # 0 <= position < 10 (9.95 is just before 0); None: refused
    confidence: float
    direction: str  # "cw" or "ccw": how its scale is numbered (found, or as configured)
    angle: float  # the needle, degrees clockwise from 12 o'clock
    hub: tuple[float, float] = (0.0, 0.0)  # where the hub was found, in the box's pixels
    refused: str | None = None  # why there is no position
    direction_sure: bool = True  # False: "auto" could not tell the direction, cw taken

    @property
    def read(self) -> bool:
        return self.position is not None

    def brief(self) -> str:
        """``8.9:0.97`` for a dial read, ``?:0.00`` for one refused."""
        shown = "?" if self.position is None else f"{shown_position(self.position, 1):.1f}"
        return f"{shown}:{self.confidence:.2f}"

    def as_json(self) -> dict[str, object]:
        return {
            "position": None if self.position is None else shown_position(self.position, 2),
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "direction": self.direction,
            "angle": round(self.angle, 1),
            **({"refused": self.refused} if self.refused else {}),
        }


@dataclass(frozen=True)
class Reading:
    """Everything read from one frame, left to right."""

    digits: tuple[DigitRead, ...]
    decimals: int = 0
    # auto mode: regions the model called "not a digit" (kept for drawing and reports)
    rejected: tuple[DigitRead, ...] = ()  # the last N digits are after the decimal point
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Meter wheels: the counter's digits composed from the positions (through roll-overs),
    # and whether the value carries the last wheel's tenth as one more decimal.
    composed: Composed | None = None
    extended: bool = False
    # Set when the wheels cannot all be right: one stands further from where its
    # neighbour's carry puts it than ``[locate] wheel_tolerance`` (a misread wheel).
    disagreement: str | None = None
    # Pointer dials after the wheels, most significant first; those read go into
    # ``composed`` as further decimals (``dials_used`` of them, from the first).
    dials: tuple[DialRead, ...] = ()
    dials_used: int = 0

    @property
    def complete(self) -> bool:
        """Every region was read as a digit or a wheel position (nothing refused), and
        every dial the value is to carry."""
        if not self.digits and not self.dials_used:
            return False
        return all(d.read for d in self.digits) and all(
            d.read for d in self.dials[: self.dials_used])

    @property
    def unread_dials(self) -> tuple[int, ...]:
        """The dials (0-based) not read, most significant first."""
        return tuple(i for i, d in enumerate(self.dials) if not d.read)

    @property
    def value(self) -> str:
        """The accepted digits left to right; refused regions are left out."""
        if self.composed is not None and self.complete:
            return self.composed.value(self.decimals, self.extended)
        text = "".join(str(d.digit) for d in self.digits if d.digit is not None)
        if self.decimals and self.complete and len(text) > self.decimals:
            return f"{text[: -self.decimals]}.{text[-self.decimals :]}"
        return text

    @property
    def extended_value(self) -> str | None:
        """Wheels: the value with the last wheel's tenth as one more decimal."""
        if self.composed is None or not self.complete or not self.composed.has_tenth:
            return None
        return self.composed.value(self.decimals, extended=True)

    @property
    def confidence(self) -> float:
        """The lowest confidence of any region or dial read (0 when nothing was found)."""
        return min((*(d.confidence for d in self.digits),
                    *(d.confidence for d in self.dials[: self.dials_used])), default=0.0)
