"""Train the dial model on generated dials of the tuning styles.

    python -m digitd.train.dials.train [--recipe train/dials/recipe.toml] [--out runs/dial]

Reads top to bottom: settings -> data (:mod:`.data`) -> targets -> model -> fit -> the
held-out check of the float model -> ``model.keras`` and ``metrics.json`` (the settings
and figures the converter copies into the model card).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...edge import __version__
from ...edge.vision.dial import ANGLE, DIRECTION, NUM_DIAL_OUTPUTS, POSITION, SIDE
from ...edge.vision.wheel import NUM_POSITIONS, soft_targets
from ..common.quiet import import_tensorflow
from .data import DialSet, training_dials
from .render import HELD_OUT_STYLES, TUNE_STYLES

logger = logging.getLogger(__name__)

RECIPE = Path(__file__).with_name("recipe.toml")


@dataclass
class DialTrainConfig:
    examples: int = 80000  # generated training inputs, negatives included
    negative_share: float = 0.12  # flow stars, covered dials, burnt-out flashes, textures
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 3e-3
    sigma: float = 1.0  # width of the soft position and angle targets, in classes
    direction_weight: float = 0.5  # the direction head's share of the loss
    seed: int = 1
    workers: int = 2
    out: str = "runs/dial"


def targets(data: DialSet, sigma: float) -> npt.NDArray[np.float32]:
    """The three heads' soft targets side by side (:data:`NUM_DIAL_OUTPUTS` columns).

    A scale without numerals reads the same needle as p clockwise or 10 - p
    counter-clockwise: its position target holds both and its direction target neither.
    A box holding no dial has "not a dial" alone and no angle or direction."""
    neg = data.positions < 0
    unknown = ~data.numerals & ~neg
    out = np.zeros((len(neg), NUM_DIAL_OUTPUTS), np.float32)
    pos = soft_targets(data.positions, sigma)
    mirrored = soft_targets(np.where(neg, -1.0, (10.0 - data.positions) % 10.0), sigma)
    pos[unknown] = 0.5 * (pos[unknown] + mirrored[unknown])
    out[:, POSITION] = pos
    angle = soft_targets(np.where(neg, 0.0, data.angles / 36.0), sigma)[:, :NUM_POSITIONS]
    angle[neg] = 1.0 / NUM_POSITIONS
    out[:, ANGLE] = angle
    out[:, DIRECTION.start] = np.where(data.ccw, 0.0, 1.0)
    out[:, DIRECTION.start + 1] = np.where(data.ccw, 1.0, 0.0)
    out[neg | unknown, DIRECTION] = 0.5
    return out


def build_model(learning_rate: float, steps: int, direction_weight: float) -> Any:
    """A strided first conv and four separable ones, one small dense layer, about 65k
    weights. Plain 3x3 convs at 48 and 24 px take twice the time on the device; half these
    widths read 2 points worse. The needle's angle is spatial, so the last 3x3 map is
    flattened, not pooled."""
    import keras
    from keras import layers

    def conv(x: Any, filters: int, separable: bool = True, strides: int = 1) -> Any:
        layer = layers.SeparableConv2D if separable else layers.Conv2D
        x = layer(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inp = keras.Input((SIDE, SIDE, 3), name="dial")
    x = conv(inp, 24, separable=False, strides=2)  # 24
    x = conv(x, 48)
    x = layers.MaxPooling2D()(x)  # 12
    x = conv(x, 96)
    x = layers.MaxPooling2D()(x)  # 6
    x = conv(x, 96)
    x = conv(x, 48, strides=2)  # 3
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    heads = [layers.Dense(n, activation="softmax", name=name)(x) for name, n in
             (("position", POSITION.stop - POSITION.start),
              ("angle", ANGLE.stop - ANGLE.start),
              ("direction", DIRECTION.stop - DIRECTION.start))]
    model = keras.Model(inp, layers.Concatenate(name="scores")(heads), name="dial")

    weights = np.ones(NUM_DIAL_OUTPUTS, np.float32)
    weights[DIRECTION] = direction_weight

    def loss(y_true: Any, y_pred: Any) -> Any:
        # The three heads' cross-entropies, summed (each block of both sums to 1).
        eps = keras.ops.convert_to_tensor(1e-7)
        return -keras.ops.sum(y_true * weights * keras.ops.log(y_pred + eps), axis=-1)

    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    return model


def _print_progress(epoch: int, logs: dict[str, float] | None, epochs: int, t0: float) -> None:
    loss = (logs or {}).get("loss", float("nan"))
    print(f"epoch {epoch + 1}/{epochs}: loss {loss:.4f}, {time.monotonic() - t0:.0f} s",
          file=sys.stderr, flush=True)


def train_dial(cfg: DialTrainConfig) -> Path:
    import_tensorflow()
    import keras
    import tensorflow as tf

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)
    t0 = time.monotonic()
    data = training_dials(cfg.examples, cfg.seed, cfg.negative_share, cfg.workers)
    print(f"{len(data.inputs)} training inputs in {time.monotonic() - t0:.0f} s",
          file=sys.stderr, flush=True)
    y = targets(data, cfg.sigma)
    steps = cfg.epochs * ((len(y) + cfg.batch_size - 1) // cfg.batch_size)
    model = build_model(cfg.learning_rate, steps, cfg.direction_weight)
    # uint8 inputs scaled as the int8 model's input is (1/255), inside the pipeline.
    ds = (tf.data.Dataset.from_tensor_slices((data.inputs, y))
          .shuffle(len(y), seed=cfg.seed)
          .batch(cfg.batch_size)
          .map(lambda x, t: (tf.cast(x, tf.float32) / 255.0, t))
          .prefetch(2))
    t1 = time.monotonic()
    progress = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: _print_progress(e, logs, cfg.epochs, t1))
    model.fit(ds, epochs=cfg.epochs, verbose=0, callbacks=[progress])
    seconds = time.monotonic() - t0
    model_path = out / "model.keras"
    model.save(model_path)
    metrics = {
        "arch": model.name,
        "params": int(model.count_params()),
        "input": [SIDE, SIDE, 3],
        "examples": len(y),
        "negatives": int((data.positions < 0).sum()),
        "styles": list(TUNE_STYLES),
        "held_out_styles": list(HELD_OUT_STYLES),
        "settings": asdict(cfg),
        "seconds": round(seconds, 1),
        "tensorflow_version": tf.__version__,
        "digitd_version": __version__,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {model_path} ({metrics['params']} weights) in {seconds:.0f} s",
          file=sys.stderr, flush=True)
    return model_path
