"""The two networks: ``seed`` (the tutorial's, kept as the baseline) and ``edge`` (for the device).

Both take a 28x28x1 float image in [0, 1] (pixel / 255) and end in a softmax over
11 classes: the ten digits, then "not a digit". The scaling is part of the
contract with the converter: a full-int8 model then takes ``uint8 - 128`` as input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...edge.vision.labels import NUM_CLASSES

if TYPE_CHECKING:
    import keras

ARCHITECTURES = ("edge", "seed", "window")


def build_seed(num_classes: int = NUM_CLASSES) -> keras.Model:
    """The seed tutorial's network: Conv32-Conv64-MaxPool-Dropout-Flatten-Dense256-Dropout-Dense."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax", name="scores"),
        ],
        name="seed",
    )


def build_edge(num_classes: int = NUM_CLASSES) -> keras.Model:
    """A small all-convolutional network sized for the device budget.

    Strided convolutions instead of pooling keep the multiply-adds low (7.3 M per
    digit). The 100 KB budget caps parameters, not work, so the extra depth sits
    at 14x14 where a layer costs few parameters. BatchNormalization (momentum 0.9,
    so its statistics settle within a short run) folds into the convolutions at
    conversion time.
    """
    import keras
    from keras import layers

    def block(x: keras.KerasTensor, filters: int, strides: int = 1) -> keras.KerasTensor:
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inp = keras.Input((28, 28, 1), name="image")
    x = block(inp, 16)
    x = block(x, 32, strides=2)  # 14x14
    x = block(x, 32)
    x = block(x, 32)
    x = block(x, 64, strides=2)  # 7x7
    x = block(x, 64)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.1)(x)
    out = layers.Dense(num_classes, activation="softmax", name="scores")(x)
    return keras.Model(inp, out, name="edge")


def build_window(num_classes: int, height: int, width: int) -> keras.Model:
    """The meter-window network: a whole box (grey, HEIGHT x WIDTH) -> wheel position classes.

    Where the digit sits in the window is the answer, so the last feature map
    (4x3) is flattened rather than averaged: a global pool would throw away the
    vertical offset that tells 3.0 from 3.3. A 1x1 convolution narrows it first
    to keep the dense layer, and the int8 file, small.
    """
    import keras
    from keras import layers

    def block(x: keras.KerasTensor, filters: int, strides: int = 1) -> keras.KerasTensor:
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        return layers.ReLU()(x)

    inp = keras.Input((height, width, 1), name="window")
    x = block(inp, 16)
    x = block(x, 24, strides=2)  # 16x10
    x = block(x, 32)
    x = block(x, 40, strides=2)  # 8x5
    x = block(x, 48)
    x = block(x, 56, strides=2)  # 4x3
    x = layers.Conv2D(10, 1, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(num_classes, activation="softmax", name="scores")(x)
    return keras.Model(inp, out, name="window")


def build(arch: str, num_classes: int = NUM_CLASSES) -> keras.Model:
    if arch == "window":
        from ...edge.vision.window import HEIGHT, WIDTH

        return build_window(num_classes, HEIGHT, WIDTH)
    if arch == "edge":
        return build_edge(num_classes)
    if arch == "seed":
        return build_seed(num_classes)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
