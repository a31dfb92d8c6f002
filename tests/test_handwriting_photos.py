"""Handwriting as phones photograph it: grid lines, pen lifts, thick markers, thin pencil.

Every digit here is a real MNIST test digit (the committed sample); only the paper,
the pen and the lines around it are made, the way each failure was seen on real
photos (see ``python -m digitd.train.digits.sudoku_eval``); and nine rows of one real photo
(``tests/data/sudoku-rows``) are read as they are.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from digitd.edge.config import LocateConfig
from digitd.edge.vision.classifier import Classifier
from digitd.edge.vision.ink import line_mask
from digitd.edge.vision.reader import Reader
from digitd.train.digits.pen import european_one
from digitd.train.digits.sudoku_eval import cell_boxes

Digits = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]
U8 = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(Classifier())


def _paper(rng: np.random.Generator, h: int, w: int) -> npt.NDArray[np.float32]:
    base = rng.uniform(175, 225)
    texture = cv2.GaussianBlur(rng.normal(0, 5, (h, w)).astype(np.float32), (0, 0), 1.2)
    return np.asarray(base + texture, np.float32)


def _ink_of(digit: U8, size: int, stroke: int = 0) -> npt.NDArray[np.float32]:
    """The MNIST digit scaled to ``size`` px, its strokes grown (>0) or thinned (<0)."""
    big = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    if stroke:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(stroke) + 1,) * 2)
        big = np.asarray(cv2.dilate(big, k) if stroke > 0 else cv2.erode(big, k), np.float32)
    return np.clip(big / 255.0, 0, 1)


def _cell(digit: U8, rng: np.random.Generator, *, stroke: int = 0, contrast: float = 150.0,
          lines: bool = True, size: int = 100) -> U8:
    """One sudoku-like cell: paper, the digit in pen, grid lines at the edges."""
    paper = _paper(rng, size, size)
    ink = np.zeros((size, size), np.float32)
    d = int(size * rng.uniform(0.75, 0.9))
    x, y = (size - d) // 2 + int(rng.integers(-4, 5)), (size - d) // 2 + int(rng.integers(-4, 5))
    ink[y : y + d, x : x + d] = _ink_of(digit, d, stroke)
    img = paper - contrast * ink
    if lines:
        t = int(rng.integers(2, 5))
        for edge in (0, size - t):
            img[edge : edge + t, :] -= rng.uniform(90, 140)  # horizontal grid lines
            img[:, edge : edge + t] -= rng.uniform(90, 140)  # vertical grid lines
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    return np.clip(img, 0, 255).astype(np.uint8)


def _rate(reader: Reader, cells: list[U8], labels: list[int]) -> float:
    return float(np.mean([reader.read(c).value == str(y) for c, y in zip(cells, labels,
                                                                           strict=True)]))


def test_grid_lines_are_not_digits(reader: Reader, mnist_test: Digits) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(1)
    cells = [_cell(images[i], rng) for i in range(120)]
    values = [reader.read(c).value for c in cells]
    # The lines around a cell are neither read as "1"s nor glued to the digit.
    assert np.mean([len(v) <= 1 for v in values]) >= 0.97
    assert np.mean([v == str(y) for v, y in zip(values, labels[:120], strict=True)]) >= 0.9
    # An empty cell is empty, lines and all.
    empty = _cell(np.zeros((28, 28), np.uint8), rng)
    assert reader.read(empty).value == ""


def test_line_mask_finds_lines_and_spares_digits(mnist_test: Digits) -> None:
    mask = np.zeros((100, 300), np.uint8)
    mask[50:53, :] = 255  # a ruled line across the region
    mask[:, 150:152] = 255  # a table border
    digit = cv2.resize(mnist_test[0][0], (60, 60))
    mask[20:80, 20:80] = np.where(digit > 100, 255, mask[20:80, 20:80])
    lines = line_mask(mask)
    assert lines is not None
    assert lines[51, 5] and lines[51, 295] and lines[5, 150] and lines[95, 151]
    # A digit's pixels away from the lines stay.
    kept = (mask > 0) & ~lines
    assert kept[20:80, 20:80].sum() >= 0.8 * (digit > 100).sum() - 3 * 60
    assert line_mask(np.where(digit > 100, 255, 0).astype(np.uint8)) is None


def _lift(digit: U8, label: int) -> U8:
    """The digit drawn with a pen lift: a gap cut where people lift the pen."""
    out = digit.copy()
    ys, xs = np.nonzero(digit > 60)
    top, height = ys.min(), ys.max() - ys.min()
    if label == 7:  # the bar drawn apart from the stem
        cut = top + int(0.3 * height)
        out[cut - 1 : cut + 2, :] = 0
    elif label == 5:  # the flag lifted off the body
        cut = top + int(0.25 * height)
        out[cut - 1 : cut + 1, : xs.mean().astype(int)] = 0
        out[: cut - 1, int(xs.mean()) - 1 : int(xs.mean()) + 2] = 0
    else:  # a 4 with an open top: the left stroke apart from the upright
        mid = int(np.median(xs[ys < top + height // 2])) if (ys < top + height // 2).any() else 14
        out[:, mid + 1 : mid + 3] = 0
    return out


def test_digits_in_strokes_that_do_not_touch(reader: Reader, mnist_test: Digits) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(2)
    picks = [i for i in range(len(labels)) if labels[i] in (4, 5, 7)][:90]
    cells = [_cell(_lift(images[i], int(labels[i])), rng, lines=False) for i in picks]
    values = [reader.read(c).value for c in cells]
    truth = [str(labels[i]) for i in picks]
    # Measured: 77 % (the same digits without the lift: 97 %); before strokes were
    # joined, 60 %, and 12 % came back as a "1".
    assert np.mean([v == t for v, t in zip(values, truth, strict=True)]) >= 0.72
    # A lone upright stroke beside a refused one is not passed off as a "1".
    assert np.mean([v == "1" for v in values]) <= 0.05


def test_thick_marker_digits_keep_their_polarity(reader: Reader, mnist_test: Digits) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(3)
    picks = [i for i in range(len(labels)) if labels[i] in (0, 6, 8, 9)][:60]
    cells = [_cell(images[i], rng, stroke=4, lines=False, size=90) for i in picks]
    # Measured 83 %; 5 % when the polarity came from a local median alone.
    assert _rate(reader, cells, [int(labels[i]) for i in picks]) >= 0.78


def test_thin_faint_pencil_is_read(reader: Reader, mnist_test: Digits) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(4)
    cells = [_cell(images[i], rng, stroke=-1, contrast=70.0, lines=False) for i in range(80)]
    assert _rate(reader, cells, [int(y) for y in labels[:80]]) >= 0.95


def test_marker_digits_read_better_with_their_strokes_evened(mnist_sample_dir: Path) -> None:
    """The 1,000 committed MNIST digits written again with a marker (strokes past MNIST's
    band) and with a fine pen, read by the shipped model with the evening and without."""
    from digitd.train.digits.stroke_widths import read_with_pens

    figures = read_with_pens(Path(Classifier().model_path), mnist_sample_dir)
    marker, fine = figures["marker"], figures["finer"]
    # Measured: marker 96.0 % plain, 98.5 % evened; the finer pen 98.0 / 98.5 %.
    assert marker["outside_band"] >= 0.9
    assert marker["evened"] >= marker["plain"] + 0.015
    assert marker["evened"] >= 0.975
    assert fine["evened"] >= fine["plain"]
    # MNIST's own strokes, photographed: the band leaves 95 % of them as they are.
    assert figures["as written"]["evened"] >= 0.99


def _cells_photographed(img: npt.NDArray[np.float32], n: int, cell: int,
                        rng: np.random.Generator) -> U8:
    """A row of ``n`` cells: the heavier lines between them, then the camera's blur."""
    for k in range(1, n):
        img[:, k * cell - 1 : k * cell + 2] -= rng.uniform(90, 140)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.7), 0, 255).astype(np.uint8)


def _row(digits: list[U8], rng: np.random.Generator, cell: int = 80) -> U8:
    """A grid row straightened by ``--warp``: bold digits filling most of the row's
    height, the thin grid lines above and below fainter than the pen and cut in half
    by the warp's corners (which sit on the lines), heavier lines between the cells."""
    n = len(digits)
    paper = _paper(rng, cell, cell * n)
    ink = np.zeros_like(paper)
    for k, digit in enumerate(digits):
        d = int(cell * rng.uniform(0.72, 0.82))
        x = k * cell + (cell - d) // 2 + int(rng.integers(-3, 4))
        y = (cell - d) // 2 + int(rng.integers(-2, 3))
        ink[y : y + d, x : x + d] = np.maximum(ink[y : y + d, x : x + d], _ink_of(digit, d, 2))
    img = paper - 150.0 * ink
    faint = rng.uniform(35, 55)
    img[:2, :] -= faint
    img[-2:, :] -= faint
    return _cells_photographed(img, n, cell, rng)


def test_a_straightened_row_of_bold_digits_between_faint_lines(
    reader: Reader, mnist_test: Digits
) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(5)
    rows, truth = [], []
    for r in range(12):
        idx = list(range(9 * r, 9 * r + 9))
        rows.append(_row([images[i] for i in idx], rng))
        truth.append("".join(str(labels[i]) for i in idx))
    values = [reader.read(row).value for row in rows]
    # Measured 11 of 12; 0 of 12 when the paper's median window was a fifth of the
    # row's height (bold strokes were taken for paper, only their outlines stayed)
    # and the lines were looked for at the digits' ink level (their fainter parts
    # were left as scraps on top of the digits).
    assert np.mean([v == t for v, t in zip(values, truth, strict=True)]) >= 0.75


def test_a_digits_long_strokes_are_no_lines(mnist_test: Digits) -> None:
    # The stem of a 7 (or a 1) written almost the cell's height: it stops short of the
    # edges, a line crossing the region does not (seen on the sudoku photos).
    mask = np.zeros((100, 100), np.uint8)
    mask[8:94, 48:54] = 255
    mask[8:14, 30:54] = 255
    lines = line_mask(mask)
    assert lines is None or not lines[50, 50]
    mask[:, 90:92] = 255  # a grid line that does cross it
    lines = line_mask(mask)
    assert lines is not None and lines[50, 91] and not lines[50, 50]
    mask[:, 70:82] = 255  # and a sudoku box's heavy border, an eighth of the cell wide
    lines = line_mask(mask)
    assert lines is not None and lines[50, 76] and not lines[50, 50]

    mask = np.zeros((100, 100), np.uint8)
    # The base of a "2" drawn low in its cell: long, straight, a few pixels off the edge.
    mask[88:95, 18:75] = 255
    mask[20:88, 60:66] = 255
    lines = line_mask(mask)
    assert lines is None or not lines[91, 40]
    # A frame line that does touch the edge, along more than half of it, is one.
    mask[97:100, 10:80] = 255
    lines = line_mask(mask)
    assert lines is not None and lines[98, 40]


def _curved_row(digits: list[U8], above: list[U8], rng: np.random.Generator,
                cell: int = 80) -> U8:
    """A grid row straightened by ``--warp`` from a photo of curved paper (as the
    sudoku photo 2002): the row's lower border bows by more than a line's width
    across the row, so it is straight only cell by cell, and the tails of the row
    above's digits hang down across the top edge."""
    n = len(digits)
    paper = _paper(rng, cell, cell * n)
    ink = np.zeros_like(paper)
    for k, digit in enumerate(digits):
        d = int(cell * rng.uniform(0.68, 0.74))
        x = k * cell + (cell - d) // 2 + int(rng.integers(-3, 4))
        y = 6 + int(rng.integers(0, 3))
        ink[y : y + d, x : x + d] = np.maximum(ink[y : y + d, x : x + d], _ink_of(digit, d, 2))
        tail = _ink_of(above[k], d, 2)[int(0.9 * d) :]  # the bottom tenth of a digit
        ink[: tail.shape[0], x : x + d] = np.maximum(ink[: tail.shape[0], x : x + d], tail)
    img = paper - 150.0 * ink
    xs = np.arange(cell * n)
    bow = np.round(cell - 8 - 7 * np.sin(np.pi * xs / (cell * n))).astype(int)
    for col, top in enumerate(bow.tolist()):
        img[top : top + 2, col] -= 120.0
    return _cells_photographed(img, n, cell, rng)


def test_a_row_on_curved_paper_with_the_next_rows_tails(
    reader: Reader, mnist_test: Digits
) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(6)
    values, truth = [], []
    for r in range(12):
        idx = list(range(9 * r, 9 * r + 9))
        above = [images[500 + i] for i in idx]
        values.append(reader.read(_curved_row([images[i] for i in idx], above, rng)).value)
        truth.append("".join(str(labels[i]) for i in idx))
    exact = np.mean([v == t for v, t in zip(values, truth, strict=True)])
    # Measured 11 of 12; 0 of 12 before lines were looked for cell by cell and marks
    # cut by the row's edge were dropped (the bowed border's pieces and the tails
    # were merged into the digits, which became as tall as the row).
    assert exact >= 0.75, values


def test_a_bowed_border_is_a_line_cell_by_cell_and_a_low_digit_is_not() -> None:
    mask = np.zeros((80, 720), np.uint8)
    for k in range(1, 9):
        mask[:, 80 * k - 1 : 80 * k + 2] = 255  # the lines between the cells
    xs = np.arange(720)
    for x, y in zip(xs, np.round(66 - 7 * np.sin(np.pi * xs / 720)).astype(int), strict=True):
        mask[y : y + 2, x] = 255  # the row's lower border, bowed by 7 px
    # The base of a "2" written low in the third cell, reaching the region's edge.
    mask[73:80, 172:220] = 255
    mask[40:73, 214:220] = 255
    lines = line_mask(mask)
    assert lines is not None
    bow = np.round(66 - 7 * np.sin(np.pi * xs / 720)).astype(int)
    inside = [x for x in xs if x % 80 not in (78, 79, 0, 1, 2)]
    assert np.mean([lines[bow[x], x] for x in inside]) > 0.95
    assert not lines[77, 190]


def test_real_rows_of_a_curved_photo_keep_all_nine_digits(reader: Reader) -> None:
    # Real rows (tests/data/sudoku-rows, CC-BY-4.0): before the border was looked for
    # cell by cell and the next row's tails dropped, four of the nine rows lost one to
    # four digits (read 98135, 51623498, 47589763, 537974). Measured now: 9 digits in
    # every row, 74 of the 81 right (the misses are the model's: 1 read 7, 9 read 5).
    folder = Path(__file__).parent / "data" / "sudoku-rows"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    right = 0
    for row in rows:
        image = cv2.imread(str(folder / row["file"]), cv2.IMREAD_GRAYSCALE)
        got = reader.read(image).value
        assert len(got) == 9, (row["file"], got)
        right += sum(a == b for a, b in zip(got, row["label"], strict=True))
    assert right >= 0.88 * 81


def _overflowing(digit: U8, rng: np.random.Generator) -> U8:
    """A 110 px cell whose digit's ink runs from y 21 to 79 (scaled MNIST leaves a margin)."""
    paper = _paper(rng, 110, 110)
    ink = np.zeros_like(paper)
    ink[10:90, 15:95] = _ink_of(digit, 80, 1)
    return np.clip(cv2.GaussianBlur(paper - 150.0 * ink, (0, 0), 0.7), 0, 255).astype(np.uint8)


# The box a user drew stops at y 60: about a third of each digit lies below it.
LOW_BOX = [12, 14, 96, 46]


def _boxes(*boxes: list[int]) -> Reader:
    return Reader(Classifier(), LocateConfig(mode="boxes", boxes=list(boxes),
                                             display="handwriting"))


def test_a_digit_that_runs_over_its_box_is_read_whole(mnist_test: Digits) -> None:
    # Real pen digits leave the box drawn for them (a 2's base, a 9's tail); cut at the
    # box's edge a 2 reads 7 and a 9 nothing. Measured on these 200 digits: 100 % read
    # with the search around the box; 52 % (42 refused) with the box's crop alone, as
    # the digit model reads boxes with display = "wheels".
    images, labels = mnist_test
    rng = np.random.default_rng(7)
    cells = [_overflowing(images[i], rng) for i in range(200)]
    reader = _boxes(LOW_BOX)
    assert _rate(reader, cells, [int(y) for y in labels[:200]]) >= 0.97
    # The box still reports where the user drew it.
    assert reader.read(cells[0]).digits[0].box == tuple(LOW_BOX)


def test_neighbours_and_lines_around_a_box_are_not_its_digit(mnist_test: Digits) -> None:
    # Two boxes side by side on a form: a grid line between them, each box's searched
    # margin reaching over the line into the other's digit. Each box must read its own
    # digit, and a box with nothing in it nothing (not its neighbour's).
    images, labels = mnist_test
    rng = np.random.default_rng(8)
    right = 0
    for k in range(40):
        paper = _paper(rng, 110, 180)
        ink = np.zeros_like(paper)
        ink[30:80, 30:80] = _ink_of(images[k], 50, 1)  # the first box's digit
        ink[:, 94:97] = 1.0  # a grid line along the first box's right edge
        ink[30:80, 110:160] = _ink_of(images[k + 80], 50, 1)  # the second box's digit
        img = np.clip(paper - 150.0 * ink, 0, 255).astype(np.uint8)
        got = _boxes([20, 18, 76, 76], [100, 18, 76, 76]).read(img).digits
        right += got[0].digit == labels[k] and got[1].digit == labels[k + 80]
        first_only = np.clip(paper - 150.0 * ink * (np.arange(180) < 100), 0, 255)
        alone = _boxes([20, 18, 76, 76], [100, 18, 76, 76]).read(first_only.astype(np.uint8))
        assert alone.digits[1].digit is None  # the empty box is not given its neighbour
    assert right >= 36  # measured: 39 of 40


def test_european_ones_are_ones_and_sevens_stay_sevens(reader: Reader, mnist_test: Digits) -> None:
    # A 1 with the long flag European schools teach read 7 or 4 in the sudoku photos.
    # The flags are drawn by train/digits/pen.py, the generator the shipped model was
    # fine-tuned with, so this checks that the fine-tune took, not that it carries to
    # other writers (sudoku_eval does that). Measured: 87 % of these 105 real MNIST 1s
    # with flags read 1 (the model before the fine-tune: 32 %, and 10 % read 7).
    images, labels = mnist_test
    rng = np.random.default_rng(9)
    ones = [_cell(european_one(d, rng), rng) for d in images[labels == 1]]
    values = [reader.read(c).value for c in ones]
    assert np.mean([v == "1" for v in values]) >= 0.8
    assert np.mean([v == "7" for v in values]) <= 0.05
    rng = np.random.default_rng(10)
    sevens = [_cell(d, rng) for d in images[labels == 7]]
    assert _rate(reader, sevens, [7] * len(sevens)) >= 0.97


def test_real_rows_in_handwriting_boxes_through_the_command_line() -> None:
    # A form or a grid read with fixed boxes: `--display handwriting` gives the boxes to
    # the digit model (searched around each box), not to the meter-window model,
    # which reads these boxes as wheels (row 7 as 11-289763). One box per cell, 14 %
    # of the cell inside it, as sudoku_eval's inner box. Measured: 77 of the 81 digits,
    # 6 of the 9 rows exact (before: 74 digits with the model of commit `1a156fe` and plain crops).
    folder = Path(__file__).parent / "data" / "sudoku-rows"
    with (folder / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    right = exact = 0
    for row in rows:
        path = folder / row["file"]
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert image is not None
        h, w = image.shape
        boxes = ";".join(",".join(map(str, b)) for b in cell_boxes(w, h))
        proc = subprocess.run(
            [sys.executable, "-m", "digitd.edge.cli", "-q", "recognize", "--json",
             "--boxes", boxes, "--display", "handwriting", str(path)],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert len(out["digits"]) == 9
        assert all("position" not in d for d in out["digits"])  # digits, not wheels
        got = "".join("-" if d["digit"] is None else str(d["digit"]) for d in out["digits"])
        right += sum(a == b for a, b in zip(got, row["label"], strict=True))
        exact += got == row["label"]
    assert right >= 75 and exact >= 5


def test_the_model_is_picked_by_what_the_boxes_hold() -> None:
    from digitd.edge.config import ModelConfig
    from digitd.edge.vision.reader import reader_for

    boxes = [[0, 0, 20, 30]]
    for display, window in (("wheels", True), ("lcd", True), ("handwriting", False)):
        r = reader_for(ModelConfig(), LocateConfig(mode="boxes", boxes=boxes, display=display))
        assert (r.window is not None) is window and (r.classifier is None) is window, display
    auto = reader_for(ModelConfig(), LocateConfig())
    assert auto.window is None and auto.classifier is not None
