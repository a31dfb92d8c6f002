"""Find a TFLite interpreter: LiteRT first, then tflite-runtime, then TensorFlow.

This is the one place that knows the three packages. On the device only
``ai-edge-litert`` is installed; the fallbacks keep old installs and workstations
working without code elsewhere caring which one it got.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from ..errors import EXIT_USAGE, DigitdError

logger = logging.getLogger(__name__)

_CANDIDATES = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow.lite", "Interpreter", "tensorflow"),
)


class RuntimeNotFoundError(DigitdError, ImportError):
    """No TFLite interpreter package is installed."""

    exit_code = EXIT_USAGE


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


@contextlib.contextmanager
def native_stderr_to_log(*, notices: bool = False, name: str = "interpreter"
                         ) -> Iterator[None]:
    """Route what native code writes to stderr into this module's log.

    LiteRT announces "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on
    every start, straight to file descriptor 2, past Python's logging and ``-q``. Its
    INFO lines become debug records, anything else a warning, so nothing is lost.
    ``notices``: everything is a notice (TensorFlow's start-up and converter chatter)
    and becomes a debug record, shown with ``-vv``.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (a test's capture)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if line.startswith("INFO:"):
                    logger.debug("%s: %s", name, line[5:].strip())
                elif line.strip():
                    (logger.debug if notices else logger.warning)("%s: %s", name, line.strip())
