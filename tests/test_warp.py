"""The elastic distortion used in training, on real MNIST digits."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

tf = pytest.importorskip("tensorflow")

from digitd.train.warp import elastic  # noqa: E402


@pytest.fixture(scope="module")
def digits(mnist_test: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]) -> np.ndarray:
    return mnist_test[0][:64, ..., None].astype(np.float32) / 255.0


def _centre(images: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[0:28, 0:28]
    mass = images[..., 0].sum(axis=(1, 2))
    return np.stack([(images[..., 0] * ys).sum(axis=(1, 2)) / mass,
                     (images[..., 0] * xs).sum(axis=(1, 2)) / mass], axis=1)


def test_probability_zero_leaves_images_untouched(digits: np.ndarray) -> None:
    out = elastic(tf.constant(digits), 0.0).numpy()
    np.testing.assert_array_equal(out, digits)


def test_distortion_wobbles_the_digit_but_keeps_it(digits: np.ndarray) -> None:
    tf.random.set_seed(5)
    out = elastic(tf.constant(digits), 1.0).numpy()
    assert out.shape == digits.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    changed = np.abs(out - digits).reshape(len(digits), -1).max(axis=1)
    assert (changed > 0.2).all(), "every digit must actually be distorted"
    # Smooth local moves of up to 1.6 pixels stretch and squeeze strokes a little,
    # but ink is neither lost nor invented, and the digit stays where it was.
    mass_ratio = out.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert np.all((mass_ratio > 0.65) & (mass_ratio < 1.35)), mass_ratio
    assert 0.95 < mass_ratio.mean() < 1.05
    assert np.abs(_centre(out) - _centre(digits)).max() < 2.0


def test_probability_picks_a_share_of_the_batch(digits: np.ndarray) -> None:
    tf.random.set_seed(9)
    batch = np.concatenate([digits] * 8)
    out = elastic(tf.constant(batch), 0.5).numpy()
    touched = (np.abs(out - batch).reshape(len(batch), -1).max(axis=1) > 0).mean()
    assert 0.35 < touched < 0.65
