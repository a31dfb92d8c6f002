"""Draw what was read onto a frame (ROI, boxes, digits, confidences) and write it to a file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import DigitdError, UsageError
from ..reading import DigitRead, Reading, shown_position
from .image import to_gray, to_uint8

ACCEPTED = (60, 200, 60)  # BGR
REFUSED = (40, 40, 230)
ROLLING = (0, 170, 230)  # a wheel between two digits: read by its position
ROI = (230, 160, 30)


def annotate(
    frame: npt.NDArray[np.generic], reading: Reading, region: npt.NDArray[np.float32] | None
) -> npt.NDArray[np.uint8]:
    """A BGR copy of ``frame`` with the reading drawn on it."""
    import cv2

    if frame.ndim == 3 and frame.shape[2] == 3:
        canvas = np.ascontiguousarray(to_uint8(frame)).copy()
    else:
        canvas = np.asarray(cv2.cvtColor(to_gray(frame), cv2.COLOR_GRAY2BGR), np.uint8)
    h, w = canvas.shape[:2]
    thick = max(1, round(min(h, w) / 300))
    scale = max(0.4, min(h, w) / 700)
    if region is not None:
        cv2.polylines(canvas, [region.astype(np.int32)], True, ROI, thick, cv2.LINE_AA)

    def box(d: DigitRead, colour: tuple[int, int, int], label: str) -> None:
        x, y, bw, bh = d.box
        cv2.rectangle(canvas, (x, y), (x + bw, y + bh), colour, thick, cv2.LINE_AA)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = y - 4 if y - th - 6 > 0 else min(h - 2, y + bh + th + 4)
        cv2.rectangle(canvas, (x, ty - th - 3), (x + tw + 2, ty + 3), (255, 255, 255), -1)
        cv2.putText(canvas, label, (x + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick,
                    cv2.LINE_AA)

    for d in reading.digits:
        if d.position is not None:
            # A wheel: its position says more than a digit (3.5 is between 3 and 4).
            box(d, ACCEPTED if d.digit is not None else ROLLING,
                f"{shown_position(d.position, 1):.1f}")
        elif d.digit is None:
            box(d, REFUSED, f"? {d.confidence:.2f}")
        else:
            box(d, ACCEPTED, f"{d.digit} {d.confidence:.2f}")
    for d in reading.rejected:
        box(d, REFUSED, f"x {d.not_a_digit:.2f}")
    for dial in reading.dials:
        # A circle in its square, the needle as found from the hub, the position.
        x, y, bw, bh = dial.box
        colour = ACCEPTED if dial.read else REFUSED
        cv2.rectangle(canvas, (x, y), (x + bw, y + bh), colour, thick, cv2.LINE_AA)
        centre = (x + bw // 2, y + bh // 2)
        cv2.circle(canvas, centre, max(1, min(bw, bh) // 2), colour, thick, cv2.LINE_AA)
        if dial.read:
            hx, hy = x + dial.hub[0], y + dial.hub[1]
            reach = 0.42 * min(bw, bh)
            tip = (round(hx + reach * math.sin(math.radians(dial.angle))),
                   round(hy - reach * math.cos(math.radians(dial.angle))))
            cv2.line(canvas, (round(hx), round(hy)), tip, ROLLING, thick + 1, cv2.LINE_AA)
        label = (f"{shown_position(dial.position, 1):.1f} {dial.direction}"
                 if dial.position is not None else "?")
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = min(h - 2, y + bh + th + 4)
        cv2.rectangle(canvas, (x, ty - th - 3), (x + tw + 2, ty + 3), (255, 255, 255), -1)
        cv2.putText(canvas, label, (x + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick,
                    cv2.LINE_AA)
    banner = f"value: {reading.value or '-'}"
    cv2.putText(canvas, banner, (8, int(28 * scale) + 6), cv2.FONT_HERSHEY_SIMPLEX, scale * 1.2,
                (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(canvas, banner, (8, int(28 * scale) + 6), cv2.FONT_HERSHEY_SIMPLEX, scale * 1.2,
                (255, 255, 255), thick, cv2.LINE_AA)
    return canvas


PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_folder_name(out: str) -> bool:
    """``out`` names a folder: it is one, ends with a slash, or has no suffix at all."""
    return out.endswith(("/", "\\")) or Path(out).is_dir() or not Path(out).suffix


def picture_target(out: str, name: str) -> Path:
    """Where a picture called ``name`` goes for ``--out``/``--annotate OUT``."""
    return Path(out) / name if is_folder_name(out) else Path(out)


def check_picture_name(path: Path) -> None:
    """:class:`UsageError` for a name no picture format has (checked before any work)."""
    if path.suffix.lower() not in PICTURE_SUFFIXES:
        raise UsageError(f"{path}: not a picture file name; end it with .png or .jpg")


def write_picture(path: Path, picture: npt.NDArray[np.uint8]) -> None:
    """Write ``picture``, creating its folder; every failure is one :class:`DigitdError`."""
    import cv2

    check_picture_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written = bool(cv2.imwrite(str(path), picture))
    except OSError as exc:
        raise DigitdError(f"{path}: cannot write the picture ({exc.strerror or exc})") from None
    except cv2.error as exc:
        raise DigitdError(f"{path}: cannot write the picture ({exc.err or exc})") from None
    if not written:
        raise DigitdError(f"{path}: cannot write the picture (is the folder writable?)")
