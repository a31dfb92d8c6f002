"""Try each installed runtime on a model in a separate process before the daemon uses one.

A runtime wheel that crashes on the machine (a segmentation fault inside the
interpreter's constructor, as LiteRT builds have on some arm64 CPUs) cannot be caught in
the process that loads it. So the daemon and ``check-config`` load each model first in
a child, ``python -m digitd.edge.vision.vet``, which also reads the card's known inputs
(:mod:`.golden`); the first runtime that passes is the one this process then uses. A
result is kept in the state directory, keyed by everything that could change it (model,
runtime and its version, Python, the CPU's features), so later starts skip the child.

    python -m digitd.edge.vision.vet --kind digit [--runtime ai-edge-litert] MODEL
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .model_card import ModelError, sha256_of
from .runtime import (
    Runtime,
    RuntimeNotFoundError,
    broken_runtime_fix,
    cpuinfo_hint,
    installed_runtimes,
    remember_vetted,
    runtime_named,
    vetted,
)

logger = logging.getLogger(__name__)

# Loading and reading a few inputs takes well under a second on x86 and a few seconds
# on a Pi Zero 2 W with a cold SD card; a child still running after this has hung. Well
# inside the unit's TimeoutStartSec (2 min), so that after a hung runtime the next one
# is still tried before systemd gives the start up.
CHILD_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Trial:
    """What one runtime did with one model in a child process."""

    runtime: Runtime
    ok: bool
    detail: str  # "12 known inputs read right", "crashed (SIGSEGV)", the child's error line
    cached: bool = False


class NoSoundRuntimeError(ModelError):
    """Every installed runtime crashed on the model or read its known inputs wrong."""

    exit_code = 78


def _hwcaps() -> str:
    """The CPU features the kernel (or an emulator) reports to programs: what a runtime
    picks its kernels by. Empty where there is no getauxval."""
    try:
        libc = ctypes.CDLL(None)
        getauxval = libc.getauxval
    except (OSError, AttributeError):
        return ""
    getauxval.restype = ctypes.c_ulong
    getauxval.argtypes = [ctypes.c_ulong]
    return f"{getauxval(16):x}/{getauxval(26):x}"  # AT_HWCAP, AT_HWCAP2


def _cache_key(model_sha256: str, runtime: Runtime) -> str:
    parts = (model_sha256, runtime.name, runtime.version, sys.executable,
             platform.python_version(), platform.machine(), _hwcaps())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _load_cache(path: Path | None) -> dict[str, dict[str, object]]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(path: Path | None, cache: dict[str, dict[str, object]]) -> None:
    if path is None:
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(cache, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError as exc:  # a full disk costs a child process at the next start, no more
        logger.warning("cannot keep the runtime check in %s (%s)", path, exc)


def _signal_name(returncode: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(-returncode).name
    return f"signal {-returncode}"


def try_in_child(model_path: Path, kind: str, runtime: Runtime,
                 timeout: float = CHILD_TIMEOUT_SECONDS) -> Trial:
    """Load ``model_path`` with ``runtime`` in a child process and read its known inputs."""
    cmd = [sys.executable, "-m", "digitd.edge.vision.vet", "--kind", kind,
           "--runtime", runtime.name, str(model_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Trial(runtime, False, f"did not finish loading it in {timeout:g} s")
    if proc.returncode < 0:
        return Trial(runtime, False, f"crashed ({_signal_name(proc.returncode)}) loading it"
                     + cpuinfo_hint())
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    try:
        answer = json.loads(lines[-1])
        ok, detail = bool(answer["ok"]), str(answer["detail"])
    except (IndexError, ValueError, KeyError, TypeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Trial(runtime, False, f"exited {proc.returncode}: {tail}")
    return Trial(runtime, ok and proc.returncode == 0, detail)


def vet(model_path: str | Path, kind: str, cache_file: Path | None = None) -> list[Trial]:
    """Try the installed runtimes in order until one loads the model and reads its known
    inputs right; that one is used for the model in this process from now on.

    Returns every trial made; raises :class:`NoSoundRuntimeError` when none passed.
    """
    model_path = Path(model_path)
    sha = sha256_of(model_path)
    if (known := vetted(sha)) is not None:
        return [Trial(known, True, "vetted before in this process", cached=True)]
    cache = _load_cache(cache_file)
    trials: list[Trial] = []
    for runtime in installed_runtimes():
        key = _cache_key(sha, runtime)
        seen = cache.get(key)
        if isinstance(seen, dict) and "ok" in seen:
            trial = Trial(runtime, bool(seen["ok"]), str(seen.get("detail", "")), cached=True)
        else:
            started = time.monotonic()
            trial = try_in_child(model_path, kind, runtime)
            logger.debug("%s on %s in a child: %s (%.2f s)", model_path.name, runtime,
                         trial.detail, time.monotonic() - started)
            cache[key] = {"ok": trial.ok, "detail": trial.detail, "runtime": str(runtime),
                          "model": model_path.name, "checked": time.strftime("%Y-%m-%d %H:%M")}
            _save_cache(cache_file, cache)
        trials.append(trial)
        if trial.ok:
            remember_vetted(sha, runtime)
            return trials
        # A failure kept from an earlier start was said then.
        (logger.debug if trial.cached else logger.warning)(
            "%s: %s %s; trying the next runtime", model_path.name, runtime, trial.detail)
    if not trials:
        raise RuntimeNotFoundError(
            "no TFLite interpreter found: pip install 'digitd[edge]' (installs ai-edge-litert)"
        )
    tried = "; ".join(f"{t.runtime} {t.detail}" for t in trials)
    # The fix names the package, not one of its settings.
    raise NoSoundRuntimeError(
        f"{model_path.name}: no installed TFLite runtime reads it right on "
        f"{platform.machine()} ({tried}); {broken_runtime_fix(trials[-1].runtime)}"
    )


def _child(argv: Sequence[str] | None = None) -> int:
    """The child's side: load, read the known inputs, answer one JSON line."""
    p = argparse.ArgumentParser(prog="python -m digitd.edge.vision.vet")
    p.add_argument("--kind", choices=("digit", "window", "dial"), default="digit")
    p.add_argument("--runtime", help="a runtime's name: the distribution, with ':builtin' "
                   "for its own kernels without XNNPACK (default: the first installed)")
    p.add_argument("model")
    args = p.parse_args(argv)
    from ..errors import DigitdError
    from .classifier import Classifier, RuntimeBrokenError, WindowClassifier
    from .dial import DialModel

    cls = {"window": WindowClassifier, "dial": DialModel}.get(args.kind, Classifier)
    try:
        runtime = runtime_named(args.runtime) if args.runtime else None
        model = cls(args.model, runtime=runtime)
    except RuntimeBrokenError as exc:
        print(json.dumps({"ok": False, "detail": f"read {exc.wrong} of the {exc.total} known "
                          "inputs in its card wrong (wrong results on this machine)"}))
        return 1
    except (DigitdError, ImportError, AttributeError) as exc:
        print(json.dumps({"ok": False, "detail": str(exc)}))
        return 1
    if model.golden_checked:
        detail = f"read its {model.golden_checked} known inputs right"
    else:
        detail = "loaded it (its card keeps no known inputs to check)"
    print(json.dumps({"ok": True, "detail": detail, "runtime": str(model.runtime_info)}))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
