"""Printed meter digits: reproducible, balanced, MNIST-style, fonts split cleanly, labels honest."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitd.edge.vision.labels import NOT_A_DIGIT
from digitd.edge.vision.normalise import normalise_digit
from digitd.train.common.fonts import (
    FAMILIES,
    FONT_FAMILIES_HELDOUT,
    FONT_FAMILIES_TRAIN,
    PLAIN_SEVEN,
    font_files,
    load_glyphs,
)
from digitd.train.common.meter_render import wheel_label
from digitd.train.common.meters import meter_image
from digitd.train.common.printed import printed_digits, printed_examples, render_digit_crop


@pytest.fixture(scope="module")
def examples() -> tuple[np.ndarray, np.ndarray]:
    split = printed_digits(550, seed=7)
    return split.images, split.labels


def test_same_seed_same_examples_other_seed_other_examples() -> None:
    a, b = printed_digits(120, seed=3), printed_digits(120, seed=3)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, printed_digits(120, seed=4).images)


def test_workers_do_not_change_the_examples() -> None:
    one = printed_examples(600, seed=5, workers=1)
    two = printed_examples(600, seed=5, workers=2)
    assert np.array_equal(one.images, two.images) and one.kinds == two.kinds


def test_classes_are_balanced(examples: tuple[np.ndarray, np.ndarray]) -> None:
    _, labels = examples
    counts = np.bincount(labels, minlength=NOT_A_DIGIT + 1)
    assert len(counts) == NOT_A_DIGIT + 1
    assert counts.max() - counts.min() <= 1


def test_images_are_mnist_style(examples: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = examples
    assert images.shape == (len(labels), 28, 28) and images.dtype == np.uint8
    digits = images[labels != NOT_A_DIGIT]
    # White on black: the outer frame is dark (a lopsided digit may touch it), ink inside.
    frame = np.concatenate([digits[:, [0, 1, -2, -1], :].reshape(len(digits), -1),
                            digits[:, :, [0, 1, -2, -1]].reshape(len(digits), -1)], axis=1)
    assert frame.mean() < 3 and np.all(frame.mean(axis=1) < 40)
    assert np.all(digits.reshape(len(digits), -1).max(axis=1) >= 100)
    # Centred: centre of mass near the middle, as normalise_digit puts it.
    ys, xs = np.mgrid[0:28, 0:28]
    mass = digits.sum(axis=(1, 2)).astype(np.float64)
    cy = (digits * ys).sum(axis=(1, 2)) / mass
    cx = (digits * xs).sum(axis=(1, 2)) / mass
    assert np.abs(cy - 14).max() < 3.0 and np.abs(cx - 14).max() < 3.0


def test_held_out_families_are_disjoint_and_installed() -> None:
    assert not set(FONT_FAMILIES_TRAIN) & set(FONT_FAMILIES_HELDOUT)
    assert set(FONT_FAMILIES_TRAIN) | set(FONT_FAMILIES_HELDOUT) == set(FAMILIES)
    heldout_files = {p.name for f in FONT_FAMILIES_HELDOUT for p in font_files(f)}
    train_files = {p.name for f in FONT_FAMILIES_TRAIN for p in font_files(f)}
    assert not heldout_files & train_files
    # Each side has text and segment fonts, so each style can be made and evaluated.
    for side in (FONT_FAMILIES_TRAIN, FONT_FAMILIES_HELDOUT):
        assert any(FAMILIES[f].all_segments for f in side)
        assert any(not FAMILIES[f].all_segments for f in side)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_resolves_to_font_files_with_all_digits(family: str) -> None:
    # font_files raises FontMissing naming the Debian package when nothing is installed.
    for path in font_files(family):
        glyphs = load_glyphs(path, FAMILIES[family].all_segments)
        for d in "0123456789":
            assert glyphs.ink[d].max() > 0.5, f"{path}: no glyph for {d!r}"


@pytest.mark.parametrize("family", ["DSEG7 Classic", "DSEG7 Classic Mini"])
def test_seven_segment_fonts_also_draw_the_plain_seven(family: str) -> None:
    """The fonts' "7" lights the top-left segment too; most meter LCDs do not. The plain
    "7" is the fonts' own: every segment of the "1" and the top bar, nothing on the left."""
    for path in font_files(family):
        g = load_glyphs(path, FAMILIES[family].all_segments)
        plain, hooked, one = g.ink[PLAIN_SEVEN], g.ink["7"], g.ink["1"]
        # Within a pixel of the "7": some fonts place the "1" a pixel off the 7's stem.
        near_hooked = cv2.dilate(hooked, np.ones((3, 3), np.uint8))
        assert np.all(plain >= one) and np.all(plain <= near_hooked + 1e-6)
        # The left half below the top bar: the hook's segment is there in "7", not here.
        h, w = hooked.shape
        left = (slice(h // 5, h // 2), slice(0, w // 2))
        assert hooked[left].sum() > 20 * max(plain[left].sum(), 1.0), path.name
        # ... and the top bar is kept (it is what tells a 7 from a 1).
        assert plain[: h // 6].sum() > 0.5 * hooked[: h // 6].sum() > one[: h // 6].sum()
    assert PLAIN_SEVEN not in load_glyphs(font_files("Open Sans")[0]).ink


@pytest.mark.parametrize(
    ("lower", "roll", "label"),
    [
        (3, 0.0, 3), (3, 0.1, 3), (3, 0.9, 4), (9, 0.95, 0), (9, 0.05, 9),
        (3, 0.25, NOT_A_DIGIT), (3, 0.5, NOT_A_DIGIT), (9, 0.75, NOT_A_DIGIT),
        (3, 0.18, None), (3, 0.8, None),
    ],
)
def test_wheel_label_rule(lower: int, roll: float, label: int | None) -> None:
    assert wheel_label(lower, roll) == label


def test_generated_wheels_follow_the_rule() -> None:
    data = printed_examples(1100, seed=11)
    kinds = np.array(data.kinds)
    assert set(data.labels[kinds == "wheel_halfway"]) == {NOT_A_DIGIT}
    assert set(data.labels[kinds == "wheel"]) <= set(range(10))
    assert {"wheel_halfway", "blank_wheel", "glare", "segment_off"} <= set(data.kinds)


def test_half_way_wheel_shows_two_digit_halves_not_one_digit() -> None:
    whole = render_digit_crop(2, "wheel", seed=1, roll=0.0)
    half = render_digit_crop(2, "wheel", seed=1, roll=0.5)
    a = normalise_digit(whole.image, whole.dark_ink)
    b = normalise_digit(half.image, half.dark_ink)
    assert a.max() > 0 and b.max() > 0 and not np.array_equal(a, b)


@pytest.mark.parametrize("kind", ["wheels", "lcd"])
def test_meter_image_boxes_contain_the_digits(kind: str) -> None:
    image, boxes = meter_image("01234567", seed=2, kind=kind)
    blank, same_boxes = meter_image(" " * 8, seed=2, kind=kind)
    assert boxes == same_boxes and len(boxes) == 8
    h, w = image.shape[:2]
    diff = np.abs(image.astype(np.int32) - blank.astype(np.int32)).sum(axis=2).astype(np.float64)
    inside = np.zeros((h, w), bool)
    for x, y, bw, bh in boxes:
        assert x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
        assert diff[y : y + bh, x : x + bw].sum() > 0.02 * diff.sum()  # a digit in every box
        inside[y : y + bh, x : x + bw] = True
    assert diff[inside].sum() >= 0.95 * diff.sum()  # and nothing of them outside
