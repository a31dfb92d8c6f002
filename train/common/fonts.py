"""Installed fonts for printed and segment digits: families split into training and
held-out, glyphs rendered once with Pillow and kept.

Fonts are split by family: training uses :data:`FONT_FAMILIES_TRAIN`, evaluation
:data:`FONT_FAMILIES_HELDOUT`, so an accuracy on held-out fonts says how the model
reads a typeface it never saw. Near-clones (Liberation 2 = Arimo, FreeSans =
Nimbus Sans) sit on the same side of the split, or the held-out test would leak.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)


Float = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Style = Literal["print", "wheel", "segment"]

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
RENDER_SIZE = 96  # px: glyphs are rendered once this big, then scaled down per example
DIGITS = "0123456789"
# Segment characters that are no digit; S, O, I, Z, b, q, U, J would pass for one.
SEGMENT_SYMBOLS = "-EFHLPrnA"
# Every DSEG7 font draws its "7" with the top-left segment lit (a, b, c, f); most meter
# LCDs light only a, b and c. This key holds that plain "7", made from the font's own
# segments: the top bar of "7" and "2" together, with the "1".
PLAIN_SEVEN = "7 plain"



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


def ink_box(ink: Float) -> tuple[int, int, int, int]:
    """y0, y1, x0, x1 of a glyph's ink (the whole cell if it has none)."""
    ys, xs = np.nonzero(ink > 0.05)
    if not ys.size:
        return (0, ink.shape[0], 0, ink.shape[1])
    return (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)


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
        tight[c] = ink_box(arr)
    if all_segments == "8":  # seven segments
        ink[PLAIN_SEVEN] = np.maximum(np.minimum(ink["7"], ink["2"]), ink["1"])
        tight[PLAIN_SEVEN] = tight["7"]
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
