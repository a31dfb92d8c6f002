"""Find a TFLite interpreter: LiteRT first, then tflite-runtime; each with its default
XNNPACK delegate, then with its own kernels alone.

This is the one place that knows the packages. On the device only ``ai-edge-litert``
is installed; the fallbacks keep old installs working without code elsewhere caring
which one it got. Runtimes are listed without being imported, because one that crashes
on this machine must first be tried in a separate process (:mod:`.vet`), never in the
daemon's own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EXIT_USAGE, DigitdError

logger = logging.getLogger(__name__)

# (distribution, import name), preferred first. The distribution gives the version without
# importing the package, which is what a crashing runtime must not be. TensorFlow 2.21 has
# no tf.lite.Interpreter any more: the workstation uses LiteRT too.
_CANDIDATES = (("ai-edge-litert", "ai_edge_litert"), ("tflite-runtime", "tflite_runtime"))
# A comma-separated list of distributions to try first, in this order, before the rest:
# DIGITD_RUNTIMES=tflite-runtime keeps an old runtime in front of LiteRT.
PREFERENCE_ENV = "DIGITD_RUNTIMES"


class RuntimeNotFoundError(DigitdError, ImportError):
    """No TFLite interpreter package is installed."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Runtime:
    """An installed TFLite interpreter package, named without importing it."""

    package: str  # the distribution: "ai-edge-litert"
    module: str  # the import name: "ai_edge_litert"
    version: str
    # False: the package's own kernels only, without the XNNPACK delegate it applies by
    # default. XNNPACK picks its kernels by the CPU's features, so it is the part that
    # can go wrong on one CPU and not another; the builtin kernels are the fallback.
    xnnpack: bool = True

    def __str__(self) -> str:
        return f"{self.package} {self.version}" + ("" if self.xnnpack else " without XNNPACK")

    @property
    def name(self) -> str:
        """How ``--runtime`` names it: the distribution, ``:builtin`` without XNNPACK."""
        return self.package + ("" if self.xnnpack else ":builtin")

    def interpreter_class(self) -> Any:
        """Import the package (only now) and return its ``Interpreter`` (a callable that
        takes ``model_path`` and ``num_threads``)."""
        import functools
        import importlib

        module = importlib.import_module(f"{self.module}.interpreter")
        if self.xnnpack:
            return module.Interpreter
        return functools.partial(
            module.Interpreter,
            experimental_op_resolver_type=module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )


def installed_runtimes() -> list[Runtime]:
    """The interpreter packages installed, in the order they are preferred; none imported."""
    import importlib.metadata
    import importlib.util

    preferred = [p.strip() for p in os.environ.get(PREFERENCE_ENV, "").split(",") if p.strip()]
    order = sorted(_CANDIDATES, key=lambda c: (
        preferred.index(c[0]) if c[0] in preferred else len(preferred)))
    found = []
    for package, module in order:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "unknown version"
        found.append(Runtime(package, module, version))
        found.append(Runtime(package, module, version, xnnpack=False))
    return found


def runtime_named(name: str) -> Runtime:
    """The installed runtime of that :attr:`Runtime.name` (or import name)."""
    for rt in installed_runtimes():
        if name in (rt.name, rt.name.replace(rt.package, rt.module, 1)):
            return rt
    raise RuntimeNotFoundError(f"the TFLite runtime {name!r} is not installed")


def broken_runtime_fix(runtime: Runtime) -> str:
    """What to do about a runtime that crashes or computes wrong results here."""
    return (
        f"reinstall it (pip install --force-reinstall '{runtime.package}'), or install "
        "another TFLite runtime (pip install tflite-runtime) and digitd tries it next; "
        "README, 'The runtime on arm64'"
    )


def cpuinfo_hint() -> str:
    """Why a runtime may crash at start on an arm64 machine: LiteRT reads the CPU's
    make from /proc/cpuinfo, and an emulator (qemu-user) shows the host's x86 one."""
    import platform

    if platform.machine() not in ("aarch64", "arm64"):
        return ""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if "CPU implementer" in text:
        return ""
    return (" (/proc/cpuinfo describes no ARM CPU: under an emulator it is the host's; "
            "LiteRT's CPU detection crashes on that)")


# Runtimes that read a model's known inputs right in a separate process (vet.py), by the
# model's SHA-256: models loaded later in this process use them, not the first installed.
_vetted: dict[str, Runtime] = {}


def remember_vetted(model_sha256: str, runtime: Runtime) -> None:
    _vetted[model_sha256] = runtime


def vetted(model_sha256: str) -> Runtime | None:
    """The runtime vetted for this model in this process, if any."""
    return _vetted.get(model_sha256)


def runtime_for(model_sha256: str | None) -> tuple[Runtime, Any]:
    """The runtime to load a model with, and its ``Interpreter`` class.

    The one vetted for this model if any; else one vetted for another model in this
    process (the same machine, the same packages); else the first that imports.
    """
    chosen = _vetted.get(model_sha256 or "") or next(iter(reversed(_vetted.values())), None)
    if chosen is not None:
        return chosen, chosen.interpreter_class()
    for rt in installed_runtimes():
        try:
            cls = rt.interpreter_class()
        except ImportError as exc:
            logger.warning("TFLite runtime %s does not import (%s); trying the next", rt, exc)
            continue
        logger.debug("TFLite runtime: %s", rt)
        return rt, cls
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
