"""Which backend reads a ``camera.source``: OpenCV, a picture folder, or the Pi camera."""

from __future__ import annotations

from pathlib import Path

from ..config import CameraConfig
from .sources import IMAGE_SUFFIXES, FrameSource, ImageFolderSource, OpenCVSource, parse_source


def make_source(camera: CameraConfig, base_dir: Path | str | None = None) -> FrameSource:
    """The backend ``camera.source`` names, not opened yet."""
    spec = parse_source(camera.source, base_dir)
    if spec.kind == "picamera2":
        from .picamera import Picamera2Source

        return Picamera2Source(camera)
    if spec.kind == "path":
        path = Path(str(spec.target))
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageFolderSource(spec, camera)
    return OpenCVSource(spec, camera)


def open_source(camera: CameraConfig, base_dir: Path | str | None = None) -> FrameSource:
    """Open the source ``camera.source`` names; raise :class:`SourceError` saying how to fix it."""
    source = make_source(camera, base_dir)
    source.open()
    return source
