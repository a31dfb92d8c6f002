"""Frame sources and the camera stream, against real files, folders and a real HTTP stream.

The live-camera behaviour (a grabber thread keeping only the newest frame,
reopening with backoff) is exercised with a real MJPEG-over-HTTP server on
127.0.0.1 read through OpenCV's own ``http://`` support. Only two things are
faked, because they cannot exist here: a Pi camera and a driver whose read hangs.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from digitd.edge.camera.backends import open_source
from digitd.edge.camera.sources import (
    PICAMERA2_MISSING,
    Frame,
    FrameSource,
    SourceError,
    parse_source,
    redact,
    rotate_image,
)
from digitd.edge.camera.stream import CameraStream, StreamState
from digitd.edge.config import CameraConfig

Mnist = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]
W, H = 160, 120
BAND = 8  # frame index i is painted as grey level BAND * (i + 1) down the left edge


def picture(index: int, mnist: Mnist) -> npt.NDArray[np.uint8]:
    """A real MNIST digit, dark on light, with the frame index readable after JPEG."""
    images, _ = mnist
    img = np.full((H, W, 3), 220, np.uint8)
    digit = cv2.resize(images[index % len(images)], (84, 84), interpolation=cv2.INTER_CUBIC)
    img[18:102, 50:134] = (255 - digit)[:, :, None]
    img[:, :16] = BAND * (index + 1)
    return img


def index_of(image: npt.NDArray[np.uint8]) -> int:
    return round(float(image[10:-10, 2:14].mean()) / BAND) - 1


def write_video(path: Path, count: int, mnist: Mnist, start: int = 0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (W, H))
    assert writer.isOpened()
    for i in range(start, start + count):
        writer.write(picture(i, mnist))
    writer.release()
    return path


def camera(source: str | Path, **kw: Any) -> CameraConfig:
    fast = {"reopen_min": 0.05, "reopen_max": 0.2, "read_timeout": 2.0}
    return CameraConfig(source=str(source), **(fast | kw))


def read_all(stream: CameraStream, limit: int = 1000) -> list[Frame]:
    frames: list[Frame] = []
    while len(frames) < limit:
        frame = stream.read(timeout=2.0)
        if frame is None:
            break
        frames.append(frame)
    return frames


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def read_until_frame(stream: CameraStream, timeout: float = 10.0) -> Frame:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = stream.read(timeout=0.2)
        if frame is not None:
            return frame
    raise AssertionError(f"no frame in {timeout} s; stats {stream.stats()}")


# ---- naming sources ------------------------------------------------------------------


def test_parse_source_kinds(tmp_path: Path) -> None:
    assert parse_source("0").kind == "index" and parse_source("0").target == 0
    assert parse_source("/dev/video2").kind == "device"
    assert parse_source("picamera2").kind == "picamera2"
    url = parse_source("rtsp://user:secret@cam.local/stream")
    assert url.kind == "url" and url.live and "secret" not in url.display
    assert parse_source("http://127.0.0.1:8080/video.mjpg").live
    rel = parse_source("clips/meter.avi", tmp_path)
    assert rel.kind == "path" and rel.target == str(tmp_path / "clips" / "meter.avi")
    assert not rel.live
    assert parse_source(f"file://{tmp_path}/a.avi").target == f"{tmp_path}/a.avi"
    assert parse_source("/abs/a.avi", tmp_path).target == "/abs/a.avi"


def test_unknown_scheme_and_empty_source_are_clear_errors() -> None:
    with pytest.raises(SourceError, match=r"unknown scheme 'ftp://'.*rtsp://"):
        parse_source("ftp://cam/x")
    with pytest.raises(SourceError, match="empty"):
        parse_source("  ")
    with pytest.raises(SourceError, match="unknown scheme"):
        CameraStream(camera("gopher://x"))


def test_redact_hides_only_the_password() -> None:
    assert redact("rtsp://admin:hunter2@10.0.0.5:554/s") == "rtsp://admin:***@10.0.0.5:554/s"
    assert redact("http://cam/x") == "http://cam/x"
    # Passwords with @ and / in them, as people type them.
    assert redact("rtsp://admin:S3cret@S3cret@10.0.0.5/live") == "rtsp://admin:***@10.0.0.5/live"
    assert redact("rtsp://admin:a/b@c@cam:554/s") == "rtsp://admin:***@cam:554/s"
    assert "hunter2" not in redact("http://u:hunter2@host")


def test_missing_path_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"does not exist.*config file's folder"):
        open_source(camera("nope.avi"), tmp_path)
    with pytest.raises(SourceError, match=r"does not exist.*plugged in"):
        open_source(camera("/dev/video99"))


def test_picamera2_off_a_pi_says_how_to_install_it() -> None:
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed here")
    with pytest.raises(SourceError) as err:
        open_source(camera("picamera2"))
    assert "sudo apt install python3-picamera2" in str(err.value)
    assert "--system-site-packages" in str(err.value)
    with pytest.raises(SourceError, match="python3-picamera2"):
        CameraStream(camera("picamera2"))
    assert "python3-picamera2" in PICAMERA2_MISSING


# ---- files and folders ------------------------------------------------------------------


def test_video_file_is_read_in_order_then_ends(tmp_path: Path, mnist_test: Mnist) -> None:
    video = write_video(tmp_path / "meter.avi", 12, mnist_test)
    with CameraStream(camera("meter.avi"), tmp_path) as stream:
        frames = read_all(stream)
        assert [index_of(f.image) for f in frames] == list(range(12))
        assert [f.seq for f in frames] == list(range(1, 13))
        assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)
        assert stream.state is StreamState.ENDED
        stats = stream.stats()
        assert (stats.frames, stats.dropped, stats.corrupt, stats.errors) == (12, 0, 0, 0)
        assert stats.source == str(video)
        # Still ended, and quietly so, when asked again.
        assert stream.read(timeout=0.1) is None
        assert stream.state is StreamState.ENDED


def test_video_file_loops(tmp_path: Path, mnist_test: Mnist) -> None:
    write_video(tmp_path / "v.avi", 5, mnist_test)
    with CameraStream(camera(tmp_path / "v.avi", loop=True)) as stream:
        frames = [read_until_frame(stream) for _ in range(13)]
    assert [index_of(f.image) for f in frames] == [i % 5 for i in range(13)]
    assert len({f.seq for f in frames}) == 13
    assert stream.stats().reopens == 0


def test_ended_file_removed_then_restored_is_reopened(tmp_path: Path, mnist_test: Mnist) -> None:
    video = write_video(tmp_path / "v.avi", 4, mnist_test)
    spare = tmp_path / "spare.avi"
    shutil.copy(video, spare)
    with CameraStream(camera(video)) as stream:
        assert len(read_all(stream)) == 4
        assert stream.state is StreamState.ENDED
        video.unlink()
        wait_for(lambda: stream.read(timeout=0.05) is None and stream.state == "reopening")
        assert "disappeared" in (stream.stats().last_error or "")
        # Then it tries to open it again, with backoff, and says why that fails.
        wait_for(lambda: stream.read(timeout=0.05) is None and stream.stats().errors >= 2)
        assert "does not exist" in (stream.stats().last_error or "")
        # Backing off, and never raising, while the file is missing.
        for _ in range(5):
            assert stream.read(timeout=0.05) is None
        shutil.copy(spare, video)
        first = read_until_frame(stream)
        assert index_of(first.image) == 0
        assert len(read_all(stream)) == 3
        stats = stream.stats()
        assert stats.reopens == 1 and stats.frames == 8
        assert stream.state is StreamState.ENDED


def test_ended_file_replaced_plays_the_new_one(tmp_path: Path, mnist_test: Mnist) -> None:
    video = write_video(tmp_path / "v.avi", 3, mnist_test)
    with CameraStream(camera(video)) as stream:
        assert len(read_all(stream)) == 3
        write_video(tmp_path / "new.avi", 2, mnist_test, start=20)
        os.replace(tmp_path / "new.avi", video)
        frames = [read_until_frame(stream), read_until_frame(stream)]
    assert [index_of(f.image) for f in frames] == [20, 21]


def test_garbage_video_file_is_reported_not_raised(tmp_path: Path) -> None:
    junk = tmp_path / "junk.avi"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, np.uint8).tobytes())
    with CameraStream(camera(junk)) as stream:
        assert stream.read(timeout=0.3) is None
        wait_for(lambda: stream.read(timeout=0.05) is None and stream.stats().errors >= 2)
        stats = stream.stats()
        assert stats.state is StreamState.REOPENING
        assert "Cannot open video file" in (stats.last_error or "")


def _jpeg_starts(data: bytes) -> list[int]:
    return [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]


def test_corrupt_frames_in_a_video_are_skipped_and_counted(
    tmp_path: Path, mnist_test: Mnist
) -> None:
    video = write_video(tmp_path / "v.avi", 12, mnist_test)
    data = bytearray(video.read_bytes())
    starts = _jpeg_starts(bytes(data))
    assert len(starts) == 12
    for k in (3, 7):  # wipe two frames, keeping the AVI chunk headers around them
        end = starts[k + 1] - 16
        data[starts[k] : end] = bytes(end - starts[k])
    video.write_bytes(bytes(data))
    with CameraStream(camera(video)) as stream:
        frames = read_all(stream)
        assert stream.state is StreamState.ENDED
    assert [index_of(f.image) for f in frames] == [i for i in range(12) if i not in (3, 7)]
    assert stream.stats().corrupt == 2


def test_truncated_video_plays_what_it_holds(tmp_path: Path, mnist_test: Mnist) -> None:
    video = write_video(tmp_path / "v.avi", 12, mnist_test)
    data = video.read_bytes()
    cut = _jpeg_starts(data)[6] + 100  # in the middle of frame 6
    video.write_bytes(data[:cut])
    with CameraStream(camera(video)) as stream:
        frames = read_all(stream)
        assert stream.state is StreamState.ENDED
    assert [index_of(f.image) for f in frames] == list(range(len(frames)))
    assert 1 <= len(frames) <= 7


def test_image_folder_natural_order_corrupt_files_and_loop(
    tmp_path: Path, mnist_test: Mnist
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(folder / f"img{i}.png"), picture(i, mnist_test))
    (folder / "img3.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    (folder / "img4.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not a picture")
    with CameraStream(camera("frames"), tmp_path) as stream:
        assert [index_of(f.image) for f in read_all(stream)] == [1, 2, 10]
        assert stream.stats().corrupt == 2
        assert stream.state is StreamState.ENDED
    with CameraStream(camera(folder, loop=True)) as stream:
        got = [index_of(read_until_frame(stream).image) for _ in range(7)]
    assert got == [1, 2, 10, 1, 2, 10, 1]


def test_a_single_picture_is_a_one_frame_source(tmp_path: Path, mnist_test: Mnist) -> None:
    cv2.imwrite(str(tmp_path / "meter.jpg"), picture(5, mnist_test))
    with open_source(camera(tmp_path / "meter.jpg")) as source:
        frame = source.read()
        assert frame is not None and index_of(frame.image) == 5
        assert source.read() is None


def test_empty_folder_waits_for_pictures(tmp_path: Path, mnist_test: Mnist) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    with CameraStream(camera(folder)) as stream:
        assert stream.read(timeout=0.1) is None
        assert "holds no pictures" in (stream.stats().last_error or "")
        cv2.imwrite(str(folder / "a.png"), picture(3, mnist_test))
        assert index_of(read_until_frame(stream).image) == 3


@pytest.mark.parametrize(
    ("degrees", "shape", "corner"),
    [(0, (H, W), (0, 0)), (90, (W, H), (0, H - 1)), (180, (H, W), (H - 1, W - 1)),
     (270, (W, H), (W - 1, 0))],
)
def test_rotation_is_clockwise(
    tmp_path: Path, degrees: int, shape: tuple[int, int], corner: tuple[int, int]
) -> None:
    img = np.zeros((H, W, 3), np.uint8)
    img[:10, :10] = 255  # a mark in the top-left corner
    cv2.imwrite(str(tmp_path / "a.png"), img)
    with open_source(camera(tmp_path / "a.png", rotate=degrees)) as source:
        frame = source.read()
    assert frame is not None
    assert frame.image.shape == (*shape, 3)
    assert frame.image[corner][0] == 255
    assert np.array_equal(rotate_image(img, degrees), frame.image)


# ---- a live stream: real MJPEG over HTTP --------------------------------------------------


@dataclass
class MjpegServer:
    """A camera on the network: multipart JPEGs of real MNIST digits, as fast as it can."""

    mnist: Mnist
    close_after: int | None = None  # end each connection after this many frames
    garbage_every: int | None = None  # send an undecodable JPEG every N frames
    sent: int = 0
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                here = 0
                try:
                    while not server.stop.is_set():
                        i = server.sent
                        _, buf = cv2.imencode(".jpg", picture(i % 30, server.mnist))
                        data = buf.tobytes()
                        if server.garbage_every and i % server.garbage_every == 1:
                            data = data[:2] + bytes(len(data) - 2)
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            + f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        server.sent += 1
                        here += 1
                        if server.close_after and here >= server.close_after:
                            return
                        server.stop.wait(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


@pytest.fixture
def mjpeg(mnist_test: Mnist) -> Iterator[MjpegServer]:
    state = MjpegServer(mnist_test)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/video.mjpg"
    yield state
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _captured_at_least(stream: CameraStream, n: int) -> bool:
    return stream.stats().captured >= n


def test_slow_consumer_drops_and_counts_frames(mjpeg: MjpegServer) -> None:
    with CameraStream(camera(mjpeg.url, interval=0.0)) as stream:
        assert stream.live
        seqs = []
        for _ in range(4):
            frame = read_until_frame(stream)
            seqs.append(frame.seq)
            assert frame.image.shape == (H, W, 3)
            # Be slow: let the camera deliver several frames before asking again.
            wait_for(partial(_captured_at_least, stream, frame.seq + 3))
        stats = stream.stats()
    assert all(b - a >= 3 for a, b in itertools.pairwise(seqs))
    assert stats.dropped >= 8
    assert stats.frames == 4 and stats.captured >= stats.frames + stats.dropped
    assert stats.state is StreamState.OK and stats.errors == 0


def test_frames_between_readings_are_skipped_not_dropped(mjpeg: MjpegServer) -> None:
    with CameraStream(camera(mjpeg.url, interval=3600.0)) as stream:
        first = read_until_frame(stream)
        wait_for(lambda: stream.stats().captured >= first.seq + 4)
        second = read_until_frame(stream)
        stats = stream.stats()
    assert second.seq > first.seq + 3
    assert stats.dropped == 0 and stats.skipped >= 3


def test_stream_that_closes_is_reopened(mjpeg: MjpegServer) -> None:
    mjpeg.close_after = 5
    with CameraStream(camera(mjpeg.url)) as stream:
        wait_for(lambda: stream.read(timeout=0.05) is not None and stream.stats().reopens >= 2)
        stats = stream.stats()
    assert mjpeg.connections >= 3
    assert stats.errors >= 2 and "stopped delivering" in (stats.last_error or "")


def test_garbage_frames_in_a_live_stream_are_counted(mjpeg: MjpegServer) -> None:
    mjpeg.garbage_every = 4
    with CameraStream(camera(mjpeg.url)) as stream:
        wait_for(lambda: stream.read(timeout=0.05) is not None and stream.stats().corrupt >= 3)
        assert stream.state is StreamState.OK


def _free_port() -> int:
    """A loopback port that nothing listens on (once the probe socket is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_camera_that_is_not_there_is_retried_with_backoff() -> None:
    url = f"http://viewer:pa55word@127.0.0.1:{_free_port()}/video.mjpg"
    with CameraStream(camera(url, reopen_min=0.05, reopen_max=0.1)) as stream:
        wait_for(lambda: stream.read(timeout=0.05) is None and stream.stats().errors >= 3)
        stats = stream.stats()
    assert stats.state is StreamState.REOPENING and stats.frames == 0
    assert "Cannot open stream" in (stats.last_error or "")
    assert "pa55word" not in (stats.last_error or "") and "pa55word" not in stats.source


# ---- what cannot exist here: a driver that hangs ----------------------------------------


class _ScriptedSource(FrameSource):
    """A backend at the edge of the world: hangs in read, or hands out arrays it is given."""

    live = True

    def __init__(self, frames: list[Any], hang: threading.Event | None = None) -> None:
        super().__init__("scripted")
        self.frames = frames
        self.hang = hang
        self.closed = False

    def open(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def _grab(self) -> Any:
        if self.hang is not None:
            self.hang.wait(30)
            raise SourceError("the driver finally gave up")
        if not self.frames:
            time.sleep(0.01)
            return np.zeros((4, 4, 3), np.uint8)
        return self.frames.pop(0)


def test_a_hung_read_is_abandoned_and_the_camera_reopened() -> None:
    release = threading.Event()
    hung = _ScriptedSource([], hang=release)
    sources = iter([hung, _ScriptedSource([])])
    stream = CameraStream(camera("0", read_timeout=0.2), opener=lambda: next(sources),
                          hung_grace=0.1)
    try:
        frame = read_until_frame(stream)
        assert frame.image.shape == (4, 4, 3)
        stats = stream.stats()
        assert "hung" in (stats.last_error or "") and stats.reopens == 1
        release.set()
        wait_for(lambda: hung.closed)
    finally:
        stream.close()


def test_nonsense_arrays_are_corrupt_frames_and_a_run_of_them_reopens() -> None:
    bad: list[Any] = [np.zeros((5,), np.uint8), np.zeros((4, 4, 3), np.float32), "x"]
    good = np.full((4, 6), 7, np.uint8)  # grey: converted, not refused
    opened: list[_ScriptedSource] = []

    def opener() -> FrameSource:
        source = _ScriptedSource([*bad, good] if not opened else [])
        opened.append(source)
        return source

    with CameraStream(camera("0"), opener=opener) as stream:
        frame = read_until_frame(stream)
        assert frame.image.shape == (4, 6, 3) and int(frame.image[0, 0, 0]) == 7
        assert stream.stats().corrupt == 3
        broken = [np.zeros((2,), np.uint8)] * 20
        opened[0].frames.extend(broken)
        wait_for(lambda: stream.stats().reopens >= 1, timeout=5)
        assert "not 8-bit pictures" in (stream.stats().last_error or "")


def test_close_is_idempotent_and_read_after_close_is_none(
    tmp_path: Path, mnist_test: Mnist
) -> None:
    write_video(tmp_path / "v.avi", 2, mnist_test)
    stream = CameraStream(camera(tmp_path / "v.avi"))
    assert stream.read(timeout=1) is not None
    stream.close()
    stream.close()
    assert stream.read(timeout=1) is None
    assert stream.state is StreamState.CLOSED
    assert stream.stats().as_json()["state"] == "closed"
