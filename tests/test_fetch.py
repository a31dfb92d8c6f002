"""``digitd fetch-mnist``: served by a local HTTP server here (nothing downloads in CI)."""

from __future__ import annotations

import functools
import http.server
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from digitd.train.common.fetch import FetchError, cached_mnist, content_md5, fetch_mnist
from digitd.train.common.idx import MNIST_FILES, load_mnist_dir

SAMPLE = Path(__file__).resolve().parent / "data" / "mnist-sample"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """An HTTP server on loopback serving a copy of the committed MNIST sample."""
    root = tmp_path / "www" / "mnist"
    root.mkdir(parents=True)
    for name in MNIST_FILES.values():
        (root / name).write_bytes((SAMPLE / name).read_bytes())
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _sample_checksums() -> dict[str, str]:
    return {name: content_md5((SAMPLE / name).read_bytes()) for name in MNIST_FILES.values()}


def test_fetch_downloads_verifies_and_is_used_by_default(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    log = io.StringIO()
    folder = fetch_mnist(cache, ["http://127.0.0.1:9/", server], _sample_checksums(), out=log)
    assert folder == cache and cached_mnist(cache) == cache
    images, labels = load_mnist_dir(cache, "test")
    assert len(images) == len(labels) == 1000
    # The first mirror was unreachable; the second served it; progress names each file.
    assert "[4/4]" in log.getvalue() and "verified" in log.getvalue()
    # Again: nothing is downloaded twice.
    again = io.StringIO()
    fetch_mnist(cache, [server], _sample_checksums(), out=again)
    assert again.getvalue().count("already there") == 4


def test_a_file_with_the_wrong_checksum_is_never_written(server: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=r"checksum .* expected") as err:
        fetch_mnist(cache, [server], out=io.StringIO())  # the official checksums
    assert "by hand" in str(err.value)
    assert not any(cache.iterdir())


def test_offline_is_one_line_naming_the_manual_route(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", "fetch-mnist", "--mirror",
         "http://127.0.0.1:9/"], capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("digitd")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "fetch-mnist" in errors[0] and "by hand" in errors[0]
    assert str(tmp_path / "xdg" / "digitd" / "mnist") in errors[0]


def test_evaluate_uses_the_cache_without_mnist_dir(tmp_path: Path) -> None:
    cache = tmp_path / "xdg" / "digitd" / "mnist"
    cache.mkdir(parents=True)
    for name in MNIST_FILES.values():
        (cache / name).write_bytes((SAMPLE / name).read_bytes())
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", "evaluate", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"n": 1000' in proc.stdout
