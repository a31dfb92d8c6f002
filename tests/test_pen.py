"""How people's pens differ from MNIST's: the training variants on real MNIST digits."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from digitd.train.digits.augment import camera_batch
from digitd.train.digits.pen import (
    KINDS,
    cell_border,
    crossed_seven,
    european_one,
    parse_kinds,
    pen_lift,
    pen_variant,
)

Digits = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def _of(mnist: Digits, label: int, n: int = 20) -> npt.NDArray[np.uint8]:
    images, labels = mnist
    return images[labels == label][:n]


def test_european_one_gets_a_flag_left_of_the_stroke(mnist_test: Digits) -> None:
    rng = np.random.default_rng(0)
    for one in _of(mnist_test, 1):
        out = european_one(one, rng)
        assert out.sum() > one.sum()  # ink added, none taken
        assert (out >= one).all()
        xs_before = np.nonzero(one > 60)[1]
        xs_after = np.nonzero(out > 60)[1]
        assert xs_after.min() < xs_before.min()  # the flag reaches out to the left


def test_crossed_seven_gets_a_bar_at_mid_height(mnist_test: Digits) -> None:
    rng = np.random.default_rng(1)
    for seven in _of(mnist_test, 7):
        out = crossed_seven(seven, rng)
        added = (out > 60) & ~(seven > 60)
        ys = np.nonzero(seven > 60)[0]
        rows = np.nonzero(added.any(axis=1))[0]
        assert rows.size, "a bar was drawn"
        middle = (rows.mean() - ys.min()) / (ys.max() - ys.min())
        assert 0.3 < middle < 0.75


def test_pen_lift_cuts_a_little_and_only_a_little(mnist_test: Digits) -> None:
    rng = np.random.default_rng(2)
    images, _ = mnist_test
    for digit in images[:50]:
        out = pen_lift(digit, rng)
        assert (out <= digit).all()
        assert out.sum() >= 0.8 * digit.sum()


def test_cell_border_lines_the_crop_edges() -> None:
    rng = np.random.default_rng(3)
    ink = np.zeros((40, 30), np.float32)
    out = cell_border(ink, rng)
    edges = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
    assert edges.max() >= 0.5 and out[5:-5, 5:-5].max() == 0.0


def test_variants_keep_their_labels_and_change_some_digits(mnist_test: Digits) -> None:
    images, labels = mnist_test
    rng = np.random.default_rng(4)
    changed = sum(
        int(not np.array_equal(pen_variant(d, int(y), rng), d))
        for d, y in zip(images[:200], labels[:200], strict=True)
    )
    assert 40 <= changed <= 140  # some, not all: plain MNIST digits stay in the mix
    out = camera_batch(images[:20], seed=5, labels=labels[:20], kinds=KINDS)
    assert out.shape == (20, 28, 28) and out.dtype == np.uint8


def test_only_the_variants_asked_for_are_drawn(mnist_test: Digits) -> None:
    images, labels = mnist_test
    ones, others = images[labels == 1][:40], images[(labels != 1) & (labels != 7)][:40]
    rng = np.random.default_rng(6)
    flagged = sum(int(not np.array_equal(pen_variant(d, 1, rng, ("european-1",)), d)) for d in ones)
    assert flagged >= 10  # about half the 1s get a flag
    # With only European 1s asked for, no other digit is touched (no pen lifts).
    for d, y in zip(others, labels[(labels != 1) & (labels != 7)][:40], strict=True):
        assert np.array_equal(pen_variant(d, int(y), rng, ("european-1",)), d)


def test_pen_variant_names_are_checked() -> None:
    assert parse_kinds("all") == KINDS
    assert parse_kinds("european-1, crossed-7") == ("european-1", "crossed-7")
    with pytest.raises(ValueError, match=r"unknown variant lifts.*lift, european-1"):
        parse_kinds("lifts")
