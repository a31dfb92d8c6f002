"""Recipes: a model's training settings as a TOML file that ``digitd train --recipe`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digitd.train.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("recipe", "card"), [
    ("train/digits/european-1.toml", "models/digits.card.json"),
    ("train/wheels/distilled.toml", "models/meter.card.json"),
    ("train/dials/recipe.toml", "models/dial.card.json"),
])
def test_the_shipped_models_recipes_are_what_their_cards_record(recipe: str, card: str) -> None:
    _, settings = load_recipe(ROOT / recipe)
    recorded = json.loads((ROOT / card).read_text())["training"]["settings"]
    for key, value in settings.items():
        if key in recorded:  # a card from before a setting existed records its default
            assert (list(value) if isinstance(value, tuple) else value) == recorded[key], key


@pytest.mark.parametrize("recipe", ["train/digits/recipe.toml", "train/digits/european-1.toml",
                                    "train/wheels/recipe.toml", "train/wheels/distilled.toml",
                                    "train/dials/recipe.toml"])
def test_every_committed_recipe_loads(recipe: str) -> None:
    kind, settings = load_recipe(ROOT / recipe)
    want = {"wheels": "window", "dials": "dial", "digits": "digit"}[recipe.split("/")[1]]
    assert kind == want and settings


@pytest.mark.parametrize(("text", "message"), [
    ('kind = "window"\nglare_share = 0.3\n', "unknown key 'glare_share' for a window model"),
    ('kind = "digit"\nteachers = ["a.keras"]\n', "unknown key 'teachers' for a digit model"),
    ('kind = "clock"\n', "kind = 'clock': give one of digit, window, dial"),
    ('kind = "dial"\nteachers = ["a.keras"]\n', "unknown key 'teachers' for a dial model"),
    ('kind = "window"\ncopies = 2.5\n', "copies = 2.5: give a whole number"),
    ('kind = "window"\nteachers = "a.keras"\n', "teachers = 'a.keras': give a list of strings"),
    ('kind = "digit"\nshift_augment = 1\n', "shift_augment = 1: give true or false"),
    ('kind = "window"\nepochs = \n', "not a readable recipe"),
])
def test_a_wrong_recipe_is_one_error_naming_the_key_and_the_file(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"mine\.toml") as err:
        load_recipe(path)
    assert message in str(err.value)


def test_optional_settings_take_their_own_type(tmp_path: Path) -> None:
    path = tmp_path / "quick.toml"
    path.write_text('kind = "window"\nlimit = 200\ninit = "runs/a/model.keras"\n')
    assert load_recipe(path) == ("window", {"limit": 200, "init": "runs/a/model.keras"})
    path.write_text('kind = "window"\nlimit = "all"\n')
    with pytest.raises(ValueError, match="limit = 'all': give a whole number"):
        load_recipe(path)


def test_a_missing_recipe_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such recipe file"):
        load_recipe(tmp_path / "none.toml")
