"""Where frames come from: cameras, network streams, video files, image folders.

A :class:`FrameSource` is one opened backend (OpenCV, picamera2, an image
folder) that hands out frames and raises :class:`SourceError` with a message
that says how to fix the problem. What the daemon loop holds is the
:class:`~digitd.edge.camera.stream.CameraStream` built on top of these.

Relative paths in ``camera.source`` resolve against ``base_dir``: pass the folder
of the config file, which is what a user editing that file expects.
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..config import CameraConfig
from ..errors import DigitdError

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https"})

# A decoder refuses a damaged frame and then carries on with the next one, so a
# failed read is only "the end" (file) or "the camera is gone" (live) after a run.
MAX_FAILED_READS = 8
PICAMERA2_MISSING = (
    "picamera2 is not installed for this Python — it comes with Raspberry Pi OS, not PyPI: "
    "run `sudo apt install python3-picamera2` and create the venv with "
    "`python3 -m venv --system-site-packages`. Off a Pi, use a USB camera (/dev/video0) instead."
)


class SourceError(DigitdError):
    """A source that cannot be opened or stopped delivering; the message says how to fix it."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture: HxWx3 uint8 BGR, wall-clock capture time, sequence number (from 1)."""

    image: Image
    timestamp: float
    seq: int


@dataclass(frozen=True)
class SourceSpec:
    """What ``camera.source`` names, worked out without touching any hardware."""

    kind: Literal["picamera2", "index", "device", "url", "path"]
    target: str | int  # camera index, device/file/folder path, or URL
    live: bool  # a camera or stream: frames come whether or not anyone reads them

    @property
    def display(self) -> str:
        return redact(str(self.target)) if self.kind == "url" else str(self.target)


def redact(url: str) -> str:
    """Hide the password of a ``scheme://user:password@host`` URL in logs and errors.

    People type passwords with ``@`` and ``/`` in them: the host starts after the
    *last* ``@``, and everything between the first ``:`` and it is the password.
    """
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)(.*)$", url, re.DOTALL)
    if match is None:
        return url
    scheme, rest = match.groups()
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return url
    user = rest[:at].split(":", 1)[0]
    return f"{scheme}{user}:***@{rest[at + 1 :]}"


def parse_source(source: str, base_dir: Path | str | None = None) -> SourceSpec:
    """Work out which backend ``source`` needs; relative paths resolve against ``base_dir``."""
    text = source.strip()
    if not text:
        raise SourceError("camera.source is empty — name a camera index, device, file or URL")
    if text.lower() == "picamera2":
        return SourceSpec("picamera2", "picamera2", live=True)
    if text.isdigit():
        return SourceSpec("index", int(text), live=True)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme:
        name = scheme.group(1).lower()
        if name in STREAM_SCHEMES:
            return SourceSpec("url", text, live=True)
        if name != "file":
            raise SourceError(
                f"camera.source {redact(text)!r}: unknown scheme '{name}://' — use a camera "
                "index (0), /dev/videoN, a video file or image folder, an rtsp:// or "
                "http(s):// URL, or 'picamera2'"
            )
        text = text[len("file://") :]
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if str(path).startswith("/dev/"):
        return SourceSpec("device", str(path), live=True)
    return SourceSpec("path", str(path), live=False)


def _as_bgr(image: Any) -> Image | None:
    """The frame as HxWx3 uint8 BGR, or None for something no camera should deliver."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        return None
    if image.ndim == 2:
        import cv2

        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        return None
    if image.shape[2] == 4:
        # BGRA / XBGR buffers: the fourth byte is padding or alpha, never picture.
        return np.ascontiguousarray(image[:, :, :3])
    return image


def rotate_image(image: Image, degrees: int) -> Image:
    """Rotate clockwise by 0, 90, 180 or 270 degrees."""
    if degrees == 0:
        return image
    import cv2

    codes = {
        90: cv2.ROTATE_90_CLOCKWISE,
        180: cv2.ROTATE_180,
        270: cv2.ROTATE_90_COUNTERCLOCKWISE,
    }
    if degrees not in codes:
        raise ValueError(f"rotate {degrees}: use 0, 90, 180 or 270")
    return np.asarray(cv2.rotate(image, codes[degrees]), np.uint8)


class FrameSource(ABC):
    """One opened backend. ``read`` gives the next frame, or None at the end of a file."""

    live: bool = False  # a camera or stream, rather than a file played in order

    def __init__(self, name: str, rotate: int = 0) -> None:
        self.name = name
        self.rotate = rotate
        self.corrupt = 0  # frames skipped because they could not be decoded or made no sense
        self._seq = 0

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file; raise :class:`SourceError` saying how to fix it."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    @abstractmethod
    def _grab(self) -> Any:
        """The next raw picture, or None at the end of a file; SourceError when broken."""

    def read(self) -> Frame | None:
        refused = 0
        while True:
            raw = self._grab()
            if raw is None:
                return None
            image = _as_bgr(raw)
            if image is not None:
                break
            self.corrupt += 1
            refused += 1
            if refused >= MAX_FAILED_READS:
                shape = getattr(raw, "shape", None)
                dtype = getattr(raw, "dtype", type(raw).__name__)
                raise SourceError(
                    f"{self.name}: {refused} frames in a row were not 8-bit pictures "
                    f"(shape {shape}, type {dtype}) — set the camera to a colour or grey format"
                )
        self._seq += 1
        return Frame(rotate_image(image, self.rotate), time.time(), self._seq)

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class OpenCVSource(FrameSource):
    """cv2.VideoCapture: camera index, /dev/videoN, video file, rtsp:// or http:// stream."""

    def __init__(self, spec: SourceSpec, camera: CameraConfig) -> None:
        super().__init__(spec.display, camera.rotate)
        self.spec = spec
        self.camera = camera
        self.live = spec.live
        self._cap: Any = None

    def open(self) -> None:
        import cv2

        spec, cam = self.spec, self.camera
        if spec.kind in ("device", "path") and not Path(str(spec.target)).exists():
            raise SourceError(_missing_path_message(spec))
        if spec.kind == "url":
            timeout_ms = int(cam.read_timeout * 1000)
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms,
            ]
            cap = cv2.VideoCapture(str(spec.target), cv2.CAP_FFMPEG, params)
        else:
            cap = cv2.VideoCapture(spec.target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(_cannot_open_message(spec))
        if spec.live:
            self._apply_capture_settings(cap)
        self._cap = cap
        logger.info("opened %s", self.name)

    def _apply_capture_settings(self, cap: Any) -> None:
        import cv2

        cam = self.camera
        # The grabber thread always holds the newest frame; a deep driver queue only adds lag.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        wanted = [
            (cv2.CAP_PROP_FRAME_WIDTH, cam.width, "width"),
            (cv2.CAP_PROP_FRAME_HEIGHT, cam.height, "height"),
            (cv2.CAP_PROP_FPS, cam.fps, "fps"),
        ]
        for prop, value, label in wanted:
            if value is None:
                continue
            cap.set(prop, float(value))
            actual = cap.get(prop)
            if actual > 0 and abs(actual - float(value)) > 0.5:
                logger.warning(
                    "%s: asked for %s %s, the camera gives %s", self.name, label, value, actual
                )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _grab(self) -> Any:
        if self._cap is None:
            raise SourceError(f"{self.name}: read before open")
        failures = 0
        started = time.monotonic()
        while True:
            ok, image = self._cap.read()
            if ok and image is not None:
                self.corrupt += failures
                return image
            failures += 1
            stalled = time.monotonic() - started > self.camera.read_timeout
            if failures >= MAX_FAILED_READS or (self.live and stalled):
                if not self.live:
                    return None  # the end of the file (or of what a truncated file holds)
                raise SourceError(
                    f"{self.name} stopped delivering frames ({failures} failed reads) — "
                    "unplugged, or the stream went down?"
                )


class ImageFolderSource(FrameSource):
    """The pictures of a folder in natural name order (img2 before img10), or one picture."""

    def __init__(self, spec: SourceSpec, camera: CameraConfig) -> None:
        super().__init__(spec.display, camera.rotate)
        self.path = Path(str(spec.target))
        self._files: list[Path] = []
        self._next = 0

    def open(self) -> None:
        if not self.path.exists():
            raise SourceError(_missing_path_message(SourceSpec("path", str(self.path), False)))
        self._files = list_images(self.path)
        if not self._files:
            raise SourceError(
                f"image folder {self.path} holds no pictures ({', '.join(sorted(IMAGE_SUFFIXES))})"
                " — put frames there or fix camera.source"
            )
        self._next = 0

    def close(self) -> None:
        self._files = []

    def _grab(self) -> Any:
        import cv2

        while self._next < len(self._files):
            path = self._files[self._next]
            self._next += 1
            try:
                data = np.fromfile(path, np.uint8)
            except OSError as exc:  # removed or unreadable since the folder was listed
                if not self.path.exists():
                    # The folder itself is gone: a camera that went away (one line and a
                    # reopen with backoff), not a warning for every file it held.
                    self._files = []
                    raise SourceError(
                        f"image folder {self.path} was removed — restore it or fix "
                        "camera.source"
                    ) from None
                logger.warning("skipping %s: %s", path, exc)
                self.corrupt += 1
                continue
            try:
                image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
            except cv2.error:  # e.g. more pixels than OpenCV may decode: skip, never replay
                image = None
            if image is None:
                logger.warning("skipping %s: not a picture OpenCV can decode", path)
                self.corrupt += 1
                continue
            return image
        return None


def list_images(path: Path) -> list[Path]:
    """A single picture, or the pictures in a folder in natural order."""
    if path.is_file():
        return [path] if path.suffix.lower() in IMAGE_SUFFIXES else []
    files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=_natural_key)


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    parts = re.split(r"(\d+)", path.name)
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts]


def _missing_path_message(spec: SourceSpec) -> str:
    if spec.kind == "device":
        return (
            f"{spec.target} does not exist — is the camera plugged in? "
            "(`ls /dev/video*` lists cameras)"
        )
    return (
        f"{spec.target} does not exist — check camera.source (a relative path is relative "
        "to the config file's folder)"
    )


def _cannot_open_message(spec: SourceSpec) -> str:
    if spec.kind in ("index", "device"):
        return (
            f"Cannot open camera {spec.display} — is it plugged in, not in use by another "
            "program, and is this user in the 'video' group? (`v4l2-ctl --list-devices`)"
        )
    if spec.kind == "url":
        return (
            f"Cannot open stream {spec.display} — check the URL and credentials, and that the "
            "camera is reachable from this machine"
        )
    return (
        f"Cannot open video file {spec.display} — not a video OpenCV can decode "
        "(truncated, or a codec this build lacks?)"
    )
