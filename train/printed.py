"""Printed meter digits made here: installed fonts rendered with Pillow, photographed like crops.

Meters show digits three ways: printed on a plate, on counter wheels (the next
digit rolls in from below) and on LCD/LED segment displays (unlit segments still
faintly visible). No user photos are needed: each digit is rendered from an
installed font, laid out as the meter shows it, lit, blurred, compressed, cut out
the way the device's locator hands crops over, and normalised by the device's own
:func:`~digitd.edge.vision.normalise.normalise_digit`.

Fonts are split by family: training uses :data:`FONT_FAMILIES_TRAIN`, evaluation
:data:`FONT_FAMILIES_HELDOUT`, so an accuracy on held-out fonts says how the model
reads a typeface it never saw. Near-clones (Liberation 2 = Arimo, FreeSans =
Nimbus Sans) sit on the same side of the split, or the held-out test would leak.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from digitd.edge.vision.image import to_gray
from digitd.edge.vision.labels import NOT_A_DIGIT
from digitd.edge.vision.normalise import normalise_digit
from digitd.train.augment import jpeg_roundtrip
from digitd.train.data import Split

logger = logging.getLogger(__name__)

Float = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Style = Literal["print", "wheel", "segment"]

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
RENDER_SIZE = 96  # px: glyphs are rendered once this big, then scaled down per example
DIGITS = "0123456789"
# Segment characters that are no digit; S, O, I, Z, b, q, U, J would pass for one.
SEGMENT_SYMBOLS = "-EFHLPrnA"

# Counter wheels: ``roll`` is how far (fraction of the digit pitch) the wheel has
# turned from showing ``lower`` towards ``lower + 1``.
NEARLY_THERE = 0.12  # within this of a digit, it is that digit
HALF_WAY = (0.25, 0.75)  # in here, the window shows no one digit
# Between the two bands the truth is debatable; no examples are made there.


@dataclass(frozen=True)
class FontFamily:
    name: str
    package: str  # the Debian package that installs it
    files: tuple[str, ...]  # file-name patterns (fnmatch) of the styles used
    all_segments: str = ""  # segment fonts: the character that lights every segment


def _fam(name: str, package: str, *files: str, all_segments: str = "") -> FontFamily:
    return FontFamily(name, package, files, all_segments)


FAMILIES: dict[str, FontFamily] = {
    f.name: f
    for f in (
        _fam("DejaVu Sans", "fonts-dejavu-core", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
        _fam("DejaVu Serif", "fonts-dejavu-core", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
        _fam("DejaVu Sans Mono", "fonts-dejavu-core", "DejaVuSansMono.ttf",
             "DejaVuSansMono-Bold.ttf"),
        _fam("Liberation Sans", "fonts-liberation2", "LiberationSans-Regular.ttf",
             "LiberationSans-Bold.ttf", "LiberationSans-Italic.ttf"),
        _fam("Liberation Sans Narrow", "fonts-liberation", "LiberationSansNarrow-Regular.ttf",
             "LiberationSansNarrow-Bold.ttf"),
        _fam("Liberation Serif", "fonts-liberation2", "LiberationSerif-Regular.ttf",
             "LiberationSerif-Bold.ttf"),
        _fam("Liberation Mono", "fonts-liberation2", "LiberationMono-Regular.ttf",
             "LiberationMono-Bold.ttf"),
        _fam("Arimo", "fonts-croscore", "Arimo-Regular.ttf", "Arimo-Bold.ttf"),
        _fam("Tinos", "fonts-croscore", "Tinos-Regular.ttf", "Tinos-Bold.ttf"),
        _fam("Cousine", "fonts-croscore", "Cousine-Regular.ttf", "Cousine-Bold.ttf"),
        _fam("FreeSans", "fonts-freefont-ttf", "FreeSans.ttf", "FreeSansBold.ttf",
             "FreeSansOblique.ttf"),
        _fam("FreeSerif", "fonts-freefont-ttf", "FreeSerif.ttf", "FreeSerifBold.ttf"),
        _fam("FreeMono", "fonts-freefont-ttf", "FreeMono.ttf", "FreeMonoBold.ttf"),
        _fam("Nimbus Sans", "fonts-urw-base35", "NimbusSans-Regular.otf", "NimbusSans-Bold.otf"),
        _fam("Nimbus Sans Narrow", "fonts-urw-base35", "NimbusSansNarrow-Regular.otf",
             "NimbusSansNarrow-Bold.otf"),
        _fam("Nimbus Roman", "fonts-urw-base35", "NimbusRoman-Regular.otf",
             "NimbusRoman-Bold.otf"),
        _fam("Nimbus Mono PS", "fonts-urw-base35", "NimbusMonoPS-Regular.otf",
             "NimbusMonoPS-Bold.otf"),
        _fam("URW Gothic", "fonts-urw-base35", "URWGothic-Book.otf", "URWGothic-Demi.otf"),
        _fam("URW Bookman", "fonts-urw-base35", "URWBookman-Light.otf", "URWBookman-Demi.otf"),
        _fam("P052", "fonts-urw-base35", "P052-Roman.otf", "P052-Bold.otf"),
        _fam("C059", "fonts-urw-base35", "C059-Roman.otf", "C059-Bold.otf"),
        _fam("Roboto", "fonts-roboto-unhinted", "Roboto-Regular.ttf", "Roboto-Medium.ttf",
             "Roboto-Bold.ttf"),
        _fam("Roboto Condensed", "fonts-roboto-unhinted", "RobotoCondensed-Regular.ttf",
             "RobotoCondensed-Bold.ttf"),
        _fam("Open Sans", "fonts-open-sans", "OpenSans-Regular.ttf", "OpenSans-Semibold.ttf",
             "OpenSans-Bold.ttf"),
        _fam("Noto Mono", "fonts-noto-mono", "NotoMono-Regular.ttf"),
        _fam("Noto Sans Mono", "fonts-noto-mono", "NotoSansMono-Regular.ttf",
             "NotoSansMono-Bold.ttf"),
        _fam("DSEG7 Classic", "fonts-dseg", "DSEG7Classic-*.ttf", all_segments="8"),
        _fam("DSEG7 Classic Mini", "fonts-dseg", "DSEG7ClassicMini-*.ttf", all_segments="8"),
        _fam("DSEG14 Classic", "fonts-dseg", "DSEG14Classic-*.ttf", all_segments="~"),
        _fam("DSEG7 Modern", "fonts-dseg", "DSEG7Modern-*.ttf", all_segments="8"),
        _fam("DSEG7 Modern Mini", "fonts-dseg", "DSEG7ModernMini-*.ttf", all_segments="8"),
        _fam("DSEG14 Modern", "fonts-dseg", "DSEG14Modern-*.ttf", all_segments="~"),
    )
}

# One sans, one serif, one mono (with its twin) and the "Modern" segment shapes are
# held out; everything else trains.
FONT_FAMILIES_HELDOUT: tuple[str, ...] = (
    "Open Sans", "C059", "Noto Sans Mono", "Noto Mono",
    "DSEG7 Modern", "DSEG7 Modern Mini", "DSEG14 Modern",
)
FONT_FAMILIES_TRAIN: tuple[str, ...] = tuple(
    name for name in FAMILIES if name not in FONT_FAMILIES_HELDOUT
)


class FontMissing(RuntimeError):
    """A font family the generator needs is not installed."""


@lru_cache(maxsize=1)
def _installed() -> dict[str, tuple[Path, ...]]:
    """Font files under the font folders, by file name (one walk, reused)."""
    found: dict[str, list[Path]] = {}
    for root in FONT_DIRS:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                found.setdefault(name, []).append(Path(dirpath) / name)
    return {name: tuple(sorted(paths)) for name, paths in found.items()}


def font_files(family: str) -> list[Path]:
    """The installed files of one family; :class:`FontMissing` names the package if none."""
    fam = FAMILIES[family]
    installed = _installed()
    paths = {
        path
        for pattern in fam.files
        for name in fnmatch.filter(installed, pattern)
        for path in installed[name]
    }
    if not paths:
        where = " or ".join(str(d) for d in FONT_DIRS)
        raise FontMissing(
            f"font family {family!r} ({', '.join(fam.files)}) not found under {where}; "
            f"install the Debian package {fam.package} (apt-get install {fam.package})"
        )
    return sorted(paths)


def families(fonts: str) -> tuple[str, ...]:
    if fonts == "train":
        return FONT_FAMILIES_TRAIN
    if fonts == "heldout":
        return FONT_FAMILIES_HELDOUT
    raise ValueError(f"fonts={fonts!r}: expected 'train' or 'heldout'")


@dataclass(frozen=True)
class Glyphs:
    """One font file's characters as ink maps (0..1), all in the font's common digit cell.

    Sharing one cell keeps the font's own placement: a segment "1" stays on the
    right where its segments are, and the unlit "8" lines up under every digit.
    """

    path: Path
    segment: bool
    all_segments: str
    ink: dict[str, Float]
    tight: dict[str, tuple[int, int, int, int]]  # char -> y0, y1, x0, x1 of its ink
    digit_height: int  # px of the digits' ink at RENDER_SIZE


@cache
def load_glyphs(path: Path, all_segments: str = "") -> Glyphs:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(path), RENDER_SIZE)
    chars = DIGITS + (all_segments + SEGMENT_SYMBOLS if all_segments else "")
    boxes = [font.getbbox(c) for c in DIGITS + all_segments]
    x0, y0 = min(int(b[0]) for b in boxes), min(int(b[1]) for b in boxes)
    x1, y1 = max(int(b[2]) for b in boxes), max(int(b[3]) for b in boxes)
    pad = 2
    size = (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
    ink: dict[str, Float] = {}
    tight: dict[str, tuple[int, int, int, int]] = {}
    for c in chars:
        img = Image.new("L", size, 0)
        ImageDraw.Draw(img).text((pad - x0, pad - y0), c, font=font, fill=255)
        arr = np.asarray(img, np.float32) / 255.0
        ink[c] = arr
        ys, xs = np.nonzero(arr > 0.05)
        tight[c] = (
            (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
            if ys.size
            else (0, size[1], 0, size[0])
        )
    digit_height = max(tight[c][1] - tight[c][0] for c in DIGITS)
    return Glyphs(path, bool(all_segments), all_segments, ink, tight, digit_height)


class FontPool:
    """The font files of a family list, split into text and segment fonts; picks one per example.

    A family is picked first, then one of its files, so a family with many weights
    does not outweigh the others.
    """

    def __init__(self, fonts: str = "train") -> None:
        self.fonts = fonts
        missing: list[str] = []
        self.text: list[list[tuple[Path, str]]] = []
        self.segment: list[list[tuple[Path, str]]] = []
        for name in families(fonts):
            fam = FAMILIES[name]
            try:
                files = [(p, fam.all_segments) for p in font_files(name)]
            except FontMissing as exc:
                missing.append(str(exc))
                continue
            (self.segment if fam.all_segments else self.text).append(files)
        if missing:
            raise FontMissing("; ".join(missing))

    def pick(self, segment: bool, rng: np.random.Generator) -> Glyphs:
        pool = self.segment if segment else self.text
        files = pool[int(rng.integers(len(pool)))]
        path, all_segments = files[int(rng.integers(len(files)))]
        return load_glyphs(path, all_segments)


@lru_cache(maxsize=4)
def font_pool(fonts: str) -> FontPool:
    return FontPool(fonts)


# -- labels -----------------------------------------------------------------------------------
def wheel_label(lower: int, roll: float) -> int | None:
    """What a wheel window showing ``lower`` rolled ``roll`` (0..1) towards the next digit reads.

    Nearly there either way: the digit mostly showing (9 rolls to 0). Half-way:
    "not a digit". In between: None, no agreed answer, so no example is made.
    """
    roll = roll % 1.0
    if roll < NEARLY_THERE:
        return lower % 10
    if roll > 1.0 - NEARLY_THERE:
        return (lower + 1) % 10
    if HALF_WAY[0] <= roll <= HALF_WAY[1]:
        return NOT_A_DIGIT
    return None


# -- ink layouts ------------------------------------------------------------------------------
def _resize(ink: Float, w: int, h: int) -> Float:
    import cv2

    w, h = max(1, w), max(1, h)
    interp = cv2.INTER_AREA if h < ink.shape[0] else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(ink, (w, h), interpolation=interp), np.float32)


def scaled_cell(g: Glyphs, char: str, height: float, aspect: float = 1.0) -> Float:
    """A character's whole cell, scaled so that its digits are ``height`` px tall."""
    cell = g.ink[char]
    scale = height / g.digit_height
    return _resize(cell, round(cell.shape[1] * scale * aspect), round(cell.shape[0] * scale))


def print_ink(g: Glyphs, digit: int, height: float, aspect: float = 1.0) -> Float:
    """A printed digit's ink, cut tight and scaled to ``height`` px."""
    y0, y1, x0, x1 = g.tight[str(digit)]
    scale = height / g.digit_height
    return _resize(
        g.ink[str(digit)][y0:y1, x0:x1], round((x1 - x0) * scale * aspect), round((y1 - y0) * scale)
    )


def segment_ink(g: Glyphs, char: str | None, off: float, height: float,
                aspect: float = 1.0) -> Float:
    """A segment display cell: ``char`` lit (None: nothing) over every segment at ``off``."""
    lit = scaled_cell(g, char, height, aspect) if char else None
    unlit = scaled_cell(g, g.all_segments, height, aspect)
    if lit is None:
        return (unlit * off).astype(np.float32)
    return np.maximum(lit, unlit * off) if off > 0 else lit


def wheel_window(
    g: Glyphs,
    lower: int | None,
    roll: float,
    height: float,
    rng: np.random.Generator,
) -> tuple[Float, Float]:
    """Ink and light of a counter-wheel window: ``lower`` rolled ``roll`` towards the next digit.

    The digits sit on a drum, one pitch apart; the window shows a band of it, so
    the digits near its top and bottom edges look squashed and darker. ``lower``
    None draws an empty wheel.
    """
    pitch = height * rng.uniform(1.3, 1.7)
    win_h = max(4, round(rng.uniform(max(1.08 * height, 0.7 * pitch), pitch)))
    aspect = rng.uniform(0.85, 1.15)
    cells = [
        scaled_cell(g, str((lower + k) % 10), height, aspect) if lower is not None else None
        for k in (-1, 0, 1, 2)
    ]
    cell_w = round(g.ink["0"].shape[1] * height / g.digit_height * aspect)
    win_w = max(4, round(cell_w * rng.uniform(1.1, 1.5)))
    strip_h = math.ceil(4 * pitch) + 2
    strip = np.zeros((strip_h, win_w), np.float32)
    for k, cell in enumerate(cells):
        if cell is None:
            continue
        ch, cw = cell.shape
        top = round((k + 0.5) * pitch - ch / 2)
        left = (win_w - cw) // 2
        sx0, dx0 = max(0, -left), max(0, left)
        width = min(cw - sx0, win_w - dx0)
        top = min(max(top, 0), strip_h - ch)
        strip[top : top + ch, dx0 : dx0 + width] = np.maximum(
            strip[top : top + ch, dx0 : dx0 + width], cell[:, sx0 : sx0 + width]
        )
    # Rows of the window seen on the drum: arc length grows faster than height near the edges.
    y = np.arange(win_h, dtype=np.float32) + 0.5 - win_h / 2
    if rng.random() < 0.7:
        radius = (win_h / 2) / math.sin(rng.uniform(0.5, 1.1))
        angle = np.arcsin(np.clip(y / radius, -1, 1))
        arc = radius * angle
        shade = 1.0 - rng.uniform(0.2, 0.6) * (1.0 - np.cos(angle))
    else:
        arc, shade = y, np.ones_like(y)
    src = np.clip(1.5 * pitch + roll * pitch + arc - 0.5, 0, strip_h - 1.001)
    r0 = src.astype(np.int32)
    frac = (src - r0)[:, None].astype(np.float32)
    window = strip[r0] * (1.0 - frac) + strip[r0 + 1] * frac
    light = np.repeat(shade[:, None].astype(np.float32), win_w, axis=1)
    return window.astype(np.float32), light


# -- colours and camera -----------------------------------------------------------------------
def _luma(bg: tuple[float, float, float], fg: tuple[float, float, float]) -> tuple[float, float]:
    """Grey levels of two BGR colours through the device's own to_gray.

    to_gray is a weighted sum of the channels, so mixing ink in grey equals mixing
    in colour and converting afterwards (clipping and JPEG chroma aside), at a
    third of the work.
    """
    g = to_gray(np.array([[bg, fg]], np.float32).clip(0, 255).astype(np.uint8))
    return float(g[0, 0]), float(g[0, 1])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def palette(style: Style, rng: np.random.Generator) -> tuple[
    tuple[float, float, float], tuple[float, float, float]
]:
    """A background and an ink colour (BGR) a meter of this style shows."""
    r = rng.random()
    if style == "wheel":
        if r < 0.5:  # black wheel, white digits
            base = _u(rng, 10, 60)
            bg = (base + _u(rng, -8, 8), base, base + _u(rng, -8, 8))
            fg = (_u(rng, 190, 250),) * 3
        elif r < 0.75:  # red decimal wheel, white digits
            bg = (_u(rng, 20, 70), _u(rng, 20, 70), _u(rng, 130, 220))
            fg = (_u(rng, 200, 250), _u(rng, 200, 250), _u(rng, 200, 250))
        elif r < 0.95:  # white wheel, black digits
            bg = (_u(rng, 180, 245),) * 3
            fg = (_u(rng, 10, 60),) * 3
        else:  # white wheel, red digits
            bg = (_u(rng, 190, 245),) * 3
            fg = (_u(rng, 20, 60), _u(rng, 20, 60), _u(rng, 170, 230))
    elif style == "segment":
        if r < 0.5:  # reflective LCD: grey-green glass, dark segments
            bg = (_u(rng, 110, 170), _u(rng, 130, 190), _u(rng, 110, 170))
            fg = (_u(rng, 15, 60),) * 3
        elif r < 0.65:  # backlit negative LCD: blue glass, light segments
            bg = (_u(rng, 120, 220), _u(rng, 40, 110), _u(rng, 0, 40))
            fg = (_u(rng, 210, 255), _u(rng, 210, 255), _u(rng, 200, 255))
        else:  # LED: dark face, coloured light
            colours = ((30, 30, 235), (60, 230, 60), (20, 170, 250), (250, 220, 180))
            c = colours[int(rng.integers(len(colours)))]
            bg = (_u(rng, 0, 35),) * 3
            fg = (c[0] + _u(rng, -20, 5), c[1] + _u(rng, -20, 5), c[2] + _u(rng, -20, 5))
    else:
        if r < 0.65:  # dark print on a light (maybe tinted) plate or paper
            base = _u(rng, 150, 245)
            bg = (base + _u(rng, -25, 10), base + _u(rng, -25, 10), base + _u(rng, -25, 10))
            fg = (_u(rng, 0, 70), _u(rng, 0, 70), _u(rng, 0, 70))
        else:  # light print on a dark (maybe coloured) plate
            bg = (_u(rng, 0, 110), _u(rng, 0, 80), _u(rng, 0, 110))
            base = _u(rng, 170, 255)
            fg = (base, base - _u(rng, 0, 20), base - _u(rng, 0, 20))
    return bg, fg


def glare_blob(h: int, w: int, rng: np.random.Generator) -> Float:
    """A soft bright ellipse (peak 1) where a lamp or the sun reflects off the window."""
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    sy = rng.uniform(0.1, 0.45) * h + 1
    sx = rng.uniform(0.1, 0.45) * w + 1
    yy = ((np.arange(h, dtype=np.float32) - cy) / sy) ** 2
    xx = ((np.arange(w, dtype=np.float32) - cx) / sx) ** 2
    return np.exp(-0.5 * (yy[:, None] + xx[None, :])).astype(np.float32)


def tilt(ink: Float, rng: np.random.Generator, rotation: float = 4.0,
         perspective: float = 0.05) -> Float:
    """A small rotation, shear and perspective, as a camera not quite square to the meter."""
    import cv2

    h, w = ink.shape
    angle = math.radians(rng.uniform(-rotation, rotation))
    shear = rng.uniform(-0.08, 0.08)
    cos, sin = math.cos(angle), math.sin(angle)
    lin = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    centre = np.array([w / 2, h / 2])
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = (src - centre) @ lin.T + centre
    dst += rng.uniform(-perspective, perspective, (4, 2)) * [w, h]
    mat = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return np.asarray(cv2.warpPerspective(ink, mat, (w, h), flags=cv2.INTER_LINEAR), np.float32)


def shoot(
    ink: Float,
    bg: float,
    fg: float,
    rng: np.random.Generator,
    light: Float | None = None,
    glare: float = 0.0,
) -> U8:
    """Grey camera crop of an ink map: light, glare, blur, low resolution, noise, JPEG."""
    import cv2

    h, w = ink.shape
    img = bg + (fg - bg) * ink
    if light is not None:
        img = img * light
    if glare:
        img = img + glare * glare_blob(h, w, rng)
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, 2 * math.pi)
        ramp = (xx * math.cos(theta) + yy * math.sin(theta)) / max(h, w)
        img = img * (1.0 + rng.uniform(-0.25, 0.25) * ramp)
    img = img.astype(np.float32)
    if rng.random() < 0.6:
        img = np.asarray(
            cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.02 * max(h, w) + 0.6)), np.float32
        )
    if rng.random() < 0.15 and min(h, w) >= 12:
        # A low-resolution camera, or a frame scaled down and back up.
        f = rng.uniform(2.0, 4.0)
        small = cv2.resize(img, (max(2, round(w / f)), max(2, round(h / f))),
                           interpolation=cv2.INTER_AREA)
        interp = cv2.INTER_NEAREST if rng.random() < 0.3 else cv2.INTER_LINEAR
        img = np.asarray(cv2.resize(small, (w, h), interpolation=interp), np.float32)
    if rng.random() < 0.7:
        img = img + rng.normal(0, rng.uniform(1, 7), img.shape).astype(np.float32)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        out = jpeg_roundtrip(out, int(rng.integers(30, 90)))
    return out


# -- one crop ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CropSpec:
    """What one example shows; ``label`` is what the model must answer."""

    kind: str  # print, wheel, segment | wheel_halfway, blank_wheel, blank_cell, glare,
    #            segment_off, segment_symbol
    style: Style
    label: int
    digit: int | None = None  # the digit drawn (wheels: the lower one)
    roll: float = 0.0
    symbol: str | None = None


@dataclass(frozen=True)
class Crop:
    image: U8  # grey crop as the locator hands it over
    dark_ink: bool  # the polarity the device would pass to normalise_digit


# Blank cells and glare look like nothing in particular, so they need more
# examples than their share of real meters would suggest before the model stops
# finding a faint digit in them.
NEGATIVE_KINDS: dict[str, float] = {
    "wheel_halfway": 0.28,
    "blank_wheel": 0.08,
    "blank_cell": 0.18,
    "glare": 0.22,
    "segment_off": 0.13,
    "segment_symbol": 0.11,
}
DIGIT_STYLES: dict[Style, float] = {"print": 0.35, "wheel": 0.30, "segment": 0.35}


def draw_spec(label: int, rng: np.random.Generator) -> CropSpec:
    """A random example of class ``label`` (0-9, or 10 for a meter's "not a digit")."""
    if label != NOT_A_DIGIT:
        style: Style = _choice(rng, DIGIT_STYLES)
        if style != "wheel":
            return CropSpec(style, style, label, label)
        roll = rng.uniform(-NEARLY_THERE, NEARLY_THERE) * 0.999
        lower = label if roll >= 0 else (label - 1) % 10
        return CropSpec("wheel", "wheel", label, lower, roll % 1.0)
    kind = _choice(rng, NEGATIVE_KINDS)
    if kind == "wheel_halfway":
        roll = rng.uniform(*HALF_WAY)
        return CropSpec(kind, "wheel", label, int(rng.integers(10)), roll)
    if kind == "blank_wheel":
        return CropSpec(kind, "wheel", label)
    if kind in ("blank_cell", "glare"):
        return CropSpec(kind, _choice(rng, DIGIT_STYLES), label)
    if kind == "segment_symbol":
        symbol = SEGMENT_SYMBOLS[int(rng.integers(len(SEGMENT_SYMBOLS)))]
        return CropSpec(kind, "segment", label, symbol=symbol)
    return CropSpec(kind, "segment", label)


def _choice(rng: np.random.Generator, weights: dict[str, float] | dict[Style, float]) -> Style:
    names = list(weights)
    p = np.array(list(weights.values()), np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]  # type: ignore[return-value]


def _margins(ink: Float, height: float, rng: np.random.Generator,
             box: tuple[int, int, int, int] | None = None) -> Float:
    """Pad (or cut to) a box around the ink the way a locator or a set-up box frames a digit."""
    tight = rng.random() < 0.25
    hi = 0.06 if tight else 0.45
    m = [round(rng.uniform(0.0 if tight else 0.02, hi) * height) for _ in range(4)]
    if box is not None:
        y0, y1, x0, x1 = box
        ink = ink[y0:y1, x0:x1]
    return np.pad(ink, ((m[0], m[1]), (m[2], m[3])))


def render_crop(spec: CropSpec, g: Glyphs, rng: np.random.Generator) -> Crop:
    """The grey crop the device would cut around one meter digit (or non-digit)."""
    while True:
        bg_c, fg_c = palette(spec.style, rng)
        bg, fg = _luma(bg_c, fg_c)
        if abs(fg - bg) >= 45:
            break
    contrast = abs(fg - bg)
    height = rng.uniform(10, 70)
    aspect = rng.uniform(0.85, 1.15)
    light: Float | None = None
    if spec.style == "wheel":
        ink, light = wheel_window(g, spec.digit, spec.roll, height, rng)
        if rng.random() < 0.5:
            ink = tilt(ink, rng, rotation=3.0, perspective=0.03)
        # The set-up box sits a little inside the window.
        h, w = ink.shape
        t, b = (round(rng.uniform(0, 0.1) * h) for _ in range(2))
        lft, rgt = (round(rng.uniform(0, 0.1) * w) for _ in range(2))
        ink, light = ink[t : h - b, lft : w - rgt], light[t : h - b, lft : w - rgt]
    elif spec.style == "segment":
        off = 0.0
        char = str(spec.digit) if spec.digit is not None else spec.symbol
        if char is None:
            # An empty cell: unlit segments too faint to pass normalisation's contrast
            # floor. Fainter ones than that but visible make a perfect "8" once scaled;
            # labelled "not a digit" they would only teach the model to doubt real 8s
            # (the reader's row-contrast rule refuses those cells instead).
            off = rng.uniform(3.0, 18.0) / contrast
        elif rng.random() < 0.7:
            off = rng.uniform(0.03, 0.3)
        ink = segment_ink(g, char, off, height, aspect)
        if fg > bg and rng.random() < 0.6:  # LED and backlight bloom
            import cv2

            glow = cv2.GaussianBlur(ink, (0, 0), rng.uniform(1.0, 0.08 * height + 1.5))
            ink = np.clip(ink + rng.uniform(0.2, 0.6) * glow, 0, 1).astype(np.float32)
        box = None
        if char and rng.random() < 0.5:  # auto mode: a box around the lit segments
            lit = scaled_cell(g, char, height, aspect)
            ys, xs = np.nonzero(lit > 0.3)
            if ys.size:
                box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
        ink = _margins(ink, height, rng, box)
        if rng.random() < 0.4:
            ink = tilt(ink, rng)
    else:
        if spec.digit is None:
            ink = np.zeros((round(height * rng.uniform(1.1, 1.6)),
                            round(height * rng.uniform(0.6, 1.1))), np.float32)
        else:
            ink = _margins(print_ink(g, spec.digit, height, aspect), height, rng)
            if rng.random() < 0.5:
                ink = tilt(ink, rng)
    glare = 0.0
    if spec.kind == "glare":
        glare = rng.uniform(40, 160)
    elif rng.random() < 0.12:
        glare = rng.uniform(0.1, 0.35) * contrast
    return Crop(shoot(ink, bg, fg, rng, light, glare), dark_ink=fg < bg)


# -- the data set -----------------------------------------------------------------------------
def _acceptable(spec: CropSpec, image: U8) -> bool:
    """Keep an example only if its label still tells the truth after normalisation."""
    if spec.label != NOT_A_DIGIT:
        # Light, glare or blur did not wash the digit out (a thin "1" holds ~25 px of ink).
        return float(image.sum()) / 255.0 >= 12.0
    if spec.kind == "segment_off":
        return int((image >= 128).sum()) < 40  # noise lifted the unlit segments into an "8"
    return True


def render_example(label: int, pool: FontPool, rng: np.random.Generator) -> tuple[U8, CropSpec]:
    """One normalised 28x28 example of ``label`` and what it shows."""
    image, spec = np.zeros((28, 28), np.uint8), draw_spec(label, rng)
    for _ in range(8):
        spec = draw_spec(label, rng)
        g = pool.pick(spec.style == "segment", rng)
        crop = render_crop(spec, g, rng)
        image = normalise_digit(crop.image, crop.dark_ink)
        if _acceptable(spec, image):
            break
    return image, spec


def render_digit_crop(
    digit: int | None,
    style: Style,
    seed: int,
    fonts: str = "train",
    roll: float = 0.0,
) -> Crop:
    """One grey crop of ``digit`` (None: an empty cell) in a style, for tests and previews."""
    rng = np.random.default_rng(seed)
    label = wheel_label(digit, roll) if style == "wheel" and digit is not None else digit
    spec = CropSpec(
        style if digit is not None else "blank_cell",
        style,
        NOT_A_DIGIT if label is None else label,
        digit,
        roll,
    )
    return render_crop(spec, font_pool(fonts).pick(style == "segment", rng), rng)


@dataclass(frozen=True)
class PrintedSet:
    images: U8
    labels: npt.NDArray[np.uint8]
    kinds: tuple[str, ...]  # CropSpec.kind of each example

    def split(self) -> Split:
        return Split(self.images, self.labels)


CHUNK = 512


def _chunk(labels: npt.NDArray[np.uint8], seed: np.random.SeedSequence,
           fonts: str) -> tuple[U8, list[str]]:
    rng = np.random.default_rng(seed)
    pool = font_pool(fonts)
    images: list[U8] = []
    kinds: list[str] = []
    for label in labels:
        image, spec = render_example(int(label), pool, rng)
        images.append(image)
        kinds.append(spec.kind)
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8), kinds


def printed_examples(n: int, seed: int, fonts: str = "train", workers: int = 1) -> PrintedSet:
    """``n`` normalised meter examples, classes 0-9 and 10 in equal shares, with their kinds.

    Reproducible from ``seed`` whatever ``workers`` is: each chunk of examples has
    its own seed spawned from it.
    """
    font_pool(fonts)  # fail early, naming any missing font package
    labels = np.random.default_rng(seed).permutation(np.arange(n) % (NOT_A_DIGIT + 1))
    labels = labels.astype(np.uint8)
    parts = [labels[i : i + CHUNK] for i in range(0, n, CHUNK)]
    seeds = np.random.SeedSequence(seed).spawn(len(parts))
    if workers > 1 and len(parts) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_chunk, parts, seeds, [fonts] * len(parts)))
    else:
        results = [_chunk(p, s, fonts) for p, s in zip(parts, seeds, strict=True)]
    if not results:
        return PrintedSet(np.zeros((0, 28, 28), np.uint8), labels, ())
    images = np.concatenate([r[0] for r in results])
    kinds = tuple(k for r in results for k in r[1])
    return PrintedSet(images, labels, kinds)


def printed_digits(n: int, seed: int, fonts: str = "train", workers: int = 1) -> Split:
    """``n`` printed/wheel/segment meter digits and meter "not a digit" examples, balanced."""
    return printed_examples(n, seed, fonts, workers).split()
