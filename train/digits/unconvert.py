"""A trainable Keras model back from a converted int8 ``edge`` digit model.

``python -m digitd.train.digits.unconvert models/digits.tflite --out runs/shipped/model.keras``

Conversion folds each BatchNormalization into its convolution and keeps the weights
as int8 with one scale per output channel; the ``.keras`` file it came from may be
long gone. This rebuilds :func:`~digitd.train.common.models.build_edge` with those weights
dequantised: each convolution gets the folded kernel, each BatchNormalization is set
to add the folded bias and nothing else, and is frozen (a fine-tune would otherwise
normalise by batch statistics the folded weights were never meant for). The result
reads like the int8 model (within rounding), so ``digitd train --init`` can fine-tune
the shipped model itself rather than a retrained stand-in.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _dequantised(interp: Any, detail: dict[str, Any]) -> np.ndarray:
    q = detail["quantization_parameters"]
    raw = interp.get_tensor(detail["index"]).astype(np.float64)
    scales = np.asarray(q["scales"], np.float64)
    zeros = np.asarray(q["zero_points"], np.float64)
    if scales.size == 0:
        return raw.astype(np.float32)
    shape = [1] * raw.ndim
    if scales.size > 1:
        shape[q["quantized_dimension"]] = scales.size
    return ((raw - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def unconvert(tflite: str | Path) -> Any:
    """The ``edge`` Keras model whose weights are ``tflite``'s, dequantised."""
    from ai_edge_litert.interpreter import Interpreter

    from ..common.models import build_edge
    from ..common.quiet import import_tensorflow

    import_tensorflow()
    interp = Interpreter(str(tflite))
    interp.allocate_tensors()
    details = {d["index"]: d for d in interp.get_tensor_details()}
    # The graph's operations in the order they run: each convolution's inputs are
    # (activation, kernel [out, kh, kw, in], int32 bias); the dense layer's likewise.
    ops = [op for op in interp._get_ops_details() if op["op_name"] != "DELEGATE"]
    conv_ops = [op for op in ops if op["op_name"] == "CONV_2D"]
    dense_ops = [op for op in ops if op["op_name"] == "FULLY_CONNECTED"]
    model = build_edge()
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    norms = [layer for layer in model.layers if layer.__class__.__name__ == "BatchNormalization"]
    shape = [int(v) for v in interp.get_input_details()[0]["shape"]]
    if shape != [1, 28, 28, 1] or len(conv_ops) != len(convs) or len(dense_ops) != 1:
        raise ValueError(
            f"{tflite}: not a converted 'edge' digit model (input {shape}, {len(conv_ops)} "
            f"convolutions, {len(dense_ops)} dense layers; the edge network takes "
            f"[1, 28, 28, 1] through {len(convs)} and 1)"
        )
    kernels = [details[int(op["inputs"][1])] for op in conv_ops]
    biases = [details[int(op["inputs"][2])] for op in conv_ops]
    dense = [details[int(i)] for i in dense_ops[0]["inputs"][1:3]]
    for conv, norm, k, b in zip(convs, norms, kernels, biases, strict=True):
        kernel = _dequantised(interp, k).transpose(1, 2, 3, 0)
        if kernel.shape != tuple(conv.kernel.shape):
            raise ValueError(f"{tflite}: not a converted 'edge' digit model (a kernel "
                             f"{kernel.shape} where the edge network has "
                             f"{tuple(conv.kernel.shape)})")
        conv.set_weights([kernel])
        bias = _dequantised(interp, b)
        eps = float(norm.epsilon)
        # gamma * (x - mean) / sqrt(var + eps) + beta == x + bias
        norm.set_weights([np.ones_like(bias), bias, np.zeros_like(bias),
                          np.full_like(bias, 1.0 - eps)])
        norm.trainable = False
    scores = model.get_layer("scores")
    scores.set_weights([_dequantised(interp, dense[0]).T, _dequantised(interp, dense[1])])
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitd.train.digits.unconvert",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a converted int8 edge digit model (.tflite)")
    parser.add_argument("--out", required=True, help="where to write the .keras model")
    parser.add_argument("--mnist-dir", help="MNIST folder: report the float model's accuracy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        model = unconvert(args.model)
    except (ValueError, OSError) as exc:
        parser.exit(2, f"error: {exc}\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    print(f"wrote {out}")
    if args.mnist_dir:
        from ..common.data import load_mnist

        _, test = load_mnist(args.mnist_dir)
        probs = model.predict(test.images[..., None].astype(np.float32) / 255.0, verbose=0)
        print(f"MNIST test accuracy (float, {len(test.labels)} digits): "
              f"{float((probs.argmax(axis=1) == test.labels).mean()):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
