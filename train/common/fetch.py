"""``digitd fetch-mnist``: download the four MNIST files once, verified, into a cache.

``train``, ``convert`` and ``evaluate`` read that cache when no ``--mnist-dir`` is
given. Every file is checked against the MD5 of its decompressed content (the
mirrors re-gzip the files, so only the content's checksum is the same everywhere)
and written only when it matches: a half-downloaded or wrong file never lands in
the cache. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import logging
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from .idx import MNIST_FILES

logger = logging.getLogger(__name__)

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# MD5 of each decompressed file (the published checksums of the official files).
CONTENT_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
TIMEOUT = 30.0


class FetchError(OSError):
    """MNIST could not be downloaded or verified; the message says what to do instead."""


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/digitd/mnist``, else ``~/.cache/digitd/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digitd" / "mnist"


def cached_mnist(cache: Path | None = None) -> Path | None:
    """The cache folder if it holds all four files, else None."""
    folder = cache or default_cache()
    if all((folder / name).is_file() for name in MNIST_FILES.values()):
        return folder
    return None


def content_md5(data: bytes) -> str:
    """MD5 of a (gzipped) file's decompressed content."""
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ValueError(f"not a complete gzip file ({exc})") from exc
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        data: bytes = response.read()
    return data


def fetch_mnist(
    folder: Path | None = None,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = CONTENT_MD5,
    out: TextIO | None = None,
) -> Path:
    """Download what is missing from the first mirror that serves a verified copy."""
    folder = folder or default_cache()
    folder.mkdir(parents=True, exist_ok=True)
    stream: TextIO = out if out is not None else sys.stderr
    names = list(MNIST_FILES.values())
    for i, name in enumerate(names, start=1):
        target = folder / name
        if target.is_file() and content_md5(target.read_bytes()) == checksums[name]:
            print(f"[{i}/{len(names)}] {name}: already there, verified", file=stream)
            continue
        problems: list[str] = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            print(f"[{i}/{len(names)}] {name}: downloading from {url}", file=stream, flush=True)
            try:
                data = _download(url)
                got = content_md5(data)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                problems.append(f"{url}: {reason}")
                continue
            if got != checksums[name]:
                problems.append(f"{url}: checksum {got}, expected {checksums[name]}")
                continue
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, target)
            print(f"[{i}/{len(names)}] {name}: {len(data):,} bytes, verified", file=stream)
            break
        else:
            raise FetchError(
                f"cannot download {name} ({'; '.join(problems)}). Offline? Copy the four "
                f"MNIST files ({', '.join(names)}) into {folder} by hand, or give "
                "--mnist-dir DIR to train/convert/evaluate"
            )
    return folder


def fetch_command(args: argparse.Namespace) -> int:
    folder = fetch_mnist(Path(args.dir) if args.dir else None, args.mirror or MIRRORS)
    print(f"MNIST in {folder}: train, convert and evaluate use it when --mnist-dir is not given")
    return 0
