"""The wire contract: what digitd publishes on ``<base>/state``, ``/error`` and ``/stats``.

One typed class per topic, built by its constructors, turned into JSON by :func:`encode`
and nowhere else: the daemon builds them, the publisher sends them, the tests read them
back. The field names and order are the contract in the README's topic table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..reading import Reading, shown_position


def utc_timestamp(when: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2025-01-31T12:00:00.123+00:00``."""
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DigitOut:
    """One digit of a state message; wheels add their ``position``."""

    digit: int | None
    confidence: float
    position: float | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"digit": self.digit, "confidence": round(self.confidence, 4)}
        if self.position is not None:
            out["position"] = shown_position(self.position, 2)
        return out


@dataclass(frozen=True)
class DialOut:
    """One pointer dial of a state message: its position (None: not read)."""

    position: float | None
    confidence: float

    def as_json(self) -> dict[str, object]:
        return {"position": None if self.position is None else shown_position(self.position, 2),
                "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class State:
    """``<base>/state``: the value, its digits, the lowest confidence, when; retained."""

    value: str
    digits: tuple[DigitOut, ...]
    confidence: float
    timestamp: datetime = field(default_factory=_now)
    extended_value: str | None = None  # counter wheels: the last wheel's tenth added
    dials: tuple[DialOut, ...] = ()  # pointer dials, most significant first
    frame: int | None = None
    heartbeat: bool | None = None  # republished unchanged after decision.heartbeat
    recovered: bool = False  # a meter value accepted after agreeing readings
    source: str | None = None  # "set_value command" when a person set it

    @classmethod
    def of_reading(cls, reading: Reading, *, value: str | None = None,
                   timestamp: datetime | None = None, frame: int | None = None,
                   heartbeat: bool | None = None, recovered: bool = False) -> State:
        """A reading as published; ``value`` when the decision settled on another."""
        return cls(
            value=reading.value if value is None else value,
            digits=tuple(DigitOut(d.digit, d.confidence, d.position) for d in reading.digits),
            confidence=reading.confidence,
            timestamp=timestamp or _now(),
            extended_value=reading.extended_value,
            dials=tuple(DialOut(d.position, d.confidence) for d in reading.dials),
            frame=frame,
            heartbeat=heartbeat,
            recovered=recovered,
        )

    @classmethod
    def set_by_command(cls, value: str) -> State:
        """The meter value a ``set_value`` command gave."""
        return cls(value=value, digits=(), confidence=1.0, source="set_value command")

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "value": self.value,
            "digits": [d.as_json() for d in self.digits],
            "confidence": round(self.confidence, 4),
            "timestamp": utc_timestamp(self.timestamp),
        }
        if self.extended_value is not None:
            out["extended_value"] = self.extended_value
        if self.dials:
            out["dials"] = [d.as_json() for d in self.dials]
        if self.frame is not None:
            out["frame"] = self.frame
        if self.heartbeat is not None:
            out["heartbeat"] = self.heartbeat
        if self.recovered:
            out["recovered"] = True
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class Error:
    """``<base>/error``: a short code, a readable reason, when, and what else helps."""

    error: str
    reason: str
    extra: Mapping[str, object] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=_now)

    def as_json(self) -> dict[str, object]:
        return {"error": self.error, "reason": self.reason,
                "timestamp": utc_timestamp(self.timestamp), **self.extra}


@dataclass(frozen=True)
class Stats:
    """``<base>/stats``: rates since the last stats message, counters since the start."""

    fps: float
    frame_ms: float
    inference_ms: float
    frames: int
    frames_dropped: int
    published: int
    rejected: int
    errors: int
    uptime_s: float
    camera: Mapping[str, object]
    mqtt: Mapping[str, object]
    storage_error: str | None = None
    timestamp: datetime = field(default_factory=_now)
    # A meter read with dials: the flow (in flow_unit), and whether it has not stopped
    # for [decision] leak_hours (None: not watched).
    flow: float | None = None
    flow_unit: str | None = None
    leak: bool | None = None

    def as_json(self) -> dict[str, object]:
        meter: dict[str, object] = {}
        if self.flow_unit is not None:
            meter["flow"] = None if self.flow is None else round(self.flow, 3)
            meter["flow_unit"] = self.flow_unit
        if self.leak is not None:
            meter["leak"] = self.leak
        return {
            "fps": round(self.fps, 2),
            "frame_ms": round(self.frame_ms, 2),
            "inference_ms": round(self.inference_ms, 3),
            "frames": self.frames,
            "frames_dropped": self.frames_dropped,
            "published": self.published,
            "rejected": self.rejected,
            "errors": self.errors,
            "uptime_s": round(self.uptime_s, 1),
            "camera": dict(self.camera),
            "mqtt": dict(self.mqtt),
            "storage_error": self.storage_error,
            **meter,
            "timestamp": utc_timestamp(self.timestamp),
        }


Payload = State | Error | Stats


def encode(payload: Payload) -> bytes:
    """The one serialiser: compact UTF-8 JSON; ValueError for anything JSON cannot hold."""
    what = type(payload).__name__.lower()
    data = payload.as_json()
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} payload is not plain JSON: {exc}") from None
    return text.encode("utf-8")
