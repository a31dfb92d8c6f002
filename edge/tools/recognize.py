"""``digitd recognize``: read the digits in image files, one line (or JSON object) per image."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ..config import DEFAULT_MIN_CONFIDENCE, LocateConfig, ModelConfig
from ..errors import UsageError
from ..reading import Reading
from ..vision.decide import apply_floor
from ..vision.image import ImageError, load_image
from ..vision.reader import reader_for

logger = logging.getLogger(__name__)


def reading_json(file: str, reading: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file": file,
        "value": reading.value,
        "digits": [d.as_json() for d in reading.digits],
        "rejected": [
            {**d.as_json(), "not_a_digit": round(d.not_a_digit, 4)} for d in reading.rejected
        ],
        "timings_ms": {k: round(v, 3) for k, v in reading.timings_ms.items()},
    }
    if reading.extended_value is not None:
        out["extended_value"] = reading.extended_value
    if reading.dials:
        out["dials"] = [d.as_json() for d in reading.dials]
    if reading.disagreement is not None:
        # The value is still shown (a set-up aid), but the daemon would not publish it.
        out["wheels_disagree"] = reading.disagreement
    return out


def _ints(text: str, n: int, what: str) -> list[int]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != n or not all(p.lstrip("-").isdigit() for p in parts):
        raise ValueError(f"{what} {text!r}: expected {n} comma-separated integers")
    return [int(p) for p in parts]


def locate_from_args(args: argparse.Namespace) -> LocateConfig:
    fields: dict[str, Any] = {
        "polarity": args.polarity,
        "decimals": args.decimals,
        "extended_resolution": args.extended_resolution,
        "transition_start": args.transition_start,
        "wheel_tolerance": args.wheel_tolerance,
        "display": args.display,
    }
    if args.roi:
        fields["roi"] = _ints(args.roi, 4, "--roi")
    if args.warp:
        fields["warp"] = [_ints(p, 2, "--warp corner") for p in args.warp.split(";")]
    if args.boxes:
        fields["mode"] = "boxes"
        fields["boxes"] = [_ints(b, 4, "--boxes entry") for b in args.boxes.split(";")]
    if args.dials:
        fields["mode"] = "boxes"
        fields["dials"] = [_ints(b, 4, "--dials entry") for b in args.dials.split(";")]
        if args.dial_directions:
            fields["dial_directions"] = args.dial_directions.replace(" ", "").split(",")
    elif args.dial_directions:
        raise ValueError("--dial-directions: give the dials too (--dials X,Y,W,H;...)")
    from pydantic import ValidationError

    try:
        return LocateConfig(**fields)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(reasons) from None


def recognize_command(args: argparse.Namespace) -> int:
    from ..vision.draw import annotate, is_folder_name, picture_target, write_picture

    locate = locate_from_args(args)
    # The model by mode, as the daemon picks it: fixed boxes are meter windows unless
    # they hold handwriting (--display handwriting).
    # (Not validated: --threads has never been bound to the config file's 1..16.)
    models = ModelConfig.model_construct(
        path=args.model, meter_path=args.meter_model, threads=args.threads
    )
    reader = reader_for(models, locate)
    floor = DEFAULT_MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence
    many = len(args.images) > 1
    if args.annotate and many and not is_folder_name(args.annotate):
        raise UsageError(f"--annotate {args.annotate}: with several images give a folder, "
                         "not a file name")
    failures = 0
    for name in args.images:
        try:
            image = load_image(name)
            seen = reader.see(image)
        except ImageError as exc:
            failures += 1
            print(f"digitd recognize: {exc}", file=sys.stderr)
            continue
        reading = apply_floor(seen.reading, floor)
        if args.json:
            print(json.dumps(reading_json(name, reading)), flush=True)
        else:
            confs = " ".join(d.brief() for d in reading.digits)
            if reading.dials:
                confs += " | dials " + " ".join(d.brief() for d in reading.dials)
            print(f"{name}: {reading.value or '(no digits)'}  [{confs}]", flush=True)
        if args.annotate:
            picture = annotate(image, reading, seen.located.region)
            write_picture(picture_target(args.annotate, f"{Path(name).stem}.annotated.png"),
                          picture)
    return 1 if failures else 0

