"""The ``digitd`` command: one entry point, one subcommand per job.

Logging is configured here and nowhere else. Workstation subcommands import the
train/convert packages late, so a device with only the edge extra installed gets
a clear "install digitd[train]" instead of an ImportError traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .errors import EXIT_CONFIG, EXIT_FAILURE, EXIT_USAGE, DigitdError

logger = logging.getLogger(__name__)

__all__ = ["EXIT_CONFIG", "EXIT_USAGE", "main"]

Handler = Callable[[argparse.Namespace], int]

TRAIN_NEEDS = ("tensorflow", "keras", "cv2")
EDGE_NEEDS = ("cv2",)
DAEMON_NEEDS = ("cv2", "paho", "pydantic")


def _missing(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


class MissingExtraError(DigitdError):
    """A subcommand needs an optional dependency group that is not installed."""

    exit_code = EXIT_USAGE


def setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    # journald stamps every line itself; a second timestamp only adds noise there.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    # The embedded broker's libraries narrate every state change at INFO.
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _late(module: str, func: str, extra: str, needs: tuple[str, ...] = ()) -> Handler:
    """A handler imported only when its subcommand runs; ``needs`` are checked first."""

    def handler(args: argparse.Namespace) -> int:
        for name in needs:
            if _missing(name):
                raise MissingExtraError(
                    f"'digitd {args.command}' needs {name}, which is not installed: "
                    f"pip install 'digitd[{extra}]'"
                )
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = exc.name or "a dependency"
            raise MissingExtraError(
                f"'digitd {args.command}' needs {missing}, which is not installed: "
                f"pip install 'digitd[{extra}]'"
            ) from exc
        result: int = getattr(mod, func)(args)
        return result

    return handler


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train", help="train a digit or meter-window model (workstation)",
        description="What a run does is its recipe (--recipe FILE: a TOML of the training "
        "settings, as a model card records them; train/digits/recipe.toml and "
        "train/wheels/recipe.toml make the shipped models' kind of run); the options below "
        "override it.")
    p.add_argument("--recipe", metavar="FILE.toml",
                   help="the training settings (kind, architecture, augmentation, teachers, "
                   "...); default: the kind's defaults")
    p.add_argument("--kind", choices=["digit", "window", "dial"], default=None,
                   help="digit: handwriting/auto-mode model on MNIST; window: the meter-window "
                   "model for boxes mode, on real meter crops; dial: the pointer-dial model, on "
                   "generated dials (default: the recipe's, else digit)")
    p.add_argument("--mnist-dir", help="digit kind: folder with the four MNIST IDX files "
                   "(default: keras.datasets.mnist, which downloads)")
    p.add_argument("--meter-dir", help="window kind: the meter-digits folder (labels.csv, "
                   "images/); its train split is trained on, its dev split watched")
    p.add_argument("--sevenseg-dir", help="window kind: the sevenseg-digits folder (its "
                   "training part is used; the last 20 %% of each class is held out)")
    p.add_argument("--images", dest="images_dir",
                   help="extra labelled crops: DIR/0 ... DIR/9, DIR/not_a_digit (window kind: "
                   "DIR/<position>, e.g. DIR/3, DIR/3.5, DIR/not_a_digit)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: the recipe's, else 15 digit / 18 window)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    p.add_argument("--limit", type=int,
                   help="use only N MNIST digits / real meter crops (quick runs)")
    p.add_argument("--init", metavar="MODEL.keras",
                   help="start from this trained model instead of random weights (fine-tune: "
                   "a few epochs, learning_rate around 3e-4 in the recipe)")
    p.add_argument("--out", default=None, help="output folder (default runs/<arch>, "
                   "runs/window)")
    p.set_defaults(func=_late("digitd.train.commands", "train_command", "train", TRAIN_NEEDS))


def _add_convert(sub: Any) -> None:
    p = sub.add_parser("convert", help="convert a .keras model to full int8 .tflite + card")
    p.add_argument("model", help="the trained .keras model")
    p.add_argument("--out", required=True, help="the .tflite file to write")
    p.add_argument("--mnist-dir", help="MNIST folder for the representative set and the gate")
    p.add_argument("--meter-dir", help="meter-window models: the meter-digits folder (train "
                   "crops calibrate, the dev split gates); the kind is read from the model")
    p.add_argument("--representative", type=int, default=500,
                   help="training digits used to calibrate quantisation (default 500)")
    p.add_argument("--max-drop", type=float, default=None,
                   help="refuse when int8 accuracy is more than this many points below float "
                   "(default 0.3 for digit models, 1.0 for meter-window models)")
    p.add_argument("--eval-limit", type=int,
                   help="gate on only the first N test digits (quick runs; default all 10,000)")
    p.set_defaults(func=_late("digitd.convert.commands", "convert_command", "train", TRAIN_NEEDS))


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="accuracy of a .tflite model: MNIST test split, or "
                       "real meters (--meter-dir)")
    p.add_argument("--model", help="the .tflite model (default: the shipped model of the kind)")
    p.add_argument("--mnist-dir", help="digit models: folder with the four MNIST IDX files")
    p.add_argument("--meter-dir", help="meter-window models: the meter-digits folder (its dev "
                   "split: 8 meters in no training image)")
    p.add_argument("--sevenseg-dir", help="meter-window models: also the held-out LCD cells")
    p.add_argument("--sequences", type=int, default=900,
                   help="meter-window models: 5-wheel counters composed from dev crops")
    p.add_argument("--synthetic-counters", type=int, default=60,
                   help="meter-window models: counters of generated meter photos (0: none)")
    p.add_argument("--dials", action="store_true",
                   help="the dial model: its held-out generated styles, and with --meter-dir "
                   "whole water meters (real wheel crops of the dev split, generated dials)")
    p.add_argument("--water-meters", type=int, default=120,
                   help="--dials with --meter-dir: how many water meters, 40 frames each")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--report-dir", help="write confusion matrix and misread digits as PNG here")
    p.add_argument("--limit", type=int, help="only the first N test digits")
    p.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    p.set_defaults(func=_late("digitd.train.evaluate", "evaluate_command", "edge", EDGE_NEEDS))


def _add_fetch(sub: Any) -> None:
    p = sub.add_parser("fetch-mnist", help="download and verify the four MNIST files "
                       "into the cache train/convert/evaluate use (workstation)")
    p.add_argument("dir", nargs="?", help="where to put them (default ~/.cache/digitd/mnist)")
    p.add_argument("--mirror", action="append",
                   help="a base URL to download from (repeatable; default: public mirrors)")
    p.set_defaults(func=_late("digitd.train.common.fetch", "fetch_command", "train"))


def _add_recognize(sub: Any) -> None:
    p = sub.add_parser("recognize", help="read the digits in image files")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", help="digit model for the automatic search (default: shipped)")
    p.add_argument("--meter-model", help="meter-window model for --boxes (default: shipped)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--annotate", metavar="OUT", help="write the image with boxes and digits "
                   "(a .png file; a folder when several images are given)")
    p.add_argument("--roi", metavar="X,Y,W,H", help="read only this region")
    p.add_argument("--warp", metavar="X,Y;X,Y;X,Y;X,Y",
                   help="straighten this quadrilateral first (corners TL;TR;BR;BL)")
    p.add_argument("--boxes", metavar="X,Y,W,H;...",
                   help="fixed digit boxes inside the ROI (meters) instead of searching")
    p.add_argument("--dials", metavar="X,Y,W,H;...",
                   help="analog pointer dials in frame pixels, most significant first: "
                   "their positions are further decimals after the wheels")
    p.add_argument("--dial-directions", metavar="D,...",
                   help="per dial (or one for all): cw, ccw or auto (found from the "
                   "numerals; the default)")
    p.add_argument("--polarity", choices=["auto", "dark_on_light", "light_on_dark"],
                   default="auto")
    p.add_argument("--decimals", type=int, default=0, help="the last N digits are decimals")
    p.add_argument("--extended-resolution", action="store_true",
                   help="boxes on wheels: the last wheel's tenth as one more decimal")
    p.add_argument("--display", choices=["wheels", "lcd", "handwriting"], default="wheels",
                   help="boxes: counter wheels (the default), an LCD/LED display whose "
                   "digits jump (each box its nearest digit), or a handwritten digit per box "
                   "(read by the digit model)")
    p.add_argument("--transition-start", type=float, default=9.0,
                   help="boxes on wheels: where in its right neighbour's turn a wheel starts "
                   "turning (9: while it passes 9 -> 0, the default; 0: continuously)")
    p.add_argument("--wheel-tolerance", type=float, default=0.2,
                   help="boxes on wheels: how far a wheel may stand from where its right "
                   "neighbour's carry puts it before the JSON says the wheels disagree "
                   "(default 0.2 digit)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="digits below this confidence are not reported (default: the "
                   "daemon's, [decision] min_confidence)")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_late("digitd.edge.tools.recognize", "recognize_command", "edge",
                              EDGE_NEEDS))


def _add_daemon(sub: Any) -> None:
    p = sub.add_parser("run", help="the daemon: read the camera, publish over MQTT")
    p.add_argument("--config", required=True, help="the TOML configuration file")
    p.add_argument("--exit-at-end", action="store_true",
                   help="stop when a video file or image folder ends (demos, tests)")
    p.add_argument("--show-mqtt", action="store_true",
                   help="also print every message that arrives on the daemon's topics")
    p.set_defaults(func=_late("digitd.edge.service.daemon", "run_command", "edge", DAEMON_NEEDS))

    p = sub.add_parser("check-config", help="validate a configuration file (exit 0 or 78)")
    p.add_argument("file", help="the TOML configuration file")
    p.set_defaults(func=_late("digitd.edge.service.check_config", "check_config_command", "edge",
                              ("pydantic",)))

    p = sub.add_parser("snapshot", help="grab one frame and draw ROI, boxes, digits")
    p.add_argument("--config", required=True, help="the TOML configuration file")
    p.add_argument("--out", required=True, help="the picture to write (.png)")
    p.add_argument("--timeout", type=float, default=15.0,
                   help="seconds to wait for a frame (default 15)")
    p.set_defaults(func=_late("digitd.edge.tools.snapshot", "snapshot_command", "edge",
                              DAEMON_NEEDS))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitd", description="Read digits with a camera and publish them over MQTT."
    )
    parser.add_argument("--version", action="version", version=f"digitd {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=1,
                        help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_convert(sub)
    _add_evaluate(sub)
    _add_fetch(sub)
    _add_recognize(sub)
    _add_daemon(sub)
    _add_install(sub)
    return parser


def _add_install(sub: Any) -> None:
    # The installer is standard library only, so a bare checkout can run it; it never
    # imports the CLI back.
    from ..install.layout import DEFAULT_VENV, EXTRA

    p = sub.add_parser(
        "install-service",
        help="install digitd as a systemd service (run with sudo)",
        description="Create the user, a venv with digitd, /etc/digitd with an example "
        "config and an empty password file, and the systemd units; every step is "
        "printed, and running it again changes only what is missing.",
    )
    p.add_argument("--from", dest="source", metavar="SPEC",
                   help="install digitd from this wheel, sdist, folder or requirement "
                   "(default: the checkout this command runs from)")
    p.add_argument("--venv", default=str(DEFAULT_VENV),
                   help=f"the virtual environment the service runs from (default {DEFAULT_VENV})")
    p.add_argument("--no-venv", action="store_true",
                   help="leave the venv alone (you manage it yourself)")
    p.add_argument("--system-site-packages", action="store_true",
                   help="let the venv see the OS's Python packages (automatic on a Raspberry "
                   "Pi, for python3-picamera2)")
    p.add_argument("--reinstall", action="store_true",
                   help="pip-install digitd again even when that version is already there")
    p.add_argument("--uninstall", action="store_true",
                   help="remove the units and the venv; keep config, password and state")
    p.add_argument("--root", default="/", metavar="DIR",
                   help="install below DIR instead of into this system (for tests and images)")
    p.add_argument("-n", "--dry-run", action="store_true",
                   help="print every step it would take and change nothing")
    p.set_defaults(func=_late("digitd.install.plan", "install_command", EXTRA))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(0 if args.quiet else args.verbose)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("digitd: interrupted", file=sys.stderr)
        return 130
    except DigitdError as exc:
        # The user's mistakes, each with its fix and exit status, in one line; a
        # traceback is for bugs, and -vv shows it for those who want it.
        logger.debug("details", exc_info=True)
        print(f"digitd {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (OSError, ValueError) as exc:
        # Expected failures from the libraries (a file that cannot be read, ...).
        logger.debug("details", exc_info=True)
        print(f"digitd {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
