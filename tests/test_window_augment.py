"""How training can frame real crops as boxes drawn too wide: a strip of a neighbouring cell
beside the crop, taken from cells of the same meter only, and only when asked."""

from __future__ import annotations

import numpy as np
import pytest

from digitd.train.wheels import data as window_data
from digitd.train.wheels.data import WindowSet, window_examples


def _two_meters() -> WindowSet:
    """Meter A's crops are marked 10..59 in their corner, meter B's 100..149."""
    crops = [np.full((40, 24), 10 + i, np.uint8) for i in range(50)]
    crops += [np.full((40, 24), 100 + i, np.uint8) for i in range(50)]
    return WindowSet(crops, np.zeros(100, np.float32), tuple(["meter/A"] * 50 + ["meter/B"] * 50))


def test_neighbour_strips_come_from_cells_of_the_same_meter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """About the share asked for of the augmented crops get a neighbour, always one of
    their own meter's cells (light, colour and font match as on the real display);
    crops read as they are never do."""
    calls: list[tuple[int, set[int]]] = []
    real_beside = window_data.beside

    def spy(crop: np.ndarray, others: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
        calls.append((int(crop[0, 0]), {int(o[0, 0]) for o in others}))
        return real_beside(crop, others, rng)

    monkeypatch.setattr(window_data, "beside", spy)
    data = _two_meters()
    window_examples(data, None, neighbour_share=0.3)
    assert not calls
    x = window_examples(data, 3, neighbour_share=0.3)
    assert x.shape == (100, 32, 20)
    assert 15 <= len(calls) <= 45
    for mark, others in calls:
        meter = range(10, 60) if mark < 100 else range(100, 150)
        assert others and others <= set(meter)
    calls.clear()
    window_examples(data, 3, neighbour_share=1.0)
    assert len(calls) == 100


def test_without_a_share_the_augmented_crops_are_those_of_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default (the shipped model's recipe) draws no neighbour and not one random
    number more: the same seed gives the same examples as a share of 0 always did."""
    data = _two_meters()
    plain = window_examples(data, 3)

    def refuse(*_args: object) -> np.ndarray:
        raise AssertionError("beside() called without a neighbour share")

    monkeypatch.setattr(window_data, "beside", refuse)
    assert np.array_equal(window_examples(data, 3, neighbour_share=0.0), plain)
    monkeypatch.undo()
    assert not np.array_equal(window_examples(data, 3, neighbour_share=0.5), plain)


def test_a_share_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="share from 0 to 1"):
        window_examples(_two_meters(), 3, neighbour_share=1.5)


def _real_crop() -> np.ndarray:
    import cv2

    from tests.meter_strips import meter_crops

    crop = next(c for c in meter_crops() if c.meter == "powermeter/Heliowatt")
    return np.asarray(cv2.imread(str(crop.file), cv2.IMREAD_COLOR), np.uint8)


def test_a_flash_glare_pulls_one_patch_of_the_box_towards_white() -> None:
    """``--glare``: a patch somewhere in the box, from a veil to a burnt-out core; the box
    is never darkened, and the patch is local (some of the box is left as it was)."""
    crop = _real_crop().astype(np.float32)
    rng = np.random.default_rng(0)
    cores = []
    for _ in range(200):
        out = window_data.flash_glare(crop, rng)
        assert out.shape == crop.shape
        lift = out - crop
        assert lift.min() >= -1e-3 and out.max() <= 255.0 + 1e-3
        # the most any pixel moved towards white, as a share of the way there
        cores.append(float((lift / np.maximum(255.0 - crop, 1.0)).max()))
        assert np.mean(lift < 2.0) > 0.05
    assert min(cores) < 0.6 and max(cores) > 0.95  # faint veils and burnt-out cores


def test_glare_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A glare share of 0 (the default) draws no glare and not one random number more;
    a share gives about that share of the augmented crops a glare, and none to crops read
    as they are."""
    data = _two_meters()
    plain = window_examples(data, 3)
    calls: list[int] = []
    real_glare = window_data.flash_glare

    def spy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        calls.append(1)
        return real_glare(img, rng)

    monkeypatch.setattr(window_data, "flash_glare", spy)
    assert np.array_equal(window_examples(data, 3, glare=0.0), plain)
    window_examples(data, None, glare=1.0)
    assert not calls
    glared = window_examples(data, 3, glare=0.3)
    assert 15 <= len(calls) <= 45 and not np.array_equal(glared, plain)
    with pytest.raises(ValueError, match=r"glare share 1\.5"):
        window_examples(data, 3, glare=1.5)
