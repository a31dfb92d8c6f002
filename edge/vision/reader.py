"""From a frame to a :class:`~digitd.edge.reading.Reading`: locate, normalise, classify.

The one pipeline behind ``digitd recognize``, ``digitd snapshot`` and the daemon.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..config import LocateConfig, ModelConfig
from ..reading import BoxXYWH, Composed, DialRead, DigitRead, Prediction, Reading
from .classifier import Classifier, WindowClassifier
from .compose import compose
from .image import to_gray
from .locate import Located, Locator
from .model_card import default_model_path
from .normalise import ink_contrast, normalise_digit
from .wheel import WheelEstimate, wheel_digit
from .window import window_batch

if TYPE_CHECKING:  # the dial model is loaded only for a meter with dials
    from .dial import DialEstimate, DialModel

# With fixed boxes, a box whose ink is this much fainter than the row's digits is
# an empty cell, whatever its faint shape looks like once scaled up.
DIM_CELL_FRACTION = 0.45
# On an LCD, a leading cell whose best digit scores below this is an unlit place.
UNLIT_BELOW = 0.5


@dataclass(frozen=True)
class Seen:
    """One frame read: the reading, where its regions are, and what the model was given."""

    reading: Reading
    located: Located
    inputs: npt.NDArray[np.uint8]  # the regions as the model saw them, in order


class Reader:
    """Reads the digits in frames: one kind of reader per way of finding and reading them.

    ``Reader(classifier, locate, window=...)`` gives the kind the locate
    settings ask for, chosen once (:func:`reader_kind`): :class:`DigitReader` for the
    automatic search (and plain boxes read by the digit model), :class:`HandwritingBoxReader`
    for boxes of handwriting, :class:`WheelReader` for wheels and LCD cells read whole by
    the meter-window model. :meth:`read` gives the reading; :meth:`see` gives it with the
    located regions and the model's inputs, for whoever draws or shows them. A reader
    keeps nothing between frames and applies no confidence floor: each digit is the
    model's best with its confidence, and the decisions judge it
    (:func:`.decide.apply_floor`, :class:`.decide.Decider`).
    """

    def __new__(cls, classifier: Classifier | None = None, locate: LocateConfig | None = None,
                window: WindowClassifier | None = None,
                dial_model: DialModel | None = None) -> Reader:
        if cls is Reader:
            cls = reader_kind(locate or LocateConfig(), window is not None)
        return super().__new__(cls)

    def __init__(
        self,
        classifier: Classifier | None,
        locate: LocateConfig | None = None,
        window: WindowClassifier | None = None,
        dial_model: DialModel | None = None,
    ) -> None:
        """``classifier`` reads normalised digits; ``window`` reads whole fixed boxes as
        wheel positions; ``dial_model`` reads pointer dials. All are kept whatever the
        kind, so that the set-up page can build a reader of another kind with the models
        already loaded."""
        self.classifier = classifier
        self.window = window
        self.dial_model = dial_model
        self.locate_cfg = locate or LocateConfig()
        self.locator = Locator(self.locate_cfg)
        self._prepare()

    def _prepare(self) -> None:
        """What a kind builds once from the settings (nothing, for most)."""

    def read(self, frame: npt.NDArray[np.generic]) -> Reading:
        return self.see(frame).reading

    def see(self, frame: npt.NDArray[np.generic]) -> Seen:
        raise NotImplementedError

    def _digit_model(self) -> Classifier:
        if self.classifier is None:
            raise ValueError("this reader has no digit model; auto mode needs one")
        return self.classifier


def reader_kind(locate: LocateConfig, has_window_model: bool) -> type[Reader]:
    """The kind of reader for these locate settings (and the models at hand)."""
    if reads_windows(locate) and (has_window_model or (locate.dials and not locate.boxes)):
        return WheelReader
    if locate.mode == "boxes" and locate.display == "handwriting":
        return HandwritingBoxReader
    return DigitReader


class DigitReader(Reader):
    """The automatic search (or plain fixed boxes), each digit normalised the MNIST way
    and read by the digit model."""

    def see(self, frame: npt.NDArray[np.generic]) -> Seen:
        classifier = self._digit_model()
        t0 = time.perf_counter()
        located = self.locator.locate(frame)
        seen = self._read_digits(located, classifier, t0, time.perf_counter())
        if not located.polarity_sure:
            # Two judges of the polarity disagreed: read it the other way too and
            # keep the reading the model is surer of.
            other = self.locator.locate(frame, dark_ink=not located.photo_dark_ink)
            second = self._read_digits(other, classifier, t0, time.perf_counter())
            if _joint_score(second.reading) > _joint_score(seen.reading):
                return second
        return seen

    def _read_digits(
        self, located: Located, classifier: Classifier, t0: float, t1: float
    ) -> Seen:
        # The wholes and every candidate piece go to the model in one batch.
        crops = list(located.crops)
        piece_at: dict[int, list[int]] = {}
        for i, split in located.splits.items():
            piece_at[i] = list(range(len(crops), len(crops) + len(split.crops)))
            crops.extend(split.crops)
        join_at: dict[int, int] = {}
        for i, join in located.joins.items():
            join_at[i] = len(crops)
            crops.append(join.crop)
        if crops:
            inputs = np.stack([normalise_digit(c, located.dark_ink) for c in crops])
        else:
            inputs = np.zeros((0, 28, 28), np.uint8)
        t2 = time.perf_counter()
        predictions = classifier.classify(inputs)
        t3 = time.perf_counter()

        chosen: list[tuple[Prediction, BoxXYWH]] = []
        taken: set[int] = set()
        for i, box in enumerate(located.boxes):
            if i in taken:
                continue
            whole = predictions[i]
            if i in join_at:
                join = located.joins[i]
                partner_pred = predictions[join.partner] if join.partner is not None else None
                if _join_wins(predictions[join_at[i]], whole, partner_pred):
                    chosen.append((predictions[join_at[i]], join.box))
                    if join.partner is not None:
                        taken.add(join.partner)
                    continue
            parts = [predictions[k] for k in piece_at.get(i, [])]
            if parts and _pieces_win(whole, parts):
                chosen.extend(zip(parts, located.splits[i].boxes, strict=True))
            else:
                chosen.append((whole, box))
        dim = _dim_cells(located) if self.locate_cfg.mode == "boxes" else set()
        reads = [
            DigitRead(
                digit=p.digit if i not in dim else None,
                box=box,
                prediction=p,
            )
            for i, (p, box) in enumerate(chosen)
        ]
        # In auto mode a region the model calls "not a digit" is simply not one of the
        # digits; with fixed boxes every box must hold a digit, so it stays a gap.
        if self.locate_cfg.mode == "auto":
            pairs = [(r, p) for r, (p, _) in zip(reads, chosen, strict=True)]
            rejected = tuple(r for r, p in pairs if p.digit is None)
            digits = tuple(r for r, p in pairs if p.digit is not None)
        else:
            rejected, digits = (), tuple(reads)
        timings = _timings(t0, t1, t2, t3)
        reading = Reading(
            digits, decimals=self.locate_cfg.decimals, rejected=rejected, timings_ms=timings
        )
        return Seen(reading, located, inputs)


class HandwritingBoxReader(Reader):
    """``display = "handwriting"``: each fixed box read by the automatic search around it
    (:mod:`.boxed`), its digit the one found lying mostly inside the box."""

    def _prepare(self) -> None:
        # The search around each box: the box's polarity, nothing else of its settings.
        self.search = DigitReader(self.classifier,
                                  LocateConfig(polarity=self.locate_cfg.polarity))

    def see(self, frame: npt.NDArray[np.generic]) -> Seen:
        from .boxed import NOTHING, around, inputs_by_box, pick

        self._digit_model()
        t0 = time.perf_counter()
        region, outline = self.locator.region(to_gray(frame))
        crops, boxes = self.locator.fixed_boxes(region)
        timings = {"locate": (time.perf_counter() - t0) * 1000.0}
        frame_boxes = [self.locator.to_frame(b, outline) for b in boxes]
        reads: list[DigitRead] = []
        inputs: list[npt.NDArray[np.uint8]] = []
        blank = np.zeros((28, 28), np.uint8)
        for (x, y, w, h), frame_box in zip(boxes, frame_boxes, strict=True):
            part, (ox, oy) = around(region, (x, y, w, h))
            seen = self.search.see(part)
            for stage, ms in seen.reading.timings_ms.items():
                timings[stage] = timings.get(stage, 0.0) + ms
            found = (*seen.reading.digits, *seen.reading.rejected)
            i = pick([d.box for d in found], (x - ox, y - oy, w, h))
            if i is None:
                reads.append(DigitRead(digit=None, box=frame_box, prediction=NOTHING))
                inputs.append(blank)
                continue
            reads.append(DigitRead(digit=found[i].digit, box=frame_box,
                                   prediction=found[i].prediction))
            inputs.append(inputs_by_box(seen.located, seen.inputs).get(found[i].box, blank))
        light = self.locate_cfg.polarity == "light_on_dark"
        located = Located(crops, frame_boxes, not light, outline)
        reading = Reading(tuple(reads), decimals=self.locate_cfg.decimals, timings_ms=timings)
        return Seen(reading, located, np.stack(inputs) if inputs else blank[:0])


class WheelReader(Reader):
    """Fixed boxes on a meter (wheels, LCD cells), each whole box read by the meter-window
    model as a wheel position, and the meter's pointer dials by their needles' angles
    (:mod:`.dial`); all composed into one reading."""

    def see(self, frame: npt.NDArray[np.generic]) -> Seen:
        window = self.window
        cfg = self.locate_cfg
        t0 = time.perf_counter()
        if cfg.boxes:
            if window is None:
                raise ValueError("this reader has no meter-window model; boxes mode needs one")
            # The meter-window model reads the box as it is, in either polarity: telling
            # the locator one (any) spares it judging the polarity on every frame.
            located = self.locator.locate(frame, dark_ink=False)
        else:  # a meter of dials alone
            h, w = frame.shape[:2]
            outline = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
            located = Located([], [], False, outline)
        t1 = time.perf_counter()
        inputs = window_batch(located.crops) if located.crops else np.zeros((0, 1, 1), np.uint8)
        t2 = time.perf_counter()
        estimates = window.estimate(inputs) if located.crops and window is not None else []
        t3 = time.perf_counter()
        timings = _timings(t0, t1, t2, t3)
        dials: list[DialRead] = []
        if cfg.dials:
            if self.dial_model is None:
                raise ValueError("this reader has no dial model; locate.dials needs one")
            dials = read_dial_boxes(frame, cfg, self.dial_model)
            timings["dials"] = (time.perf_counter() - t3) * 1000.0
        reading = wheel_reading(estimates, located.boxes, cfg, timings, dials)
        return Seen(reading, located, inputs)


def read_dial_boxes(frame: npt.NDArray[np.generic], locate: LocateConfig,
                    model: DialModel) -> list[DialRead]:
    """The ``[locate] dials`` of one frame, each as a :class:`DialRead`."""
    from .dial import read_dials
    from .image import to_uint8

    image = to_uint8(frame)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    boxes = [(int(x), int(y), int(w), int(h)) for x, y, w, h in locate.dials]
    return [dial_read(box, e) for box, e in
            zip(boxes, read_dials(image, boxes, locate.directions(), model), strict=True)]


def dial_read(box: BoxXYWH, e: DialEstimate) -> DialRead:
    """The dial model's estimate for the dial in ``box`` as the reading carries it."""
    return DialRead(box=box, position=e.position, confidence=e.confidence,
                    direction=e.direction, angle=e.angle, hub=e.hub, refused=e.refused,
                    direction_sure=e.direction_sure)


def wheel_reading(
    estimates: Sequence[WheelEstimate],
    boxes: Sequence[BoxXYWH],
    locate: LocateConfig,
    timings: dict[str, float] | None = None,
    dials: Sequence[DialRead] = (),
) -> Reading:
    """One frame's reading from the meter-window model's estimate for each box, and the
    dials' positions after them."""
    reads: list[DigitRead] = []
    for est, box in zip(estimates, boxes, strict=True):
        digit = wheel_digit(est)
        empty = est.not_a_digit >= max(est.digit_scores)
        reads.append(
            DigitRead(
                digit=digit,
                box=box,
                prediction=Prediction(
                    digit=None if empty else est.nearest,
                    confidence=est.not_a_digit if empty else est.confidence,
                    scores=tuple(round(s, 4) for s in est.digit_scores),
                    not_a_digit=est.not_a_digit,
                ),
                position=None if empty else est.position,
            )
        )
    # Empty cells left of the first digit are an LCD's unlit leading places: not
    # digits, not a fault. An empty box between digits is (the reading is refused).
    # On an LCD (``display = "lcd"``) so is a leading cell whose best digit scores under
    # UNLIT_BELOW: real lit LCD cells score higher (all but 3 of 769 in wheels.evaluate's
    # count, two of those frames caught mid-change) while unlit ones often get a weak
    # guess (14 of lcd_pb's 18), which would stand in front of the value as a phantom digit.
    lcd = locate.display == "lcd"
    weak = [lcd and weak_guess(est) for est in estimates]
    first = next((i for i, r in enumerate(reads) if r.position is not None and not weak[i]),
                 len(reads))
    unlit = tuple(replace(r, digit=None, position=None) if weak[i] else r
                  for i, r in enumerate(reads[:first]))
    digits = tuple(reads[first:])
    used = _dials_used(dials, locate)
    composed = None
    disagreement = None
    wheels_read = all(r.position is not None for r in digits)
    if (digits or used) and wheels_read:
        composed = compose(
            [*(float(r.position) for r in digits if r.position is not None),
             *(float(d.position) for d in dials[:used] if d.position is not None)],
            locate.transition_start,
            jumps=locate.display == "lcd",
            dials_from=len(digits) if used else None,
        )
        disagreement = _disagreement(composed, first, len(digits), locate)
    return Reading(
        digits,
        decimals=locate.decimals + used,
        rejected=unlit,
        timings_ms=timings or {},
        composed=composed,
        extended=locate.extended_resolution and not used,
        disagreement=disagreement,
        dials=tuple(dials),
        dials_used=used,
    )


def _dials_used(dials: Sequence[DialRead], locate: LocateConfig) -> int:
    """How many dials, from the first, the value carries: all of them (the frame is
    refused if one is not read), or with ``unreadable_dial = "coarser"`` those before
    the first one not read."""
    if locate.unreadable_dial == "refuse":
        return len(dials)
    return next((i for i, d in enumerate(dials) if not d.read), len(dials))


def weak_guess(est: WheelEstimate) -> bool:
    """The model's best digit for this box scores under UNLIT_BELOW: leading an LCD, the
    box is an unlit place (``wheels.evaluate`` counts how many real cells are)."""
    return max(est.digit_scores, default=0.0) < UNLIT_BELOW


# The last wheel beside the first dial: a wheel may lag or lead its dial by a few tenths
# on a worn meter; only a wheel half-way from where the dial puts it is a misread.
LAST_WHEEL_TOLERANCE = 0.45


def _disagreement(composed: Composed, first: int, wheels: int,
                  locate: LocateConfig) -> str | None:
    """Why the wheels and dials cannot all be right, or None: a wheel stands further than
    ``wheel_tolerance`` from where its right neighbour's carry puts it, or a dial further
    than ``dial_tolerance`` from where its finer neighbour's turn puts it. A confident
    misread of one wheel (a 0 with the 9 above it read as a 5 turning to 6) shows up this
    way in its left neighbour, half-turned beside a wheel nowhere near 9 -> 0."""
    for i, misfit in enumerate(composed.misfit):
        if i < wheels - 1 and misfit > locate.wheel_tolerance:
            wheel = first + i + 1  # 1-based among all boxes, as people count them
            return (
                f"wheel {wheel} stands {misfit:.2f} of a digit from where wheel "
                f"{wheel + 1}'s carry puts it (wheel_tolerance {locate.wheel_tolerance:g}): "
                "a wheel misread; if this counter's wheels move at another point of the "
                "carry, set [locate] transition_start"
            )
        if i == wheels - 1 and i + 1 < len(composed.misfit) and misfit > LAST_WHEEL_TOLERANCE:
            return (
                f"the last wheel stands {misfit:.2f} of a digit from where the first dial "
                f"puts it: a wheel or that dial misread; if the wheel moves at another "
                "point of the dial's turn, set [locate] transition_start"
            )
        if i >= wheels and misfit > locate.dial_tolerance:
            dial = i - wheels + 1
            return (
                f"dial {dial} stands {misfit:.2f} from where dial {dial + 1}'s turn puts it "
                f"(dial_tolerance {locate.dial_tolerance:g}): a dial misread (check its "
                "direction, [locate] dial_directions)"
            )
    return None


def reads_windows(locate: LocateConfig) -> bool:
    """Fixed boxes on a meter (wheels, LCD cells) are read whole by the meter-window
    model; the automatic search and boxes of handwriting by the digit model."""
    return locate.mode == "boxes" and locate.display != "handwriting"


def model_for(model: ModelConfig, locate: LocateConfig) -> tuple[Path, str]:
    """The model file and kind (``"digit"``/``"window"``) that :func:`reader_for` loads."""
    if reads_windows(locate):
        return (Path(model.meter_path) if model.meter_path else default_model_path("window"),
                "window")
    return Path(model.path) if model.path else default_model_path("digit"), "digit"


def models_for(model: ModelConfig, locate: LocateConfig) -> list[tuple[Path, str]]:
    """Every model file and kind :func:`reader_for` loads: :func:`model_for`'s, and the
    dial model for ``[locate] dials``."""
    models = [model_for(model, locate)]
    if locate.dials:
        models.append((Path(model.dial_path) if model.dial_path else default_model_path("dial"),
                       "dial"))
    return models


def reader_for(model: ModelConfig, locate: LocateConfig) -> Reader:
    """The reader a config asks for: fixed boxes on a meter read by the meter-window
    model (``[model] meter_path``), the automatic search and boxes of handwriting by the
    digit model (``[model] path``)."""
    path, kind = model_for(model, locate)
    dials = None
    if locate.dials:
        from .dial import DialModel

        dials = DialModel(model.dial_path, num_threads=model.threads)
    if kind == "window":
        window = WindowClassifier(path, num_threads=model.threads) if locate.boxes else None
        return Reader(None, locate, window=window, dial_model=dials)
    return Reader(Classifier(path, num_threads=model.threads), locate)


def _timings(t0: float, t1: float, t2: float, t3: float) -> dict[str, float]:
    """Milliseconds of each stage from the four perf_counter() stamps around them."""
    return {
        "locate": (t1 - t0) * 1000.0,
        "normalise": (t2 - t1) * 1000.0,
        "classify": (t3 - t2) * 1000.0,
    }


def _dim_cells(located: Located) -> set[int]:
    """Boxes whose ink contrast is far below the row's: unlit cells, empty wheels.

    An LCD shows its unlit segments faintly; scaled to full strength, an empty
    cell is a perfect "8". The row's upper quartile is the reference, so glare on
    one box or a few empty leading cells do not move it.
    """
    if len(located.crops) < 2:
        return set()
    contrast = np.array([ink_contrast(c, located.dark_ink) for c in located.crops])
    reference = float(np.percentile(contrast, 75))
    return {i for i, c in enumerate(contrast) if c < DIM_CELL_FRACTION * reference}


def _joint_score(reading: Reading) -> float:
    """How sure the model is of a whole reading: confidence per region found, refused
    regions counting zero (the holes of an "8" read as two "0"s score below the "8")."""
    regions = len(reading.digits) + len(reading.rejected)
    accepted = sum(d.confidence for d in reading.digits if d.digit is not None)
    return accepted / regions if regions else 0.0


def _join_wins(joined: Prediction, alone: Prediction, partner: Prediction | None) -> bool:
    """A digit in strokes that do not touch: trust the joined crop when it is a clear
    digit and reads better than the strokes alone. A lone upright stroke beside a
    refused one is a warning sign, not a "1"."""
    if joined.digit is None or joined.confidence < 0.6:
        return False
    if partner is None:
        return alone.digit is None or joined.confidence >= alone.confidence - 0.05
    if alone.digit is None or partner.digit is None:
        return True
    return joined.confidence > max(alone.confidence, partner.confidence)


def _pieces_win(whole: Prediction, pieces: list[Prediction]) -> bool:
    """Touching digits: trust the cut only when every piece is a clearer digit than the whole."""
    if any(p.digit is None for p in pieces):
        return False
    weakest = min(p.confidence for p in pieces)
    return weakest > (whole.confidence if whole.digit is not None else 0.5)
