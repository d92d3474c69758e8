"""Small ResNet-style and MobileNet-style Functional models (structured-pruning bench and tests).

Both start with a stride-2 stem and use BatchNorm momentum 0.9, so a few epochs train them
(the Keras default 0.99 leaves the moving statistics near their initial values after a
few hundred steps).

``width`` scales every channel count, so ``resnet_style(width=0.5)`` is the plain-Keras
reference for removing half of every prunable group of ``resnet_style()``.
"""

from __future__ import annotations

import keras

L = keras.layers


def _w(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def resnet_style(input_shape=(28, 28, 1), classes: int = 10, width: float = 1.0,
                 base: int = 16) -> keras.Model:
    """Conv stem, two residual stages (identity and 1x1-projection shortcuts), BN everywhere."""
    def bn_relu(x, name):
        x = L.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return L.Activation("relu", name=f"{name}_relu")(x)

    c1, c2 = _w(base, width), _w(2 * base, width)
    i = keras.Input(shape=input_shape, name="image")
    x = bn_relu(L.Conv2D(c1, 3, strides=2, padding="same", use_bias=False, name="stem")(i), "stem")
    for b in range(2):
        y = bn_relu(L.Conv2D(c1, 3, padding="same", use_bias=False, name=f"s1b{b}_a")(x), f"s1b{b}_a")
        y = L.BatchNormalization(momentum=0.9, name=f"s1b{b}_b_bn")(
            L.Conv2D(c1, 3, padding="same", use_bias=False, name=f"s1b{b}_b")(y))
        x = L.Activation("relu", name=f"s1b{b}_out")(L.Add(name=f"s1b{b}_add")([x, y]))
    y = bn_relu(L.Conv2D(c2, 3, strides=2, padding="same", use_bias=False, name="s2_a")(x), "s2_a")
    y = L.Conv2D(c2, 3, padding="same", use_bias=False, name="s2_b")(y)
    y = L.BatchNormalization(momentum=0.9, name="s2_b_bn")(y)
    s = L.Conv2D(c2, 1, strides=2, use_bias=False, name="s2_proj")(x)
    s = L.BatchNormalization(momentum=0.9, name="s2_proj_bn")(s)
    x = L.Activation("relu", name="s2_out")(L.Add(name="s2_add")([s, y]))
    x = L.GlobalAveragePooling2D(name="pool")(x)
    x = L.Dropout(0.2, name="drop")(x)
    return keras.Model(i, L.Dense(classes, activation="softmax", name="classifier")(x), name="resnet_style")


def mobilenet_style(input_shape=(28, 28, 1), classes: int = 10, width: float = 1.0,
                    base: int = 16) -> keras.Model:
    """Conv stem, then depthwise 3x3 + pointwise 1x1 blocks (BN + ReLU6), MobileNet v1 style."""
    def bn_relu6(x, name):
        return L.ReLU(6.0, name=f"{name}_relu")(L.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x))

    i = keras.Input(shape=input_shape, name="image")
    x = bn_relu6(L.Conv2D(_w(base, width), 3, strides=2, padding="same", use_bias=False, name="stem")(i),
                 "stem")
    for k, (mult, stride) in enumerate([(2, 1), (2, 2), (4, 1), (4, 2)]):
        x = bn_relu6(L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                       name=f"b{k}_dw")(x), f"b{k}_dw")
        x = bn_relu6(L.Conv2D(_w(base * mult, width), 1, use_bias=False, name=f"b{k}_pw")(x), f"b{k}_pw")
    x = L.GlobalAveragePooling2D(name="pool")(x)
    out = L.Dense(classes, activation="softmax", name="classifier")(x)
    return keras.Model(i, out, name="mobilenet_style")
