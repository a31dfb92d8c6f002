"""Find a TFLite interpreter: LiteRT first, then tflite-runtime, then TensorFlow.

This is the one place that knows the three packages. On the device only
``ai-edge-litert`` is installed; the fallbacks keep old installs and workstations
working without code elsewhere caring which one it got.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_CANDIDATES = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow.lite", "Interpreter", "tensorflow"),
)


class RuntimeNotFoundError(ImportError):
    """No TFLite interpreter package is installed."""


def interpreter_class() -> tuple[Any, str]:
    """Return ``(Interpreter class, package name)`` of the first runtime that imports."""
    import importlib

    for module_name, attr, package in _CANDIDATES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        logger.debug("TFLite runtime: %s", package)
        return getattr(module, attr), package
    raise RuntimeNotFoundError(
        "no TFLite interpreter found: pip install 'digitd[edge]' (installs ai-edge-litert)"
    )
