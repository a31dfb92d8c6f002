"""What to pip-install into the service's venv: a requirement, a wheel, or a copy of
the checkout built outside the user's tree."""

from __future__ import annotations

import logging
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .layout import EXTRA, InstallError, source_tree

logger = logging.getLogger(__name__)
@dataclass(frozen=True)
class Package:
    """What to pip-install: a requirement line, and the version it gives when known."""

    requirement: str
    version: str | None
    shown: str
    tree: Path | None = None  # a source checkout, copied before pip builds it


def package_from(spec: str | None) -> Package:
    """Turn ``--from`` (a folder, wheel, sdist or requirement; default this checkout)
    into a pip requirement for digitd with the edge extra."""
    if spec is None:
        tree = source_tree()
        if tree is None:
            raise InstallError(
                "this digitd was not installed from a source checkout, so there is "
                "nothing to install from; pass --from with a wheel, an sdist or a "
                "requirement such as 'digitd==0.1.0'"
            )
        meta = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
        return Package(f"digitd[{EXTRA}] @ {tree.as_uri()}", meta["project"].get("version"),
                       str(tree), tree)
    path = Path(spec).expanduser()
    if path.exists():
        version = None
        match = re.match(r"digitd-([^-]+?)(?:\.tar\.gz|\.zip|-.*\.whl)$", path.name)
        if match:
            version = match.group(1)
        return Package(f"digitd[{EXTRA}] @ {path.resolve().as_uri()}", version, str(path))
    match = re.fullmatch(r"\s*(digitd)\s*(\[[^\]]*\])?\s*(.*)", spec, flags=re.IGNORECASE)
    if match is None:
        raise InstallError(
            f"--from {spec!r} is neither an existing file or folder nor a requirement for "
            "digitd; give a wheel, an sdist, a source folder or e.g. 'digitd==0.1.0'"
        )
    extras = match.group(2) or f"[{EXTRA}]"
    if EXTRA not in extras:
        extras = extras[:-1] + f",{EXTRA}]"
    rest = match.group(3)
    pinned = re.fullmatch(r"==\s*([^\s,;]+)", rest.strip())
    return Package(f"digitd{extras}{rest}", pinned.group(1) if pinned else None, spec)


def copy_for_build(tree: Path, dest: Path) -> Path:
    """Copy what building digitd needs from the checkout ``tree`` into ``dest``.

    pip builds a folder in place (``build/``, ``*.egg-info``); run as root on the
    user's checkout, that would leave root-owned files behind in it.
    """
    meta = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    readme = meta.get("project", {}).get("readme")
    if isinstance(readme, dict):
        readme = readme.get("file")
    folders = meta.get("tool", {}).get("setuptools", {}).get("package-dir", {}).values()
    names = {"pyproject.toml", *([readme] if isinstance(readme, str) else []), *folders}
    names |= {p.name for p in tree.glob("LICEN[CS]E*")}
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in sorted(names):
        source = tree / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest
