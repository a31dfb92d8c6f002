"""Meter-window training data: real meter crops, real LCD cells, generated wheels and cells.

Every example is a crop as a fixed set-up box cuts it from a frame (colour or grey,
any size) with its wheel position in digits (``3.5``: half-way from 3 to 4) or
``-1`` for "not a digit". :func:`window_examples` turns crops into model inputs
through the device's own :func:`~digitd.edge.vision.window.window_input`, with the
camera and framing faults of real set-ups simulated first.

Sources (read each README in ``../shared/data``):

- ``meter-digits``: real crops from 24 meter models with positions in tenths,
  split by meter into ``train`` and ``dev`` (Apache-2.0);
- ``sevenseg-digits``: real LCD cells 0-9 and ``blank`` (Apache-2.0), split here
  by frame order: the last :data:`SEVENSEG_HELD_OUT` of each class is held out;
- the generator of :mod:`digitd.train.common.printed`: counter wheels at any roll and
  segment cells in the training font families, plus empty cells and glare.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ...edge.vision.window import HEIGHT, WIDTH, window_input
from ..common.parallel import map_chunks

logger = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]
NOT_A_DIGIT_POSITION = -1.0
SEVENSEG_HELD_OUT = 0.2

METER_DIGITS_SOURCE = {
    "name": "meter-digits",
    "repository": "haverland/Tenth-of-step-of-a-meter-digit",
    "commit": "ebf9b2ba33b56a45d97b5463d19e8035d4afbb12",
    "licence": "Apache-2.0",
}
SEVENSEG_SOURCE = {
    "name": "sevenseg-digits",
    "repository": "Kazuhito00/7segment-display-reader",
    "commit": "548aa4f630a422a2eede07ddf86fabc64c9decad",
    "licence": "Apache-2.0",
}


class DataError(ValueError):
    """A data folder that is missing or not laid out as its README says."""


@dataclass(frozen=True)
class WindowSet:
    """Raw box crops, their wheel positions (-1: not a digit) and where each came from."""

    crops: list[npt.NDArray[np.uint8]]
    positions: npt.NDArray[np.float32]
    groups: tuple[str, ...]  # meter model, "sevenseg" or "synthetic/<kind>"
    files: tuple[str, ...] = ()  # where known: each crop's file, relative to its data set

    def __len__(self) -> int:
        return len(self.crops)

    def subset(self, mask: npt.NDArray[np.bool_]) -> WindowSet:
        idx = np.flatnonzero(mask)
        return WindowSet(
            [self.crops[i] for i in idx], self.positions[idx], tuple(self.groups[i] for i in idx),
            tuple(self.files[i] for i in idx) if self.files else (),
        )


def concat_sets(*parts: WindowSet) -> WindowSet:
    crops = [c for p in parts for c in p.crops]
    positions = np.concatenate([p.positions for p in parts]) if parts else np.zeros(0, np.float32)
    return WindowSet(crops, positions.astype(np.float32), tuple(g for p in parts for g in p.groups))


def _read_image(path: Path) -> U8:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: not an image OpenCV can read")
    return np.asarray(image, np.uint8)


def _labels_csv(root: Path, what: str) -> list[dict[str, str]]:
    path = root / "labels.csv"
    if not path.is_file():
        raise DataError(
            f"{root}: no labels.csv; give the {what} folder (e.g. ../shared/data/{what})"
        )
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def load_meter_digits(
    root: str | Path, split: str, meters: Sequence[str] | None = None
) -> WindowSet:
    """The real meter crops of one split (``train`` or ``dev``), optionally some meters only."""
    root = Path(root)
    rows = [r for r in _labels_csv(root, "meter-digits") if r["split"] == split]
    if meters is not None:
        rows = [r for r in rows if r["meter"] in set(meters)]
    if not rows:
        raise DataError(f"{root}/labels.csv: no crops in split {split!r}")
    crops = [_read_image(root / r["file"]) for r in rows]
    positions = np.array([float(r["value"]) for r in rows], np.float32)
    logger.info("meter-digits %s: %d crops from %d meters", split, len(rows),
                len({r["meter"] for r in rows}))
    return WindowSet(crops, positions, tuple(r["meter"] for r in rows),
                     tuple(r["file"] for r in rows))


ERRATA = Path(__file__).with_name("meter_digits_errata.csv")
SEVENSEG_ERRATA = Path(__file__).with_name("sevenseg_errata.csv")


def load_errata(path: str | Path = ERRATA) -> dict[str, str]:
    """Crops whose label their picture does not show: file -> what it shows (``blank``,
    or ``partial``: segments missing, no digit to tell)."""
    with Path(path).open(newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["file"]: r["shows"] for r in rows}


def positions_with_errata(data: WindowSet, errata: dict[str, str]) -> npt.NDArray[np.float32]:
    """``data``'s positions with those the errata correct (a blank: not a digit)."""
    positions = data.positions.copy()
    positions[[i for i, f in enumerate(data.files) if errata.get(f) == "blank"]] = (
        NOT_A_DIGIT_POSITION
    )
    return positions


def sevenseg_part(index: int, count: int) -> str:
    """``train`` or ``heldout``: the last share of each class, in frame order, is held out."""
    return "heldout" if index >= math.ceil(count * (1.0 - SEVENSEG_HELD_OUT)) else "train"


def load_sevenseg(root: str | Path, part: str) -> WindowSet:
    """Real LCD cells: ``part`` ``train`` or ``heldout`` (frames of a video, split by order)."""
    root = Path(root)
    rows = _labels_csv(root, "sevenseg-digits")
    by_label: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    chosen: list[dict[str, str]] = []
    for items in by_label.values():
        items.sort(key=lambda r: r["file"])
        chosen += [r for i, r in enumerate(items) if sevenseg_part(i, len(items)) == part]
    crops = [_read_image(root / r["file"]) for r in chosen]
    positions = np.array(
        [NOT_A_DIGIT_POSITION if r["label"] == "blank" else float(r["label"]) for r in chosen],
        np.float32,
    )
    logger.info("sevenseg-digits %s: %d cells", part, len(chosen))
    return WindowSet(crops, positions, ("sevenseg",) * len(chosen),
                     tuple(r["file"] for r in chosen))


# -- generated windows ----------------------------------------------------------------------
_SYNTHETIC_KINDS = {"wheel": 0.45, "segment": 0.3, "blank_cell": 0.1, "blank_wheel": 0.05,
                    "glare": 0.05, "segment_symbol": 0.05}


def _synthetic_chunk(n: int, seed: np.random.SeedSequence, fonts: str,
                     dot_matrix: float = 0.0) -> WindowSet:
    from ..common.fonts import PLAIN_SEVEN, font_pool
    from ..common.printed import CropSpec, Style, render_crop
    from .dot_matrix import VARIANTS, dot_matrix_glyphs

    rng = np.random.default_rng(seed)
    pool = font_pool(fonts)
    kinds = list(_SYNTHETIC_KINDS)
    p = np.array(list(_SYNTHETIC_KINDS.values()))
    crops: list[U8] = []
    positions: list[float] = []
    groups: list[str] = []
    for _ in range(n):
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        if kind == "wheel":
            position = round(float(rng.uniform(0, 10)), 1) % 10.0
            lower = int(position)
            spec = CropSpec("wheel", "wheel", 0, lower, position - lower)
        elif kind == "segment":
            position = float(rng.integers(10))
            spec = CropSpec("segment", "segment", 0, int(position))
        elif kind == "blank_wheel":
            position, spec = NOT_A_DIGIT_POSITION, CropSpec(kind, "wheel", 10)
        elif kind == "segment_symbol":
            symbol = "-EFHLPrnA"[int(rng.integers(9))]
            position, spec = NOT_A_DIGIT_POSITION, CropSpec(kind, "segment", 10, symbol=symbol)
        else:
            style: Style = "segment" if rng.random() < 0.5 else "print"
            position, spec = NOT_A_DIGIT_POSITION, CropSpec(kind, style, 10)
        glyphs = pool.pick(spec.style == "segment", rng)
        group = f"synthetic/{kind}"
        # Only when asked, so the default examples stay those of the shipped recipe.
        if dot_matrix > 0 and kind in ("segment", "blank_cell") and spec.style == "segment" \
                and rng.random() < dot_matrix:
            glyphs = dot_matrix_glyphs(int(rng.integers(len(VARIANTS))))
            group += "/dot-matrix"  # a neighbour strip beside it comes from its own kind
        if spec.digit == 7 and kind == "segment" and PLAIN_SEVEN in glyphs.ink \
                and rng.random() < 0.5:
            spec = CropSpec(kind, "segment", 0, symbol=PLAIN_SEVEN)  # a, b, c lit, not f
        crop = render_crop(spec, glyphs, rng)
        crops.append(crop.image)
        positions.append(position)
        groups.append(group)
    return WindowSet(crops, np.array(positions, np.float32), tuple(groups))


def synthetic_windows(n: int, seed: int, fonts: str = "train", workers: int = 1,
                      dot_matrix: float = 0.0) -> WindowSet:
    """``n`` generated wheel windows (any roll) and LCD/LED cells, with some empty ones;
    ``dot_matrix``: the share of the segment cells (digits and empty ones) drawn as a
    dot-matrix character LCD's instead (:mod:`digitd.train.wheels.dot_matrix`)."""
    if not 0.0 <= dot_matrix <= 1.0:
        raise ValueError(f"dot-matrix share {dot_matrix}: give a share from 0 to 1")
    chunk = 500
    sizes = [min(chunk, n - i) for i in range(0, n, chunk)]
    return concat_sets(*map_chunks(_synthetic_chunk, sizes, seed, workers, fonts, dot_matrix))


# -- camera and framing faults ----------------------------------------------------------------
def reframe(crop: U8, rng: np.random.Generator, strength: float = 1.0) -> U8:
    """The box a little off: shifted, scaled, turned a few degrees (edges repeated).

    The vertical shift is kept small: on a wheel it would move the digit, and so
    change the position the label claims.
    """
    import cv2

    h, w = crop.shape[:2]
    angle = rng.uniform(-4, 4) * strength
    # Zooming in about the centre cuts the edges (a box drawn tight, a digit's top cut
    # off) without moving the digit, so the position label still holds.
    scale = 1.0 + rng.uniform(-0.1, 0.25) * strength
    dx = rng.uniform(-0.1, 0.1) * w * strength
    dy = rng.uniform(-0.04, 0.04) * h * strength
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    mat[0, 2] += dx
    mat[1, 2] += dy
    return np.asarray(
        cv2.warpAffine(crop, mat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        np.uint8,
    )


def frame_bars(crop: U8, rng: np.random.Generator) -> U8:
    """Dark or light bars at the edges: the window's frame inside a box drawn too large."""
    out = crop.copy()
    h, w = out.shape[:2]
    for side in rng.permutation(4)[: int(rng.integers(1, 3))]:
        level = rng.uniform(0, 60) if rng.random() < 0.6 else rng.uniform(170, 255)
        if side < 2:
            t = round(rng.uniform(0.04, 0.15) * w)
            if t and side == 0:
                out[:, :t] = level
            elif t:
                out[:, w - t :] = level
        else:
            t = round(rng.uniform(0.03, 0.08) * h)
            if t and side == 2:
                out[:t, :] = level
            elif t:
                out[h - t :, :] = level
    return out


def flash_glare(img: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """An LED flash's reflection on the meter's glass: a patch pulled towards white.

    Anywhere in the box, 10-45 % of its height and width, from a faint veil (the digit
    still shows through at lower contrast) to a burnt-out core where nothing shows, as
    an ESP32-CAM's flash leaves on a window. Works in grey levels (float, 0-255).
    """
    h, w = img.shape[:2]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = rng.uniform(0.1, 0.45) * h, rng.uniform(0.1, 0.45) * w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    spot = np.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)) * rng.uniform(0.4, 1.0)
    if img.ndim == 3:
        spot = spot[..., None]
    return (img + (255.0 - img) * spot).astype(np.float32)


def glare_crop(crop: U8, rng: np.random.Generator) -> U8:
    """``crop`` under :func:`flash_glare` (``wheels.evaluate``'s glare row)."""
    from ..common import camera

    return camera.to_u8(flash_glare(crop.astype(np.float32), rng))


def photograph(crop: U8, rng: np.random.Generator, glare: float = 0.0) -> U8:
    """Light, colour cast, blur, low resolution, noise, JPEG, and now and then inverted;
    ``glare``: the share also given a flash's glare (:func:`flash_glare`)."""
    from ..common import camera

    img = crop.astype(np.float32)
    if img.ndim == 3 and rng.random() < 0.4:  # colour cast / white balance
        img = img * rng.uniform(0.7, 1.3, 3).astype(np.float32)
    gain, offset = rng.uniform(0.6, 1.3), rng.uniform(-40, 40)
    img = img * gain + offset
    if rng.random() < 0.3:
        gamma = rng.uniform(0.6, 1.6)
        img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** gamma
    h, w = img.shape[:2]
    if rng.random() < 0.15:  # an LED flash hot spot
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((yy - cy) / (0.3 * h)) ** 2 + ((xx - cx) / (0.4 * w)) ** 2
        spot = rng.uniform(60, 180) * np.exp(-r2)
        img = img + (spot[..., None] if img.ndim == 3 else spot)
    # Only when asked, so the default examples stay those of earlier recipes.
    if glare > 0 and rng.random() < glare:
        img = flash_glare(np.clip(img, 0, 255), rng)
    if rng.random() < 0.35:
        img = camera.blur(img, rng, 1.5, 0.4)
    if rng.random() < 0.25 and min(h, w) >= 16:
        img = camera.low_resolution(img, rng, (1.5, 3.0), smallest=4, blocky=False)
    if rng.random() < 0.5:
        img = camera.sensor_noise(img, rng, 8.0, dtype=np.float32)
    out = camera.to_u8(img)
    if rng.random() < 0.3:
        out = camera.jpeg(out, rng, 25, 90)
    if rng.random() < 0.2:
        out = 255 - out
    return out


def side_neighbours(crop: U8, left: U8 | None, right: U8 | None, rng: np.random.Generator) -> U8:
    """A box drawn wider than its cell: a strip of the cell beside it at one side or both.

    The strip is the neighbour's near edge (its stem, a decimal point, the frame between
    two wheels), 10-35 % of the cell's width; the position label still holds, for a
    neighbour sits beside a wheel, not above it. ``wheels.evaluate`` measures the dev split
    with it (neighbours from the same meter, so light and colour match); training uses
    it only when asked (``--neighbour-share``: README, "Meters", for what it costs).
    """
    import cv2

    h, w = crop.shape[:2]
    parts = [crop]
    for side, other in (("left", left), ("right", right)):
        if other is None:
            continue
        oh, ow = other.shape[:2]
        scaled: U8 = np.asarray(
            cv2.resize(other, (max(1, round(ow * h / oh)), h), interpolation=cv2.INTER_AREA),
            np.uint8,
        )
        if scaled.ndim != crop.ndim:
            code = cv2.COLOR_GRAY2BGR if crop.ndim == 3 else cv2.COLOR_BGR2GRAY
            scaled = np.asarray(cv2.cvtColor(scaled, code), np.uint8)
        t = min(scaled.shape[1], max(1, round(rng.uniform(0.1, 0.35) * w)))
        if side == "left":
            parts.insert(0, scaled[:, scaled.shape[1] - t :])
        else:
            parts.append(scaled[:, :t])
    return np.ascontiguousarray(np.concatenate(parts, axis=1), np.uint8)


def beside(crop: U8, others: Sequence[U8], rng: np.random.Generator) -> U8:
    """``crop`` with one or two of ``others`` (cells of the same meter) at its sides."""
    left = others[int(rng.integers(len(others)))]
    right = others[int(rng.integers(len(others)))]
    sides = rng.random()
    return side_neighbours(crop, left if sides < 0.7 else None, right if sides >= 0.4 else None,
                           rng)


def augment_crop(crop: U8, rng: np.random.Generator, others: Sequence[U8] = (),
                 neighbour_share: float = 0.0, glare: float = 0.0) -> U8:
    """One real or generated crop with a set-up's faults; with ``neighbour_share``, that
    share of them also shows a strip of one of ``others`` (cells of its own meter) beside
    it, as a box drawn wider than its cell does; with ``glare``, that share a flash's
    glare."""
    if others and neighbour_share > 0 and rng.random() < neighbour_share:
        crop = beside(crop, others, rng)
    if rng.random() < 0.8:
        crop = reframe(crop, rng)
    if rng.random() < 0.2:
        crop = frame_bars(crop, rng)
    return photograph(crop, rng, glare)


def _inputs_chunk(part: tuple[list[U8], Sequence[str]], seed: np.random.SeedSequence | None,
                  neighbour_share: float = 0.0, glare: float = 0.0) -> U8:
    crops, groups = part
    rng = np.random.default_rng(seed) if seed is not None else None
    same: dict[str, list[U8]] = {}
    if neighbour_share > 0:
        for crop, g in zip(crops, groups, strict=True):
            same.setdefault(g, []).append(crop)
    out = np.zeros((len(crops), HEIGHT, WIDTH), np.uint8)
    for i, crop in enumerate(crops):
        if rng is None:
            out[i] = window_input(crop)
        else:
            others = same.get(groups[i], [])
            out[i] = window_input(augment_crop(crop, rng, others, neighbour_share, glare))
    return out


def window_examples(
    data: WindowSet, seed: int | None, workers: int = 1, neighbour_share: float = 0.0,
    glare: float = 0.0,
) -> U8:
    """Model inputs for every crop: augmented with ``seed``, as they are with ``None``.

    ``neighbour_share``: the share of augmented crops given a strip of another crop of
    their own group (meter, or kind of generated window) beside them. Neighbours are
    drawn from the crop's chunk of 2,000: crops are stored meter by meter, so nearly
    all of a meter's cells are at hand. ``glare``: the share given a flash's glare.
    """
    if not 0.0 <= neighbour_share <= 1.0:
        raise ValueError(f"neighbour share {neighbour_share}: give a share from 0 to 1")
    if not 0.0 <= glare <= 1.0:
        raise ValueError(f"glare share {glare}: give a share from 0 to 1")
    chunk = 2000
    parts = [(data.crops[i : i + chunk], data.groups[i : i + chunk])
             for i in range(0, len(data), chunk)]
    out = map_chunks(_inputs_chunk, parts, seed, workers, neighbour_share, glare)
    return np.concatenate(out) if out else np.zeros((0, HEIGHT, WIDTH), np.uint8)
