"""Generated pointer dials: the small 0-9 scales of a water meter, photographed.

A dial is drawn three times larger than asked and scaled down, so that thin needles
and numerals come out anti-aliased as a lens draws them. Everything the reader must
not depend on varies: the face, ring, ticks and numerals (or none), the needle's
colour and shape, its hub and counterweight, a shadow; per picture the camera's
colour cast, an LED flash's hot spot, focus, noise, JPEG, a tilted view, a box cut
off-centre, the scale and a small turn of the whole meter (which moves the 0).

The negatives are what a box on a meter may hold instead of a readable dial: the
star-shaped flow indicator, a dial covered by a hand or cardboard, a flash that
burns out the middle of the dial, a plain texture.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..common.camera import jpeg_roundtrip, to_u8

logger = logging.getLogger(__name__)

BGR = tuple[int, int, int]
U8 = npt.NDArray[np.uint8]
Direction = Literal["cw", "ccw"]
NeedleShape = Literal["teardrop", "lancet", "arrow", "line"]

_SUPER = 3  # drawn this many times larger, then scaled down
# cv2's Hershey fonts, by number, so that this module imports without OpenCV.
_SIMPLEX, _PLAIN, _DUPLEX, _COMPLEX, _TRIPLEX, _SMALL = 0, 1, 2, 3, 4, 5
_ITALIC = 16


@dataclass(frozen=True)
class DialStyle:
    """How one make of dial looks. Lengths are fractions of the face's radius unless said."""

    face: BGR = (245, 245, 245)
    body: BGR = (40, 40, 40)  # the meter's plastic round the dial
    face_radius: float = 0.42  # of the picture's size
    ring: BGR | None = (30, 30, 30)
    ring_width: float = 0.08
    numerals: bool = True
    font: int = _SIMPLEX
    numeral_height: float = 0.2
    numeral_thickness: float = 0.035
    numeral_colour: BGR = (20, 20, 20)
    numeral_radius: float = 0.66
    ticks: int = 10  # 0, 10, or 20 (half steps)
    tick_colour: BGR = (20, 20, 20)
    tick_length: float = 0.14
    needle_colour: BGR = (30, 30, 200)
    needle_shape: NeedleShape = "lancet"
    needle_length: float = 0.8
    needle_width: float = 0.1
    tail: float = 0.0  # counterweight behind the hub
    hub_colour: BGR = (30, 30, 200)
    hub_radius: float = 0.1
    shadow: bool = False
    label: bool = False  # a small "x0.1" printed below the hub


STYLES: dict[str, DialStyle] = {
    "white_lancet": DialStyle(),
    "cream_teardrop": DialStyle(
        face=(200, 235, 245), ring=(60, 90, 120), needle_shape="teardrop", needle_width=0.14,
        font=_DUPLEX, numeral_height=0.18, ticks=20, tail=0.2, shadow=True),
    "grey_arrow": DialStyle(
        face=(190, 190, 185), body=(70, 60, 50), ring=None, needle_shape="arrow",
        needle_width=0.07, hub_colour=(240, 240, 240), font=_COMPLEX, numeral_height=0.22,
        numeral_radius=0.7),
    "black_line": DialStyle(
        needle_colour=(25, 25, 25), hub_colour=(25, 25, 25), needle_shape="line",
        needle_width=0.06, ticks=20, numeral_radius=0.64, font=_PLAIN,
        numeral_thickness=0.05),
    "bare_red": DialStyle(
        numerals=False, ticks=20, needle_shape="teardrop", needle_width=0.12,
        face=(235, 240, 240), ring=(150, 150, 150)),
    "darkred_label": DialStyle(
        needle_colour=(20, 20, 130), hub_colour=(20, 20, 20), label=True, tail=0.25,
        font=_TRIPLEX, numeral_height=0.19, ring=(90, 90, 90), ring_width=0.12,
        face_radius=0.4),
    "small_italic": DialStyle(
        font=_SIMPLEX | _ITALIC, numeral_height=0.15, numeral_radius=0.72,
        needle_shape="line", needle_width=0.05, ticks=0, hub_colour=(235, 235, 235),
        shadow=True, face=(235, 245, 250)),
    "black_teardrop": DialStyle(
        needle_colour=(35, 30, 30), hub_colour=(35, 30, 30), needle_shape="teardrop",
        needle_width=0.13, face=(220, 230, 230), tail=0.18, font=_DUPLEX, ring=(40, 40, 90)),
    "bold_lancet_shadow": DialStyle(
        needle_width=0.16, numeral_thickness=0.05, numeral_height=0.22, shadow=True,
        ring=(200, 200, 200), ring_width=0.05, face=(250, 250, 250), body=(120, 90, 50)),
    # Held out: never looked at while the reader's thresholds are set.
    "brass_serif": DialStyle(
        face=(170, 215, 235), body=(40, 90, 130), ring=(30, 110, 160), ring_width=0.1,
        font=_TRIPLEX | _ITALIC, numeral_height=0.2, numeral_colour=(30, 40, 60), ticks=20,
        tick_colour=(30, 40, 60), needle_colour=(40, 40, 180), needle_shape="arrow",
        needle_width=0.08, tail=0.22, hub_colour=(40, 40, 40), hub_radius=0.13),
    "slate_thin": DialStyle(
        face=(215, 210, 205), body=(20, 20, 20), ring=None, font=_SMALL, numeral_height=0.17,
        numeral_thickness=0.04, numeral_radius=0.7, ticks=10, tick_length=0.1,
        needle_colour=(10, 10, 10), needle_shape="line", needle_width=0.045,
        hub_colour=(200, 200, 200), hub_radius=0.08, tail=0.15, label=True),
    "big_teardrop_white_hub": DialStyle(
        face=(250, 250, 245), body=(90, 90, 100), face_radius=0.45, ring=(60, 60, 60),
        ring_width=0.05, font=_COMPLEX, numeral_height=0.23, numeral_radius=0.62, ticks=20,
        needle_colour=(60, 50, 230), needle_shape="teardrop", needle_width=0.17,
        hub_colour=(245, 245, 245), hub_radius=0.12, shadow=True),
    "plain_black_lancet": DialStyle(
        face=(235, 235, 235), ring=(180, 30, 30), font=_PLAIN, numeral_height=0.2,
        numeral_thickness=0.06, needle_colour=(20, 20, 20), needle_shape="lancet",
        needle_width=0.12, hub_colour=(20, 20, 20), ticks=0, tail=0.2),
}
HELD_OUT_STYLES: tuple[str, ...] = (
    "brass_serif", "slate_thin", "big_teardrop_white_hub", "plain_black_lancet")
TUNE_STYLES: tuple[str, ...] = tuple(s for s in STYLES if s not in HELD_OUT_STYLES)


@dataclass(frozen=True)
class Shot:
    """How one picture of a dial is taken (the keywords of :func:`render_dial`)."""

    off_centre: float = 0.0  # the box's centre off the hub, a fraction of the size
    oblique: float = 0.0  # the dial's tilt from the camera's axis, degrees
    flash: float = 0.0  # an LED flash's hot spot, 0 (none) .. 1 (burnt out)
    blur: float = 0.0  # focus, Gaussian sigma in output pixels
    jpeg: int = 0  # quality; 0: no JPEG
    rotation: float = 0.0  # the whole meter turned, degrees clockwise (moves the 0)
    scale: float = 1.0  # the dial's size in the box, relative to its style
    cast: float = 0.0  # colour cast: spread of the channel gains
    noise: float = 0.0  # sensor noise, grey levels
    flash_on_needle: bool = False  # the hot spot sits on the needle


def everyday_shot(rng: np.random.Generator, **fixed: float) -> Shot:
    """A picture as a fixed camera takes it: a little of everything, drawn at random;
    keywords (e.g. ``oblique=18``) fix a condition."""
    shot = Shot(
        off_centre=float(rng.uniform(0.0, 0.04)),
        oblique=float(rng.uniform(0.0, 8.0)),
        flash=float(rng.uniform(0.2, 0.5)) if rng.random() < 0.15 else 0.0,
        blur=float(rng.uniform(0.2, 0.8)),
        jpeg=int(rng.integers(50, 91)),
        rotation=float(rng.uniform(-5.0, 5.0)),
        scale=float(rng.uniform(0.92, 1.06)),
        cast=0.05,
        noise=float(rng.uniform(1.0, 4.0)),
        flash_on_needle=bool(rng.random() < 0.3),
    )
    return replace(shot, **fixed)  # type: ignore[arg-type]


def needle_angle(position: float, direction: Direction, rotation: float = 0.0) -> float:
    """Where a needle at ``position`` points, degrees clockwise from 12 o'clock."""
    turn = 36.0 * position if direction == "cw" else -36.0 * position
    return (turn + rotation) % 360.0


def _at(cx: float, cy: float, angle: float, r: float) -> tuple[float, float]:
    a = math.radians(angle)
    return cx + r * math.sin(a), cy - r * math.cos(a)


def _pts(points: list[tuple[float, float]]) -> npt.NDArray[np.int32]:
    # cv2 draws with 4 bits of sub-pixel precision (shift=4).
    return np.round(np.array(points) * 16).astype(np.int32).reshape(-1, 1, 2)


def _needle_polygon(style: DialStyle, cx: float, cy: float, angle: float,
                    radius: float) -> list[tuple[float, float]]:
    length = style.needle_length * radius
    half = style.needle_width * radius / 2
    tail = style.tail * radius

    def p(along: float, across: float) -> tuple[float, float]:
        a = math.radians(angle)
        ux, uy = math.sin(a), -math.cos(a)
        return cx + along * ux - across * uy, cy + along * uy + across * ux

    back = -max(tail, half * 0.8)
    if style.needle_shape == "lancet":
        return [p(length, 0), p(0.3 * length, half), p(back, half * 0.6),
                p(back, -half * 0.6), p(0.3 * length, -half)]
    if style.needle_shape == "teardrop":
        bulb = half * 1.3

        def round_(ts: npt.NDArray[np.float64]) -> list[tuple[float, float]]:
            return [p(bulb * math.cos(t), bulb * math.sin(t)) for t in ts]

        if tail > bulb:  # a counterweight sticks out behind the bulb
            back_pts = [*round_(np.radians(np.linspace(60, 150, 5))),
                        p(-tail, half * 0.5), p(-tail, -half * 0.5),
                        *round_(np.radians(np.linspace(210, 300, 5)))]
        else:
            back_pts = round_(np.radians(np.linspace(60, 300, 13)))
        return [p(length, 0), *back_pts]
    if style.needle_shape == "arrow":
        head = min(0.28 * length, 4.5 * half)
        return [p(length, 0), p(length - head, 2.2 * half), p(length - head, half * 0.6),
                p(back, half * 0.6), p(back, -half * 0.6), p(length - head, -half * 0.6),
                p(length - head, -2.2 * half)]
    return [p(length, half * 0.5), p(back, half), p(back, -half), p(length, -half * 0.5)]


def _draw_face(img: U8, style: DialStyle, cx: float, cy: float, radius: float,
               rotation: float, direction: Direction, rng: np.random.Generator) -> None:
    import cv2

    aa = cv2.LINE_AA
    if style.ring is not None:
        outer = radius * (1.0 + style.ring_width)
        cv2.circle(img, (round(cx * 16), round(cy * 16)), round(outer * 16), style.ring, -1, aa, 4)
    cv2.circle(img, (round(cx * 16), round(cy * 16)), round(radius * 16), style.face, -1, aa, 4)
    if style.ticks:
        step = 360.0 / style.ticks
        width = max(1, round(0.025 * radius))
        for k in range(style.ticks):
            whole = style.ticks == 10 or k % 2 == 0
            length = style.tick_length * radius * (1.0 if whole else 0.55)
            a = rotation + k * step
            p0, p1 = _at(cx, cy, a, radius * 0.97), _at(cx, cy, a, radius * 0.97 - length)
            cv2.line(img, (round(p0[0] * 16), round(p0[1] * 16)),
                     (round(p1[0] * 16), round(p1[1] * 16)), style.tick_colour, width, aa, 4)
    if style.numerals:
        height = style.numeral_height * radius
        thick = max(1, round(style.numeral_thickness * radius))
        unit = cv2.getTextSize("0", style.font, 1.0, thick)[0][1]
        font_scale = height / unit
        for d in range(10):
            a = needle_angle(d, direction, rotation)
            x, y = _at(cx, cy, a, style.numeral_radius * radius)
            (w, h), _ = cv2.getTextSize(str(d), style.font, font_scale, thick)
            org = (round(x - w / 2), round(y + h / 2))
            cv2.putText(img, str(d), org, style.font, font_scale, style.numeral_colour, thick, aa)
    if style.label:
        scale = 0.09 * radius / cv2.getTextSize("0", _SIMPLEX, 1.0, 1)[0][1]
        text = "x0.1" if rng.random() < 0.5 else "x0,01"
        (w, h), _ = cv2.getTextSize(text, _SIMPLEX, scale, max(1, round(0.02 * radius)))
        x, y = _at(cx, cy, rotation + 180.0, 0.38 * radius)
        cv2.putText(img, text, (round(x - w / 2), round(y + h / 2)), _SIMPLEX, scale,
                    style.numeral_colour, max(1, round(0.02 * radius)), aa)


def _draw_needle(img: U8, style: DialStyle, cx: float, cy: float, radius: float,
                 angle: float) -> None:
    import cv2

    aa = cv2.LINE_AA
    poly = _needle_polygon(style, cx, cy, angle, radius)
    if style.shadow:
        # The needle stands off the face; the light from above-left casts it down-right.
        off = 0.05 * radius
        shadow = img.copy()
        cv2.fillPoly(shadow, [_pts([(x + off, y + off * 1.3) for x, y in poly])],
                     (0, 0, 0), aa, 4)
        cv2.addWeighted(shadow, 0.35, img, 0.65, 0.0, dst=img)
    cv2.fillPoly(img, [_pts(poly)], style.needle_colour, aa, 4)
    centre = (round(cx * 16), round(cy * 16))
    cv2.circle(img, centre, round(style.hub_radius * radius * 16), style.hub_colour, -1, aa, 4)
    cv2.circle(img, centre, round(style.hub_radius * radius * 5), (60, 60, 60), -1, aa, 4)


def _tilt(img: U8, cx: float, cy: float, degrees: float, rng: np.random.Generator) -> U8:
    """The dial seen ``degrees`` off its axis: a plane turned about a random line through
    the hub, projected by a lens of a normal focal length."""
    import cv2

    if degrees <= 0:
        return img
    h, w = img.shape[:2]
    phi = rng.uniform(0, 2 * math.pi)
    t = math.radians(degrees)
    ux, uy = math.cos(phi), math.sin(phi)
    c, s = math.cos(t), math.sin(t)
    # Rodrigues' rotation about the in-plane axis (ux, uy, 0).
    rot = np.array([[c + ux * ux * (1 - c), ux * uy * (1 - c), uy * s],
                    [ux * uy * (1 - c), c + uy * uy * (1 - c), -ux * s],
                    [-uy * s, ux * s, c]])
    f = 2.5 * max(h, w)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = []
    for x, y in src:
        p = rot @ np.array([x - cx, y - cy, 0.0])
        dst.append([cx + f * p[0] / (f + p[2]), cy + f * p[1] / (f + p[2])])
    m = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    return np.asarray(cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE),
                      np.uint8)


def _hot_spot(img: npt.NDArray[np.float32], rng: np.random.Generator, x: float, y: float,
              strength: float, sigma: float) -> npt.NDArray[np.float32]:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spot = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    # A flash's reflection is white at its core whatever the colour under it.
    tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.05, 0.05, 3)
    return img + (spot[..., None] * strength * 420.0 * tint).astype(np.float32)


def _photograph(canvas: U8, rng: np.random.Generator, size: int, shot: Shot,
                spot: tuple[float, float] | None) -> U8:
    """The drawn dial (``_SUPER`` times larger) as the camera delivers it at ``size``."""
    import cv2

    small = np.asarray(cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA), np.float32)
    if shot.cast > 0:
        gains = rng.normal(1.0, shot.cast, 3) * rng.uniform(0.7, 1.1)
        small = small * gains.astype(np.float32)
    if shot.flash > 0:
        if spot is None:
            spot = (rng.uniform(0.2, 0.8) * size, rng.uniform(0.2, 0.8) * size)
        sigma = size * (0.06 + 0.1 * shot.flash) if shot.flash < 0.95 else size * 0.4
        small = _hot_spot(small, rng, spot[0], spot[1], shot.flash, sigma)
    if shot.blur > 0:
        small = np.asarray(cv2.GaussianBlur(small, (0, 0), shot.blur), np.float32)
    if shot.noise > 0:
        small = small + np.asarray(rng.normal(0.0, shot.noise, small.shape), np.float32)
    out = to_u8(small)
    return jpeg_roundtrip(out, shot.jpeg) if shot.jpeg > 0 else out


def _canvas(rng: np.random.Generator, body: BGR, size: int) -> tuple[U8, float, float]:
    big = size * _SUPER
    tone = np.array(body, np.float32) * rng.uniform(0.8, 1.2)
    img = np.empty((big, big, 3), np.float32)
    img[:] = tone
    # The meter's plastic is not flat: a gentle light ramp across it.
    yy = np.linspace(-1, 1, big, dtype=np.float32)[:, None, None]
    img *= 1.0 + rng.uniform(-0.15, 0.15) * yy
    return to_u8(img), big / 2, big / 2


def render_dial(rng: np.random.Generator, style: DialStyle, position: float,
                direction: Direction, size: int = 80, *, off_centre: float = 0.0,
                oblique: float = 0.0, flash: float = 0.0, blur: float = 0.0, jpeg: int = 0,
                rotation: float = 0.0, scale: float = 1.0, cast: float = 0.0,
                noise: float = 0.0, flash_on_needle: bool = False) -> U8:
    """A BGR ``size`` x ``size`` picture of a dial whose needle stands at ``position``
    (0 <= position < 10) on a scale numbered ``direction``. The keywords are
    :class:`Shot`'s fields."""
    shot = Shot(off_centre, oblique, flash, blur, jpeg, rotation, scale, cast, noise,
                flash_on_needle)
    img, cx, cy = _canvas(rng, style.body, size)
    # The box is cut off-centre: the hub moves within it, in a random direction.
    a = rng.uniform(0, 2 * math.pi)
    cx += math.cos(a) * off_centre * size * _SUPER
    cy += math.sin(a) * off_centre * size * _SUPER
    radius = style.face_radius * size * _SUPER * scale
    _draw_face(img, style, cx, cy, radius, rotation, direction, rng)
    angle = needle_angle(position, direction, rotation)
    _draw_needle(img, style, cx, cy, radius, angle)
    img = _tilt(img, cx, cy, oblique, rng)
    spot = None
    if flash_on_needle:
        x, y = _at(cx, cy, angle, rng.uniform(0.3, 0.65) * style.needle_length * radius)
        spot = (x / _SUPER, y / _SUPER)
    elif flash >= 0.95:
        spot = (cx / _SUPER, cy / _SUPER)
    return _photograph(img, rng, size, shot, spot)


def render(rng: np.random.Generator, style: DialStyle, position: float, direction: Direction,
           shot: Shot, size: int = 80) -> U8:
    """:func:`render_dial` with the picture's conditions as one :class:`Shot`."""
    return render_dial(rng, style, position, direction, size, **shot.__dict__)


# -- what a dial's box may hold instead ------------------------------------------------------
NegativeKind = Literal["star", "covered", "burnt_out", "texture"]
NEGATIVES: tuple[NegativeKind, ...] = ("star", "covered", "burnt_out", "texture")


def render_star(rng: np.random.Generator, size: int = 80, shot: Shot | None = None) -> U8:
    """The flow indicator: a star or gear wheel of 4-8 arms, red or black, that turns as
    water runs; it sits beside the dials and a box may land on it."""
    import cv2

    shot = shot or everyday_shot(rng)
    img, cx, cy = _canvas(rng, (40, 40, 40), size)
    radius = rng.uniform(0.36, 0.46) * size * _SUPER
    face = tuple(int(v) for v in rng.integers(200, 255, 3))
    cv2.circle(img, (round(cx), round(cy)), round(radius), face, -1, cv2.LINE_AA)
    arms = int(rng.integers(4, 9))
    colour: BGR = (30, 30, 200) if rng.random() < 0.6 else (25, 25, 25)
    turn = rng.uniform(0, 360)
    outer, inner = radius * rng.uniform(0.75, 0.95), radius * rng.uniform(0.2, 0.45)
    points: list[tuple[float, float]] = []
    gear = rng.random() < 0.4
    for k in range(arms):
        a = turn + 360.0 * k / arms
        half = 360.0 / arms / 2
        if gear:  # a wheel with flat teeth
            points += [_at(cx, cy, a - half * 0.9, inner), _at(cx, cy, a - half * 0.35, outer),
                       _at(cx, cy, a + half * 0.35, outer), _at(cx, cy, a + half * 0.9, inner)]
        else:
            points += [_at(cx, cy, a, outer), _at(cx, cy, a + half, inner)]
    cv2.fillPoly(img, [_pts(points)], colour, cv2.LINE_AA, 4)
    cv2.circle(img, (round(cx), round(cy)), round(radius * 0.12), (200, 200, 200), -1)
    return _photograph(img, rng, size, shot, None)


def render_negative(rng: np.random.Generator, kind: NegativeKind, style: DialStyle,
                    size: int = 80) -> U8:
    """A box holding no readable dial: ``star`` (flow indicator), ``covered`` (a hand or
    cardboard over the dial), ``burnt_out`` (a flash's glare over its middle), ``texture``."""
    import cv2

    shot = everyday_shot(rng)
    if kind == "star":
        return render_star(rng, size, shot)
    if kind == "burnt_out":
        return render(rng, style, float(rng.uniform(0, 10)), "cw",
                      replace(shot, flash=1.0, flash_on_needle=False), size)
    if kind == "covered":
        img = render(rng, style, float(rng.uniform(0, 10)), "cw", replace(shot, jpeg=0), size)
        skin = rng.random() < 0.5
        base = np.array([120, 150, 200] if skin else [90, 140, 175], np.float32)
        cover = np.empty_like(img, dtype=np.float32)
        cover[:] = base * rng.uniform(0.6, 1.2)
        cover += rng.normal(0, 6, cover.shape).astype(np.float32)
        cover = np.asarray(cv2.GaussianBlur(cover, (0, 0), 1.0), np.float32)
        # The cover reaches in from one side and leaves at most a sliver of the dial.
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2
        a = rng.uniform(0, 2 * math.pi)
        edge = (xx * math.cos(a) + yy * math.sin(a)) < rng.uniform(0.3, 0.45) * size
        img = np.where(edge[..., None], to_u8(cover), img)
        return jpeg_roundtrip(img, shot.jpeg)
    tone = rng.uniform(60, 220, 3).astype(np.float32)
    tex = rng.normal(0, 1, (size // 4 + 1, size // 4 + 1, 3)).astype(np.float32)
    tex = np.asarray(cv2.resize(tex, (size, size), interpolation=cv2.INTER_CUBIC), np.float32)
    return jpeg_roundtrip(to_u8(tone + tex * rng.uniform(5, 30)), shot.jpeg)
