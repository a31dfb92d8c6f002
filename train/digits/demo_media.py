"""Make the bundled demo video: real MNIST digits, shown like a meter counting up.

``python -m digitd.train.digits.demo_media --out demo/`` writes ``digits.avi`` (Motion
JPEG, which every OpenCV build reads) and ``digits.json``, the ground truth: the
number shown in every frame and the box of every digit. The digits are real
handwritten MNIST test digits from the committed sample, drawn as dark ink on
light, unevenly lit, slightly noisy paper; a fixed seed makes the output the
same on every run. No TensorFlow needed.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

NUMBERS = ("0417", "0418", "0419", "0420", "0425", "0436", "0458", "0467")  # all ten digits
FPS = 4
HOLD_FRAMES = 8  # two seconds per number
WIDTH, HEIGHT = 320, 128
DIGIT_PX = 64  # a 28x28 MNIST field drawn this big
GAP_PX = 8
SEED = 417
JPEG_QUALITY = 70
VIDEO_NAME = "digits.avi"
TRUTH_NAME = "digits.json"
DEFAULT_SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "mnist-sample"

Glyphs = dict[tuple[int, int], int]  # (position, digit) -> index into the MNIST images


@dataclass(frozen=True)
class DemoMedia:
    video: Path
    truth: Path
    frames: int


def typical_glyphs(
    images: npt.NDArray[np.uint8], labels: npt.NDArray[np.uint8], keep: float = 0.25
) -> dict[int, list[int]]:
    """Per digit, the indices of its most typical one-piece samples.

    A demo should show handwriting, not MNIST's oddities: a digit whose strokes
    fall apart would be two blobs to any locator, so only single-component
    samples qualify, and of those the quarter closest to the class mean.
    """
    import cv2

    chosen: dict[int, list[int]] = {}
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        if idx.size == 0:
            raise ValueError(f"the MNIST sample has no digit {digit}; use a larger sample")
        whole = [
            int(i)
            for i in idx
            if cv2.connectedComponents((images[i] >= 64).astype(np.uint8), connectivity=8)[0] == 2
        ]
        pool = np.array(whole or idx.tolist())
        mean = images[pool].astype(np.float32).mean(axis=0)
        dist = ((images[pool].astype(np.float32) - mean) ** 2).sum(axis=(1, 2))
        order = pool[np.argsort(dist, kind="stable")]
        chosen[digit] = [int(i) for i in order[: max(1, int(len(order) * keep))]]
    return chosen


def pick_glyphs(pool: dict[int, list[int]], rng: np.random.Generator) -> Glyphs:
    """One sample per (position, digit): the same wheel shows the same "4" every time."""
    width = max(len(n) for n in NUMBERS)
    return {
        (pos, digit): int(rng.choice(pool[digit])) for pos in range(width) for digit in range(10)
    }


def paper(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Light paper, brighter on one side and towards the middle, as under a desk lamp."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    cx, cy = WIDTH * 0.6, HEIGHT * 0.4
    falloff = ((xx - cx) / WIDTH) ** 2 + ((yy - cy) / HEIGHT) ** 2
    light = 232.0 - 70.0 * falloff - 18.0 * (xx / WIDTH)
    texture = rng.normal(0.0, 2.0, (HEIGHT, WIDTH)).astype(np.float32)
    return np.asarray(light + texture, np.float32)


def render(
    value: str,
    glyphs: Glyphs,
    images: npt.NDArray[np.uint8],
    background: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.uint8], list[list[int]]]:
    """One BGR frame showing ``value``, and the ink box [x, y, w, h] of each digit."""
    import cv2

    row_w = len(value) * DIGIT_PX + (len(value) - 1) * GAP_PX
    # The camera shakes a little: a pixel or two of jitter per frame.
    x0 = (WIDTH - row_w) // 2 + int(rng.integers(-2, 3))
    y0 = (HEIGHT - DIGIT_PX) // 2 + int(rng.integers(-2, 3))
    ink = np.zeros((HEIGHT, WIDTH), np.float32)
    boxes: list[list[int]] = []
    for pos, ch in enumerate(value):
        glyph = images[glyphs[(pos, int(ch))]].astype(np.float32) / 255.0
        big = cv2.resize(glyph, (DIGIT_PX, DIGIT_PX), interpolation=cv2.INTER_CUBIC)
        big = np.clip(big, 0.0, 1.0)
        x = x0 + pos * (DIGIT_PX + GAP_PX)
        ink[y0 : y0 + DIGIT_PX, x : x + DIGIT_PX] = big
        ys, xs = np.nonzero(big > 0.25)
        boxes.append(
            [x + int(xs.min()), y0 + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
        )
    noisy = (background * (1.0 - 0.78 * ink) + rng.normal(0.0, 3.0, ink.shape)).astype(np.float32)
    # A camera lens never resolves single-pixel noise; the blur also keeps the JPEGs small.
    grey = np.asarray(cv2.GaussianBlur(noisy, (0, 0), 0.8), np.float32)
    grey8 = np.clip(np.round(grey), 0, 255).astype(np.uint8)
    # Paper is never perfectly grey: a faint warm tint, as white balance leaves it.
    bgr = np.dstack([grey8, grey8, grey8]).astype(np.int16) + np.array([-6, 0, 4], np.int16)
    return np.clip(bgr, 0, 255).astype(np.uint8), boxes


def make_demo(out_dir: Path, sample_dir: Path = DEFAULT_SAMPLE, seed: int = SEED) -> DemoMedia:
    """Write the video and its ground truth into ``out_dir``."""
    import cv2

    # Reading IDX is the workstation package's job; it needs only numpy, no TensorFlow.
    from ..common.idx import load_mnist_dir

    images, labels = load_mnist_dir(sample_dir, "test")
    rng = np.random.default_rng(seed)
    glyphs = pick_glyphs(typical_glyphs(images, labels), rng)
    background = paper(rng)

    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / VIDEO_NAME
    # OpenCV's own Motion JPEG writer: no FFmpeg needed, and it takes a quality setting.
    writer = cv2.VideoWriter(
        str(video),
        cv2.CAP_OPENCV_MJPEG,
        cv2.VideoWriter.fourcc(*"MJPG"),
        float(FPS),
        (WIDTH, HEIGHT),
    )
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write Motion JPEG to {video}")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, JPEG_QUALITY)
    frames: list[dict[str, object]] = []
    numbers: list[dict[str, object]] = []
    try:
        for value in NUMBERS:
            first = len(frames)
            for _ in range(HOLD_FRAMES):
                image, boxes = render(value, glyphs, images, background, rng)
                writer.write(image)
                frames.append({"index": len(frames), "value": value, "boxes": boxes})
            numbers.append({"value": value, "first_frame": first, "last_frame": len(frames) - 1})
    finally:
        writer.release()

    used = sorted({(p, int(ch)) for v in NUMBERS for p, ch in enumerate(v)})
    truth = out_dir / TRUTH_NAME
    doc = {
        "video": VIDEO_NAME,
        "fps": FPS,
        "width": WIDTH,
        "height": HEIGHT,
        "frame_count": len(frames),
        "seed": seed,
        "made_by": "python -m digitd.train.digits.demo_media --out demo/",
        "digits_from": "real MNIST test digits (t10k) of the committed sample "
        "tests/data/mnist-sample; mnist_index is the index in that sample",
        "glyphs": [
            {"position": p, "digit": d, "mnist_index": glyphs[(p, d)]} for p, d in used
        ],
        "numbers": numbers,
        "frames": frames,
    }
    truth.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    logger.info("wrote %s (%d frames) and %s", video, len(frames), truth)
    return DemoMedia(video, truth, len(frames))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    parser.add_argument(
        "--mnist-dir", type=Path, default=DEFAULT_SAMPLE, help="MNIST folder (IDX files)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    media = make_demo(args.out, args.mnist_dir, args.seed)
    size = media.video.stat().st_size
    print(f"{media.video} ({media.frames} frames, {size} bytes), {media.truth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
