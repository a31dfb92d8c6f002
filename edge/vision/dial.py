"""Analog pointer dials: where the needle of a small 0-9 scale points, by geometry alone.

A water meter shows the fractions of a m³ on small dials, a needle over a round scale
with 0 at the top; neighbouring dials often turn opposite ways. Nothing here is
learned, so that it holds for cameras and makes of meter never seen. What it assumes
is physical: the needle is a long thin stroke, strongly red or dark, running out
from a hub near the middle of the box; its tip is the long end (a counterweight
behind the hub is short); the scale's ten ticks and numerals sit evenly round the hub.

The steps, on the crop scaled to :data:`SIDE` pixels:

1. Needle ink: redness (red minus the larger of green and blue, over brightness) for
   red needles; darkness under the face's own brightness for black ones.
2. Rays from a few hub candidates round the middle, in every direction: the needle is
   the ray that stays on ink the whole way. A tail behind the hub is short, so the
   best ray points at the tip; a star-shaped flow indicator has several equal rays.
3. The angle refined by a line fitted to the ink along that ray.
4. The scale's own turn (a meter mounted a little askew) from the ten-fold pattern
   of ticks and numerals round the hub, taken off the needle's angle.
5. The direction of numbering from the numerals' ink: on a clockwise scale a "1"
   (little ink) sits at 36° and a "9" (much ink) at 324°; likewise 2/8, 4/6, 3/7.

Pure numpy and OpenCV; the sampling grids are built once per size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Direction = Literal["cw", "ccw"]
F32 = npt.NDArray[np.float32]

SIDE = 48  # the crop is read at this size: enough for a needle 1 px wide, and quick
_HUB_REACH = 0.1  # the hub may lie this far (of the side) off the box's centre
_HUB_STEPS = 5  # hub candidates per axis
_ANGLES = 90  # coarse ray directions (4° apart)
_RAY = (0.08, 0.27)  # rays run between these radii (of the side): past the hub, short of the ring
_RAY_SAMPLES = 6
_RING = (0.22, 0.4)  # the band of numerals and ticks (of the side)
_RING_ANGLES = 120
_RING_RADII = 6

# Evidence (set on the tuning styles only).
_MIN_RED = 0.3  # mean redness along the best ray for a red needle
_MIN_DARK = 0.22  # mean darkness along the best ray for a dark needle
_MIN_CONTRAST = 0.16  # best ray over the typical ray
_STAR_RATIO = 0.7  # a second ray this strong, away from the first: a star, not a needle
_GLARE_SHARE = 0.3  # this share of the middle blown out: a flash's glare
_DIRECTION_MARGIN = 0.04  # the numerals' ink must lean this much to tell the direction
_ROTATION_LIMIT = 8.0  # a scale turned more than this (degrees) is not believed


@dataclass(frozen=True)
class DialEstimate:
    """Where one dial's needle points."""

    position: float | None  # 0 <= position < 10 in scale units (9.95 is just before 0)
    confidence: float  # 0..1, how sure the position is within 0.3 of the truth
    direction: Direction  # the direction of numbering used (found, or as given)
    angle: float  # the needle, degrees clockwise from 12 o'clock in the crop (0 <= a < 360)
    hub: tuple[float, float]  # the hub's centre found, crop pixels (x, y)
    refused: str | None = None  # why there is no position
    direction_sure: bool = True  # False when "auto" could not tell and fell back to cw


@dataclass(frozen=True)
class _Grids:
    """Sampling maps for one side length, built once."""

    xx: F32  # pixel coordinates, (side, side)
    yy: F32
    ray_x: F32  # (hubs * angles, samples): points of every ray from every hub candidate
    ray_y: F32
    hubs: F32  # (hubs, 2)
    ring_dx: F32  # (radii, angles): the numeral band's points round a hub at (0, 0)
    ring_dy: F32
    ring_angle: F32  # (angles,) degrees clockwise from 12 o'clock
    middle: npt.NDArray[np.bool_]  # the box's middle, where glare is looked for
    prior: F32  # (hubs, 1): a little against hubs far from the middle
    hub_steps: F32  # how far along the needle's line the hub is looked for
    cos10: F32  # (angles,): the ten-fold pattern round the ring
    sectors: F32  # (10, angles): the ring's angles near each numeral's place
    sin10: F32


@lru_cache(maxsize=4)
def _grids(side: int) -> _Grids:
    c = (side - 1) / 2.0
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    steps = np.linspace(-_HUB_REACH, _HUB_REACH, _HUB_STEPS) * side
    hubs = np.array([(c + dx, c + dy) for dy in steps for dx in steps], np.float32)
    theta = np.radians(np.arange(_ANGLES) * (360.0 / _ANGLES))
    radii = np.linspace(_RAY[0], _RAY[1], _RAY_SAMPLES) * side
    ux, uy = np.sin(theta), -np.cos(theta)  # clockwise from 12 o'clock, y down
    ray_x = hubs[:, 0, None, None] + ux[None, :, None] * radii[None, None, :]
    ray_y = hubs[:, 1, None, None] + uy[None, :, None] * radii[None, None, :]
    ring_theta = np.radians(np.arange(_RING_ANGLES) * (360.0 / _RING_ANGLES))
    ring_r = np.linspace(_RING[0], _RING[1], _RING_RADII) * side
    middle = (xx - c) ** 2 + (yy - c) ** 2 < (0.3 * side) ** 2
    return _Grids(
        xx=xx, yy=yy,
        ray_x=ray_x.reshape(-1, _RAY_SAMPLES).astype(np.float32),
        ray_y=ray_y.reshape(-1, _RAY_SAMPLES).astype(np.float32),
        hubs=hubs,
        ring_dx=(ring_r[:, None] * np.sin(ring_theta)[None, :]).astype(np.float32),
        ring_dy=(-ring_r[:, None] * np.cos(ring_theta)[None, :]).astype(np.float32),
        ring_angle=np.degrees(ring_theta).astype(np.float32),
        middle=middle,
        hub_steps=(np.linspace(-1.0, 1.0, 9) * _HUB_REACH * side).astype(np.float32),
        sectors=(np.abs((np.degrees(ring_theta)[None, :] - 36.0 * np.arange(10)[:, None]
                         + 180.0) % 360.0 - 180.0) < 14.0).astype(np.float32),
        cos10=np.cos(10 * ring_theta).astype(np.float32),
        sin10=np.sin(10 * ring_theta).astype(np.float32),
        prior=(0.02 * ((hubs[:, 0] - c) ** 2 + (hubs[:, 1] - c) ** 2)
               / (_HUB_REACH * side) ** 2)[:, None].astype(np.float32),
    )


def _circular(a: float) -> float:
    """An angle difference taken to -180 .. 180."""
    return (a + 180.0) % 360.0 - 180.0


def position_of(angle: float, direction: Direction) -> float:
    """The scale reading of a needle at ``angle`` (degrees clockwise from 12 o'clock)."""
    turn = angle if direction == "cw" else 360.0 - angle
    position = round((turn / 36.0) % 10.0, 3) % 10.0  # 9.9996 rounds to 10.0
    return float(position)


def _inks(crop: npt.NDArray[np.uint8], side: int) -> tuple[F32 | None, F32, F32]:
    """Redness (None for grey), darkness under the face, and brightness, at ``side`` px."""
    import cv2

    # Linear from at most twice the side: area averaging of a large crop without its cost.
    h, w = crop.shape[:2]
    if h > 2 * side or w > 2 * side:
        crop = np.asarray(cv2.resize(crop, (2 * side, 2 * side), interpolation=cv2.INTER_AREA),
                          np.uint8)
    small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if small.ndim == 2:
        value = small
        red = None
    else:
        b, g, r = small[..., 0], small[..., 1], small[..., 2]
        gb = np.maximum(g, b)
        value = np.maximum(gb, r)
        red = np.maximum(r - gb, 0.0) / (value + 24.0)
    # The face's brightness: a high quantile of the middle, so that the needle, numerals
    # and shadows are darker than it wherever the light falls.
    flat = value.ravel()
    face = float(np.partition(flat, int(flat.size * 0.85))[int(flat.size * 0.85)])
    dark = np.clip((face - value) / max(face, 24.0), 0.0, 1.0)
    return red, dark, value


def _rays(ink: F32, g: _Grids) -> npt.NDArray[np.float32]:
    """Mean ink along every ray from every hub candidate: (hubs, angles)."""
    import cv2

    samples = cv2.remap(ink, g.ray_x, g.ray_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sums = np.add.reduce(samples, axis=1)
    return np.asarray(sums.reshape(len(g.hubs), _ANGLES) * (1.0 / _RAY_SAMPLES), np.float32)


@dataclass(frozen=True)
class _Needle:
    hub: tuple[float, float]
    angle: float  # coarse, degrees
    strength: float  # mean ink along the best ray
    contrast: float  # over the typical ray from the same hub
    rival: float  # the strongest ray well away from it (and from its tail), as a share


def _find_needle(ink: F32, g: _Grids) -> _Needle:
    votes = _rays(ink, g)
    # Rays from hubs along the needle's own line tie; the box is cut round the dial, so
    # the hub nearer its middle wins.
    k = int((votes - g.prior).argmax())
    h, a = divmod(k, _ANGLES)
    row = votes[h]
    best = float(row[a])
    typical = float(row.mean())
    # Away from the best ray by more than 30° on either side, its tail's direction included:
    # a needle has one strong ray (its tail is short), a star four to eight alike.
    off = np.abs((np.arange(_ANGLES) - a + _ANGLES // 2) % _ANGLES - _ANGLES // 2)
    away = off > (30 * _ANGLES) // 360
    rival = float((row[away].max() - typical) / max(best - typical, 1e-6))
    hub = (float(g.hubs[h, 0]), float(g.hubs[h, 1]))
    return _Needle(hub, a * 360.0 / _ANGLES, best, best - typical, rival)


def _refine(ink: F32, g: _Grids, needle: _Needle, side: int) -> tuple[float, tuple[float, float]]:
    """The needle's angle from a weighted line through the ink near the coarse ray, and the
    hub moved onto that line."""
    a = math.radians(needle.angle)
    ux, uy = math.sin(a), -math.cos(a)
    flat = ink.ravel()
    # Only ink well above the face's texture or a shadow's edge may pull the line.
    idx = np.flatnonzero(flat > 0.5 * needle.strength)
    xs, ys, v = g.xx.ravel()[idx], g.yy.ravel()[idx], flat[idx]
    dx, dy = xs - needle.hub[0], ys - needle.hub[1]
    along = dx * ux + dy * uy
    across = dy * ux - dx * uy
    band = (np.abs(across) < 0.07 * side) & (along > 0.05 * side) & (along < 0.36 * side)
    xs, ys, w = xs[band], ys[band], v[band]
    total = float(w.sum())
    if total <= 0:
        return needle.angle, needle.hub
    mx = float(w @ xs) / total
    my = float(w @ ys) / total
    ex, ey = xs - mx, ys - my
    cxx, cyy, cxy = float(w @ (ex * ex)), float(w @ (ey * ey)), float(w @ (ex * ey))
    theta = 0.5 * math.atan2(2 * cxy, cxx - cyy)  # the main axis, image coordinates
    vx, vy = math.cos(theta), math.sin(theta)
    if vx * ux + vy * uy < 0:
        vx, vy = -vx, -vy
    angle = math.degrees(math.atan2(vx, -vy)) % 360.0
    if abs(_circular(angle - needle.angle)) > 8.0:  # the fit ran off onto something else
        return needle.angle, needle.hub
    # The hub: the point of the fitted line nearest the coarse hub.
    t = (needle.hub[0] - mx) * vx + (needle.hub[1] - my) * vy
    return angle, (mx + t * vx, my + t * vy)


def _ring(dark: F32, g: _Grids, hub: tuple[float, float], along: tuple[float, float],
          keep: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.float32], tuple[float, float]]:
    """Dark ink of the numeral band per angle (``_RING_ANGLES``), round the hub moved along
    the needle's line to where the ticks and numerals look most evenly spaced.

    The needle fixes the hub's place across its line but hardly along it; the scale's
    ten-fold pattern is sharpest round its own centre."""
    import cv2

    steps = g.hub_steps
    hx = np.float32(hub[0]) + steps * np.float32(along[0])
    hy = np.float32(hub[1]) + steps * np.float32(along[1])
    mx = g.ring_dx[None] + hx[:, None, None]
    my = g.ring_dy[None] + hy[:, None, None]
    n, radii, angles = mx.shape
    ring = cv2.remap(dark, mx.reshape(n * radii, angles), my.reshape(n * radii, angles),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    per_angle = np.add.reduce(ring.reshape(n, radii, angles), axis=1) * np.float32(keep)
    # The ten-fold component (ticks and numerals every 36°) is strongest round the centre.
    c, s = per_angle @ g.cos10, per_angle @ g.sin10
    best = int((c * c + s * s).argmax())
    return per_angle[best], (float(hx[best]), float(hy[best]))


def _scale_turn(ring: npt.NDArray[np.float32], g: _Grids, keep: npt.NDArray[np.bool_]) -> float:
    """How far (degrees, clockwise) the scale is turned: the phase of the ten-fold pattern
    its ticks and numerals make round the hub; 0 when there is no clear pattern."""
    ink = (ring - float(ring[keep].mean())) * np.float32(keep)
    c = complex(float(ink @ g.cos10), -float(ink @ g.sin10))
    spread = float(np.abs(ink).sum())
    if spread <= 0 or abs(c) < 0.15 * spread:
        return 0.0
    turn = -math.degrees(math.atan2(c.imag, c.real)) / 10.0
    return turn if abs(turn) <= _ROTATION_LIMIT else 0.0


# Pairs of numerals (on a clockwise scale, numeral k sits at 36k°) and which one holds
# more ink: 9 over 1, 8 over 2, 6 over 4, 3 over 7.
_PAIRS = ((1, 9), (2, 8), (4, 6), (7, 3))


def _numbering(ring: npt.NDArray[np.float32], g: _Grids, turn: float,
               needle: float) -> float:
    """How clearly the numerals say clockwise (> 0) or counter-clockwise (< 0)."""
    shift = round(turn * _RING_ANGLES / 360.0)
    ink = g.sectors @ np.roll(ring, -shift)  # per numeral place, 0..9 clockwise
    lean = 0.0
    total = 0.0
    for light, heavy in _PAIRS:
        # The needle (and its tail) hides the numerals it crosses: skip those pairs.
        if any(abs(_circular(36.0 * k + turn - needle - flip)) < 24.0
               for k in (light, heavy) for flip in (0.0, 180.0)):
            continue
        lean += float(ink[heavy] - ink[light])
        total += float(ink[heavy] + ink[light])
    return lean / total if total > 0 else 0.0


def _refusal(angle: float, hub: tuple[float, float], direction: Direction, why: str,
             sure: bool = True) -> DialEstimate:
    return DialEstimate(None, 0.0, direction, angle % 360.0, hub, why, sure)


def read_dial(crop: npt.NDArray[np.uint8],
              direction: Literal["auto", "cw", "ccw"] = "auto") -> DialEstimate:
    """Read one dial. ``crop``: the dial's box cut from the frame, BGR HxWx3 uint8 (or HxW
    grey: then only dark needles are looked for). ``direction``: how the scale is numbered,
    or "auto" to tell it from the numerals."""
    if crop.ndim not in (2, 3) or crop.shape[0] < 8 or crop.shape[1] < 8:
        raise ValueError(f"a dial crop must be HxW or HxWx3 and at least 8x8, not {crop.shape}")
    if crop.ndim == 3 and crop.shape[2] == 4:
        crop = crop[:, :, :3]
    h, w = crop.shape[:2]
    sx, sy = w / SIDE, h / SIDE
    g = _grids(SIDE)
    red, dark, value = _inks(np.ascontiguousarray(crop), SIDE)
    centre = ((w - 1) / 2.0, (h - 1) / 2.0)
    fallback: Direction = "cw" if direction == "auto" else direction

    needle = None
    ink = dark
    if red is not None:
        found = _find_needle(red, g)
        if found.strength >= _MIN_RED and found.contrast >= _MIN_CONTRAST:
            needle, ink = found, red
    if needle is None:
        found = _find_needle(dark, g)
        if found.strength >= _MIN_DARK and found.contrast >= _MIN_CONTRAST:
            needle = found
    glare = float((value[g.middle] >= 250.0).mean())
    if needle is None:
        why = "flash glare covers the dial" if glare >= _GLARE_SHARE else "no needle found"
        return _refusal(0.0, centre, fallback, why)
    hub_small = needle.hub
    if needle.rival >= _STAR_RATIO:
        return _refusal(needle.angle, (hub_small[0] * sx, hub_small[1] * sy), fallback,
                        "not a dial")

    angle_small, hub_small = _refine(ink, g, needle, SIDE)
    off = np.abs((g.ring_angle - angle_small + 180.0) % 360.0 - 180.0)
    keep = (off > 16.0) & (off < 164.0)  # the needle and its tail are no part of the scale
    a = math.radians(angle_small)
    ring, hub_small = _ring(dark, g, hub_small, (math.sin(a), -math.cos(a)), keep)
    turn = _scale_turn(ring, g, keep)

    sure = True
    used: Direction
    if direction == "auto":
        lean = _numbering(ring, g, turn, angle_small)
        sure = abs(lean) >= _DIRECTION_MARGIN
        used = "ccw" if sure and lean < 0 else "cw"
    else:
        used = direction
    # Back to the crop's own pixels (a box that is not square was squeezed to SIDE x SIDE).
    a = math.radians(angle_small)
    angle = math.degrees(math.atan2(math.sin(a) * sx, math.cos(a) * sy)) % 360.0
    hub = (hub_small[0] * sx, hub_small[1] * sy)
    position = position_of(angle - turn, used)
    confidence = min(1.0, needle.contrast / (2 * _MIN_CONTRAST)) * (1.0 - 0.5 * needle.rival)
    if not sure:
        confidence *= 0.5
    return DialEstimate(position, round(max(0.0, confidence), 3), used, angle, hub, None, sure)


def read_dials(frame: npt.NDArray[np.uint8], boxes: Sequence[tuple[int, int, int, int]],
               directions: Sequence[str]) -> list[DialEstimate]:
    """Read each (x, y, w, h) box of ``frame`` with its direction ("auto", "cw" or "ccw").
    A box is clipped to the frame; one wholly outside it is refused."""
    if len(boxes) != len(directions):
        raise ValueError(f"{len(boxes)} dial boxes but {len(directions)} directions")
    fh, fw = frame.shape[:2]
    out: list[DialEstimate] = []
    for (x, y, w, h), given in zip(boxes, directions, strict=True):
        if given not in ("auto", "cw", "ccw"):
            raise ValueError(f"a dial's direction is auto, cw or ccw, not {given!r}")
        x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
        fallback: Direction = "ccw" if given == "ccw" else "cw"
        if x1 - x0 < 8 or y1 - y0 < 8:
            out.append(_refusal(0.0, (w / 2, h / 2), fallback,
                                "the dial box lies outside the frame"))
            continue
        est = read_dial(frame[y0:y1, x0:x1], given)  # type: ignore[arg-type]
        # The hub in the box's own pixels, as if the box had not been clipped.
        out.append(DialEstimate(est.position, est.confidence, est.direction, est.angle,
                                (est.hub[0] + x0 - x, est.hub[1] + y0 - y), est.refused,
                                est.direction_sure))
    return out
