"""Real storage faults for the tests: a small tmpfs that fills up, a read-only remount,
and a file-size limit (RLIMIT_FSIZE) that needs no privileges.

Mounting needs root with CAP_SYS_ADMIN (CI runs as root; a container may still refuse):
where it is refused the test is skipped and says why. The file-size limit works
everywhere: past it, writes fail with EFBIG (Python ignores SIGXFSZ), as on a full disk.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

MOUNT = shutil.which("mount")
UMOUNT = shutil.which("umount")


class SmallDisk:
    """A tmpfs of ``size_kb`` at ``path``; :meth:`fill` takes its free space away."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    def fill(self) -> None:
        """Write until the disk is full (the ballast file keeps the space)."""
        with contextlib.suppress(OSError), open(self.ballast, "ab", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        assert MOUNT is not None
        subprocess.run([MOUNT, "-o", "remount," + ("ro" if on else "rw"), str(self.path)],
                       check=True, capture_output=True)


@contextlib.contextmanager
def small_disk(path: Path, size_kb: int = 512) -> Iterator[SmallDisk]:
    """Mount a tmpfs of ``size_kb`` at ``path`` for the block; skip where mounting is refused."""
    if MOUNT is None or UMOUNT is None:
        pytest.skip("mount/umount not installed: cannot make a small disk")
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([MOUNT, "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs",
                           str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'not permitted'}); "
                    "the file-size-limit tests cover a full disk")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run([UMOUNT, "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def file_size_limit(max_bytes: int) -> Iterator[None]:
    """Files of this process cannot grow past ``max_bytes`` within the block (EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
