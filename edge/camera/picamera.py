"""The Raspberry Pi camera through picamera2, which only Raspberry Pi OS provides
(``apt install python3-picamera2``; a venv with ``--system-site-packages``).

Imported only when ``camera.source = "picamera2"``: nothing else needs libcamera.
"""

from __future__ import annotations

from typing import Any

from ..config import CameraConfig
from .sources import PICAMERA2_MISSING, FrameSource, SourceError


class Picamera2Source(FrameSource):
    """The Raspberry Pi camera through picamera2 (which only Raspberry Pi OS provides)."""

    live = True

    def __init__(self, camera: CameraConfig) -> None:
        super().__init__("picamera2", camera.rotate)
        self.camera = camera
        self._cam: Any = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise SourceError(PICAMERA2_MISSING) from exc
        try:
            cam = Picamera2()
        except (IndexError, RuntimeError) as exc:
            raise SourceError(
                "Camera not found — is the ribbon cable seated and the camera detected? "
                f"(`rpicam-hello --list-cameras` lists cameras) [{exc}]"
            ) from exc
        try:
            size = (self.camera.width or 640, self.camera.height or 480)
            controls: dict[str, Any] = {}
            if self.camera.fps:
                controls["FrameRate"] = float(self.camera.fps)
            # libcamera's "RGB888" is laid out B, G, R in memory: exactly OpenCV's order.
            config = cam.create_video_configuration(
                main={"size": size, "format": "RGB888"}, controls=controls
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:
            cam.close()
            raise SourceError(f"picamera2 could not start the camera: {exc}") from exc
        self._cam = cam

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
            finally:
                self._cam.close()
                self._cam = None

    def _grab(self) -> Any:
        if self._cam is None:
            raise SourceError("picamera2: read before open")
        try:
            with self._cam.captured_request(wait=self.camera.read_timeout) as request:
                # make_array copies, so the buffer goes back to libcamera as the block ends.
                return request.make_array("main")
        except TimeoutError as exc:
            raise SourceError(
                f"picamera2 delivered no frame in {self.camera.read_timeout:.0f} s"
            ) from exc
