"""Real meters: the shipped meter-window model on committed real crops, through every face.

The crops in ``tests/data/meter-crops`` are real (Apache-2.0, see its README): 26
from each of the 8 dev meters, which no training image comes from, and 8 from each
training meter. Only LiteRT runs the model here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitd.edge.config import DEFAULT_MIN_CONFIDENCE, DecisionConfig, LocateConfig
from digitd.edge.vision.classifier import WindowClassifier
from digitd.edge.vision.compose import compose
from digitd.edge.vision.decide import Action, Decider
from digitd.edge.vision.model_card import ModelError, read_card
from digitd.edge.vision.reader import Reader
from digitd.edge.vision.wheel import WheelEstimate, wheel_digit
from digitd.edge.vision.window import window_batch
from digitd.train.wheels.data import load_errata
from tests.meter_strips import (
    METER_CROPS,
    SEVENSEG_CELLS,
    by_tenth,
    counter_positions,
    meter_crops,
    pick,
    strip,
)
from tests.mqtt_broker import Mosquitto, Subscriber

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "meter.tflite"


def _floored(est: WheelEstimate) -> int | None:
    """The digit in view as the daemon's floor leaves it."""
    return wheel_digit(est) if est.confidence >= DEFAULT_MIN_CONFIDENCE else None


@pytest.fixture(scope="module")
def window() -> WindowClassifier:
    return WindowClassifier()  # no path: the shipped model, its card checked


def _digitd(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitd.edge.cli", "-q", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def test_shipped_card_names_the_data_and_the_mode() -> None:
    card = read_card(SHIPPED, kind="window")
    assert card["kind"] == "window" and "boxes" in card["serves"]
    assert SHIPPED.stat().st_size <= 100_000
    assert card["input"]["dtype"] == "int8" and card["input"]["zero_point"] == -128
    names = {d["repository"]: d for d in card["datasets"]}
    meter = names["haverland/Tenth-of-step-of-a-meter-digit"]
    assert meter["licence"] == "Apache-2.0" and len(meter["commit"]) == 40
    assert "Kazuhito00/7segment-display-reader" in names
    # The card's dev figures are the int8 model's, within the gate of the float model's.
    acc = card["accuracy"]
    assert acc["int8"]["near_whole_accuracy"] >= acc["float"]["near_whole_accuracy"] - 0.01


def test_the_two_kinds_of_model_are_not_interchangeable() -> None:
    with pytest.raises(ModelError, match="'digit' model"):
        WindowClassifier(ROOT / "models" / "digits.tflite")
    from digitd.edge.vision.classifier import Classifier

    with pytest.raises(ModelError, match="'window' model"):
        Classifier(SHIPPED)


def test_real_dev_crops_read_as_their_digit(window: WindowClassifier) -> None:
    """Wheels near a whole digit on meters the model never trained on."""
    crops = [c for c in meter_crops() if c.split == "dev"]
    images = [cv2.imread(str(c.file), cv2.IMREAD_COLOR) for c in crops]
    ests = window.estimate(window_batch(images))
    positions = np.array([c.position for c in crops])
    # Unlit LCD cells labelled "0" show no digit (train/wheels/meter_digits_errata.csv, looked at
    # one by one): refusing them is right, so they are not counted as legible digits.
    unlit = {Path(f).name for f, shows in load_errata().items() if shows == "blank"}
    shown = np.array([c.file.name not in unlit for c in crops])
    near = (np.abs(positions - np.round(positions)) <= 0.2) & shown
    got = np.array([-1 if (d := _floored(e)) is None else d for e in ests])
    want = np.round(positions).astype(int) % 10
    assert near.sum() >= 120
    assert (got[near] == want[near]).mean() >= 0.93
    assert (got[near] == -1).mean() <= 0.04, "legible digits refused"
    err = np.abs(np.array([e.position for e in ests]) - positions) % 10
    assert np.median(np.minimum(err, 10 - err)) <= 0.2


def test_real_lcd_cells_digits_read_and_blank_cells_refused(window: WindowClassifier) -> None:
    import csv

    with (SEVENSEG_CELLS / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    images = [cv2.imread(str(SEVENSEG_CELLS / r["file"]), cv2.IMREAD_COLOR) for r in rows]
    ests = window.estimate(window_batch(images))
    got = [_floored(e) for e in ests]
    digits = [(g, int(r["label"])) for g, r in zip(got, rows, strict=True) if r["label"] != "blank"]
    blanks = [g for g, r in zip(got, rows, strict=True) if r["label"] == "blank"]
    assert sum(g == want for g, want in digits) / len(digits) >= 0.96
    assert sum(g is None for g in blanks) / len(blanks) >= 0.8


def _counter_picture(value_tenths: int, seed: int) -> tuple[np.ndarray, list[list[int]], str]:
    """A 5-wheel counter near ``value_tenths`` made of real wheel crops (not LCD cells),
    and the value its crops' labelled positions show (the committed crops do not hold
    every tenth, so a wheel may show one tenth off the counter's exact position)."""
    rng = np.random.default_rng(seed)
    wheels = [c for c in meter_crops() if not c.meter.startswith("lcd")
              and c.meter != "watermeter/Metrona" and c.meter != "powermeter/LandisGyrT330_C"]
    table = by_tenth(wheels)
    chosen = [pick(table, p, rng) for p in counter_positions(value_tenths, 5)]
    crops = [c for c in chosen if c is not None]
    assert len(crops) == 5
    image, boxes = strip(crops)
    shown = compose([c.position for c in crops])
    return image, boxes, shown.value(extended=True)


def test_recognize_boxes_reads_whole_counters_through_roll_overs(tmp_path: Path) -> None:
    """``digitd recognize --boxes --json``: positions per box, the value composed."""
    values = [1298_5, 1299_5, 1299_9, 1300_0, 5209_2, 9999_5, 7045_6, 380_3]
    files, truths = [], []
    boxes: list[list[int]] = []
    for i, v in enumerate(values):
        image, boxes, truth = _counter_picture(v, seed=i)
        path = tmp_path / f"counter{i}.png"
        cv2.imwrite(str(path), image)
        files.append(str(path))
        truths.append(truth.split(".")[0])
    spec = ";".join(",".join(map(str, b)) for b in boxes)
    proc = _digitd("recognize", "--json", "--boxes", spec, *files)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(values)
    right = 0
    for result, truth, v in zip(results, truths, values, strict=True):
        assert all("position" in d for d in result["digits"]), result
        # A wheel in view has its digit; one half-way between two has none. The JSON's
        # position is rounded to 2 decimals: within 0.005 of 0.3 it cannot tell.
        for d in result["digits"]:
            off = abs(d["position"] - round(d["position"]))
            if d["confidence"] >= 0.5 and abs(off - 0.3) > 0.005:
                assert (d["digit"] is None) == (off > 0.3), d
        assert result["extended_value"].startswith(result["value"][:-1])
        right += result["value"] == truth
        if result["value"] != truth:
            print("misread", v, result["value"], [d["position"] for d in result["digits"]])
    assert right >= len(values) - 1


def test_wheels_that_cannot_all_be_right_are_refused(window: WindowClassifier,
                                                     tmp_path: Path) -> None:
    """Real wheel crops showing a state no counter can be in (a wheel half-way to its
    next digit beside a neighbour at 6, as when that neighbour's 9.7 is misread 5.7):
    the reading says the wheels disagree and the decider refuses it; the same crops
    as a counter can stand are read and accepted."""
    wheels = [c for c in meter_crops() if not c.meter.startswith("lcd")
              and c.meter not in ("watermeter/Metrona", "powermeter/LandisGyrT330_C")]
    table = by_tenth(wheels)
    rng = np.random.default_rng(4)
    locate = LocateConfig(mode="boxes", boxes=[[0, 0, 1, 1]] * 5)  # boxes come from strip()
    refused = 0
    for impossible, possible in [([0.0, 1.0, 3.5, 6.0, 2.0], [0.0, 1.0, 3.0, 6.0, 2.0]),
                                 ([0.0, 4.0, 8.5, 3.0, 7.0], [0.0, 4.0, 8.0, 3.0, 7.0])]:
        for positions, bad in ((impossible, True), (possible, False)):
            crops = [pick(table, p, rng) for p in positions]
            image, boxes = strip([c for c in crops if c is not None])
            reader = Reader(None, locate.model_copy(update={"boxes": boxes}), window=window)
            reading = reader.read(image)
            # A meter's first value is published once read recover_after (5) times in a row.
            decider = Decider(DecisionConfig(meter=True, stable_count=1))
            decisions = [decider.offer(reading, float(t)) for t in range(5)]
            decision = decisions[0]
            if bad:
                assert reading.disagreement is not None and "wheel 3" in reading.disagreement
                assert decision.action == Action.REJECT and decision.reason is not None
                assert decision.reason.code == "wheels_disagree"
                refused += 1
                path = tmp_path / f"impossible{refused}.png"
                cv2.imwrite(str(path), image)
                spec = ";".join(",".join(map(str, b)) for b in boxes)
                out = json.loads(_digitd("recognize", "--json", "--boxes", spec, str(path)).stdout)
                assert "wheel 3" in out["wheels_disagree"] and out["value"]
            else:
                assert reading.disagreement is None, reading.disagreement
                assert decisions[-1].action == Action.PUBLISH, decisions[-1]
    assert refused == 2


def test_recognize_an_lcd_meter_reads_each_cell_as_its_nearest_digit(tmp_path: Path) -> None:
    # Real lcd_pb cells the model places on or just below their digit (the shipped model:
    # 2.0, 5.92, 2.0, 5.89): taken as counter wheels the last has not reached its 6 and the
    # value comes out low.
    names = ["2_09b4021e0d89857a7780a9541c4464b3", "6_28f128426fb185c8d015604ed8428708",
             "2_284defc11b27ebf98b4e92b2a1d3e2ed", "6_1d1b4d6c000eb7b1ffc047a1c8d3a666"]
    crops = {c.file.stem: c for c in meter_crops()}
    image, boxes = strip([crops[n] for n in names])
    path = tmp_path / "lcd.png"
    cv2.imwrite(str(path), image)
    spec = ";".join(",".join(map(str, b)) for b in boxes)
    wheels = json.loads(_digitd("recognize", "--json", "--boxes", spec, str(path)).stdout)
    lcd = json.loads(
        _digitd("recognize", "--json", "--boxes", spec, "--display", "lcd", str(path)).stdout
    )
    assert lcd["value"] == "2626"
    assert "extended_value" not in lcd  # an LCD has no tenth to add
    assert wheels["value"] != "2626" and "extended_value" in wheels


def test_recognize_boxes_extended_resolution_adds_the_tenth(tmp_path: Path) -> None:
    image, boxes, _ = _counter_picture(521_3, seed=3)
    path = tmp_path / "counter.png"
    cv2.imwrite(str(path), image)
    spec = ";".join(",".join(map(str, b)) for b in boxes)
    proc = _digitd("recognize", "--json", "--boxes", spec, "--decimals", "2",
                   "--extended-resolution", str(path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["value"] == result["extended_value"]
    assert result["value"].count(".") == 1 and len(result["value"].split(".")[1]) == 3


def test_reader_leading_empty_lcd_cells_are_not_digits(window: WindowClassifier) -> None:
    import csv

    with (SEVENSEG_CELLS / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    blank = next(r for r in rows if r["label"] == "blank")
    digits = [next(r for r in rows if r["label"] == d) for d in "407"]
    cells = [cv2.resize(np.asarray(cv2.imread(str(SEVENSEG_CELLS / r["file"]))), (48, 48))
             for r in [blank, blank, *digits]]
    image = np.hstack(cells)
    boxes = [[48 * i, 0, 48, 48] for i in range(5)]
    reader = Reader(None, LocateConfig(mode="boxes", boxes=boxes), window=window)
    reading = reader.read(image)
    assert reading.value == "407"
    assert len(reading.rejected) == 2 and len(reading.digits) == 3


def test_unlit_lcd_places_the_model_guesses_at_add_no_digit(
    window: WindowClassifier, tmp_path: Path
) -> None:
    """Real unlit lcd_pb cells (labelled "0" in the data set, listed in the errata) in the
    two leading places of an LCD meter: the model's weak guesses at them (a "3" and a
    "1", each scoring under 0.3) are unlit places, not digits, so the photo reads "407"
    through the reader and recognize; read as wheels the same boxes keep their guesses."""
    crops = {c.file.name: c for c in meter_crops() if c.meter == "lcd/lcd_pb"}
    cells = [crops[f] for f in ("0.0_0c935863054423d655980422503c98bd.jpg",
                                "0.0_881a3a0083c168093741a487f155604a.jpg",
                                "4_4ac6ca3ff564c6222232a5317ae0169e.jpg",
                                "0_9e6eaea643f580ff5d6b71dad61c7947.jpg",
                                "7.0_a72823cd1a91a34a5a8f68472288b99e.jpg")]
    errata = load_errata()
    assert all(errata.get(f"images/lcd/lcd_pb/{c.file.name}") == "blank" for c in cells[:2])
    image, boxes = strip(cells)
    lcd = Reader(None, LocateConfig(mode="boxes", boxes=boxes, display="lcd"),
                 window=window).read(image)
    assert lcd.value == "407"
    assert len(lcd.rejected) == 2 and all(r.digit is None for r in lcd.rejected)
    wheels = Reader(None, LocateConfig(mode="boxes", boxes=boxes), window=window).read(image)
    assert len(wheels.value) == 5 and wheels.value.endswith("407")
    path = tmp_path / "lcd.png"
    cv2.imwrite(str(path), image)
    proc = _digitd("recognize", "--json", "--display", "lcd", "--boxes",
                   ";".join(",".join(map(str, b)) for b in boxes), str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"] == "407"


def test_evaluate_reports_real_meter_figures(tmp_path: Path) -> None:
    """``digitd evaluate --meter-dir``: dev figures per meter, LCD cells, whole readings."""
    proc = _digitd("evaluate", "--meter-dir", str(METER_CROPS), "--sevenseg-dir",
                   str(SEVENSEG_CELLS), "--sequences", "40", "--synthetic-counters", "3",
                   "--json",
                   "--report-dir", str(tmp_path / "report"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report["per_meter"]) == {c.meter for c in meter_crops() if c.split == "dev"}
    assert report["dev"]["n"] == sum(1 for c in meter_crops() if c.split == "dev")
    assert "dev_reframed" in report and "sevenseg_heldout" in report
    # Six of the committed lcd_pb crops are unlit cells labelled 0.0 (listed in the
    # errata, looked at one by one): the report scores them again as blanks, beside
    # the figures as labelled, and only that meter's figures move.
    errata = report["errata"]
    assert errata["corrected"] == 6
    assert set(errata["per_meter"]) == {"lcd/lcd_pb"}
    assert errata["dev"]["blank_n"] == 6 and errata["dev"]["near_whole_n"] == (
        report["dev"]["near_whole_n"] - 6)
    # One committed held-out LCD "6" is a frame caught mid-change (its top and lower
    # right segments missing; sevenseg_errata.csv): scored again without it, beside
    # the figures as labelled.
    assert errata["sevenseg_left_out"] == 1
    assert errata["sevenseg_heldout"]["near_whole_n"] == (
        report["sevenseg_heldout"]["near_whole_n"] - 1)
    seq = report["sequences"]
    assert seq["published"] > 0 and seq["decreasing"] == 0
    # ... and as the display shows a counter, its leading zeros unlit.
    assert errata["sequences_unlit_leading"]["decreasing"] == 0
    assert set(errata["sequences_unlit_leading"]["per_meter"]) == set(seq["per_meter"])
    # Generated meter photos read through fixed boxes: two wheel counters and an LCD.
    synthetic = report["synthetic_sequences"]
    assert synthetic["frames"] == 3 * 30 and set(synthetic["per_kind"]) == {"wheels", "lcd"}
    assert synthetic["published"] > 0 and synthetic["decreasing"] == 0
    assert synthetic["per_kind"]["wheels"]["exact"] >= 0.9
    # The fixed photos tests/test_meter_reading.py holds the shipped model to, counted.
    assert {k: m["n"] for k, m in report["test_meters"].items()} == {"wheels": 40, "lcd": 40}
    assert len(report["test_meters"]["wheels"]["wrong"]) <= 1
    # Each frame also read on its own, as recognize reads one photo: given and right.
    for figures in (seq, synthetic):
        assert 0.0 < figures["one_photo_exact"] <= figures["one_photo_given"] <= 1.0
    assert synthetic["per_kind"]["wheels"]["one_photo_exact"] >= 0.9
    # How many lit and unlit LCD cells score under the reader's unlit-place threshold:
    # the committed dev LCD crops (6 of lcd_pb's unlit) and held-out cells (1 blank, and
    # the "6" caught mid-change, which may score under it).
    weak = report["lcd_weak_cells"]
    assert weak["unlit"] == 6 + 1 and weak["lit"] > 0
    assert weak["unlit_weak"] >= 5 and weak["lit_weak"] <= 1
    # The dev crops under a flash's glare, counted with the errata (unlit cells as blank).
    assert report["dev_glare"]["near_whole_n"] == errata["dev"]["near_whole_n"]
    assert report["dev_glare"]["blank_n"] == 6
    assert (tmp_path / "report" / "window_eval.json").is_file()


@pytest.mark.slow
def test_daemon_reads_a_real_meter_video_through_roll_overs(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Frames of real wheel crops counting 12,985 -> 13,010 tenths, through the daemon."""
    values = list(range(1298_5, 1301_1, 2))
    video = tmp_path / "meter.avi"
    writer = None
    boxes: list[list[int]] = []
    truths: list[float] = []
    for i, v in enumerate(values):
        image, boxes, truth = _counter_picture(v, seed=100 + i)
        truths.append(float(truth))
        if writer is None:
            h, w = image.shape[:2]
            writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 5, (w, h))
        for _ in range(3):  # a meter stands still for a few frames at a time
            writer.write(image)
    assert writer is not None
    writer.release()
    config = tmp_path / "meter.toml"
    config.write_text(
        f'[device]\nid = "water"\n\n[camera]\nsource = "{video}"\ninterval = 0\n\n'
        f'[locate]\nmode = "boxes"\nboxes = {json.dumps(boxes)}\n\n'
        f'[decision]\nmeter = true\nstable_count = 2\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\ncollect_dir = "crops"\n'
        f'collect_below = 0.99\ncollect_interval = 0\ncollect_max_files = 25\n'
    )
    with Subscriber(mosquitto, ["digitd/water/state"]) as sub:
        proc = subprocess.run(
            [sys.executable, "-m", "digitd.edge.cli", "run", "--config", str(config),
             "--exit-at-end"], capture_output=True, text=True, timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        sub.wait_for(lambda: bool(sub.on("digitd/water/state")), 10)
        states = [json.loads(m.payload) for m in sub.on("digitd/water/state")]
    published = [int(s["value"]) for s in states]
    assert published == sorted(published), "a roll-over never makes the value go down"
    whole = [int(t) for t in truths]
    assert published == sorted(set(whole)), (published, truths)
    # The last wheel's tenth rides along as the extended value, to within a tenth.
    for s in states:
        extended = float(s["extended_value"])
        assert int(extended) == int(s["value"])
        assert min(abs(extended - t) for t in truths) <= 0.11
    assert all("position" in d for s in states for d in s["digits"])
    # Doubtful crops (read below 0.99: the shipped model reads every wheel of this video at
    # 0.8 or more, 13 of its 65 below 0.99) were kept for labelling, bounded by collect_max_files.
    kept = list((tmp_path / "state" / "crops" / "unsorted").glob("*_guess-*.png"))
    assert 0 < len(kept) <= 25


def test_recognize_warp_and_boxes_on_a_photographed_counter(tmp_path: Path) -> None:
    """The way a user sets up a meter: ``--warp`` around the counter window in a photo
    taken at an angle, ``--boxes`` in the straightened strip."""
    strip_img, strip_boxes, truth = _counter_picture(4521_7, seed=11)
    h, w = strip_img.shape[:2]
    frame = np.full((480, 640, 3), 90, np.uint8)
    quad = np.array([[150, 180], [150 + w - 12, 196], [150 + w, 196 + h + 10], [146, 180 + h]],
                    np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    warped = cv2.warpPerspective(strip_img, cv2.getPerspectiveTransform(src, quad), (640, 480))
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8),
                                 cv2.getPerspectiveTransform(src, quad), (640, 480)) > 0
    frame[inside] = warped[inside]
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), frame)
    # The straightened strip is as large as the quadrilateral's longer edges.
    sw = int(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    sh = int(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    boxes = [[round(x * sw / w), round(y * sh / h), round(bw * sw / w), round(bh * sh / h)]
             for x, y, bw, bh in strip_boxes]
    warp = ";".join(f"{int(x)},{int(y)}" for x, y in quad)
    spec = ";".join(",".join(map(str, b)) for b in boxes)
    proc = _digitd("recognize", "--json", "--warp", warp, "--boxes", spec, str(path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["value"] == truth.split(".")[0], result
    assert len(result["digits"]) == 5 and all("position" in d for d in result["digits"])


def test_snapshot_shows_wheel_positions(tmp_path: Path) -> None:
    """``digitd snapshot`` on a boxes config: each box drawn with its wheel position."""
    image, boxes, truth = _counter_picture(1299_5, seed=5)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "a.png"), image)
    config = tmp_path / "meter.toml"
    config.write_text(f'[camera]\nsource = "{frames}"\n\n[locate]\nmode = "boxes"\n'
                      f'boxes = {json.dumps(boxes)}\n\n[daemon]\nstate_dir = "{tmp_path}"\n')
    out = tmp_path / "aim.png"
    proc = _digitd("snapshot", "--config", str(config), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"read {truth.split('.')[0]}" in proc.stdout
    assert proc.stdout.count("@") == 5  # digit@position for every box
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[:2] == image.shape[:2]
