"""Plain data passed between the stages: what was read in one frame."""

from __future__ import annotations

from dataclasses import dataclass, field

BoxXYWH = tuple[int, int, int, int]


@dataclass(frozen=True)
class DigitRead:
    """One located region and what the model made of it."""

    digit: int | None  # None: "not a digit" or below the confidence floor
    confidence: float  # probability of the chosen class
    box: BoxXYWH  # x, y, w, h in frame pixels
    scores: tuple[float, ...]  # the ten digit scores
    not_a_digit: float = 0.0
    alternatives: tuple[tuple[int, float], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "box": list(self.box),
            "scores": [round(s, 4) for s in self.scores],
        }


@dataclass(frozen=True)
class Reading:
    """Everything read from one frame, left to right."""

    digits: tuple[DigitRead, ...]
    decimals: int = 0
    # auto mode: regions the model called "not a digit" (kept for drawing and reports)
    rejected: tuple[DigitRead, ...] = ()  # the last N digits are after the decimal point
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every region was read as a digit (nothing refused)."""
        return bool(self.digits) and all(d.digit is not None for d in self.digits)

    @property
    def value(self) -> str:
        """The accepted digits left to right; refused regions are left out."""
        text = "".join(str(d.digit) for d in self.digits if d.digit is not None)
        if self.decimals and self.complete and len(text) > self.decimals:
            return f"{text[: -self.decimals]}.{text[-self.decimals :]}"
        return text

    @property
    def confidence(self) -> float:
        """The lowest confidence of any region (0 when nothing was found)."""
        return min((d.confidence for d in self.digits), default=0.0)
