"""The models side by side: accuracy float/int8, size, parameters, ms per digit.

    .venv/bin/python bench/models.py [--edge runs/final] [--seed runs/seed] [--json OUT]

Needs the train extra (TensorFlow) and the trained .keras models (``digitd train``);
the int8 files are converted on the fly when missing. The seed tutorial's way of
reading a digit — ``model.predict`` on one crop in full TensorFlow — is measured in
the same run as digitd's int8 model in LiteRT. Medians over repeated calls; ratios
are computed from this run's own figures. A model whose run folder is missing keeps
its row from the earlier ``--json`` file, marked with the date it was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import timed  # a script beside this one

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def ensure_tflite(run: Path, mnist_dir: Path) -> Path:
    out = run / "model.tflite"
    if not out.exists():
        from digitd.convert.digits import convert

        convert(run / "model.keras", out, mnist_dir, representative=300)
    return out


def _one_digit(clf: Any, digit: np.ndarray) -> Callable[[], object]:
    return lambda: clf.probabilities(digit)


def bench_model(name: str, run: Path, mnist_dir: Path, repeats: int) -> dict[str, Any]:
    import keras

    from digitd.edge.vision.classifier import Classifier
    from digitd.train.common.idx import load_mnist_dir

    images, labels = load_mnist_dir(mnist_dir, "test")
    model = keras.models.load_model(run / "model.keras", compile=False)
    x = images[..., None].astype(np.float32) / 255.0
    float_acc = float((model.predict(x, verbose=0, batch_size=512).argmax(1) == labels).mean())
    tflite = ensure_tflite(run, mnist_dir)
    row: dict[str, Any] = {
        "model": name,
        "params": int(model.count_params()),
        "keras_bytes": (run / "model.keras").stat().st_size,
        "tflite_int8_bytes": tflite.stat().st_size,
        "float_accuracy": round(float_acc, 5),
    }
    one = x[:1]
    row["tf_predict_per_digit"] = timed(lambda: model.predict(one, verbose=0), repeats // 4)
    row["keras_call_per_digit"] = timed(lambda: model(one, training=False), repeats // 2)
    for threads in (1, 2):
        clf = Classifier(tflite, num_threads=threads)
        probs = np.concatenate([clf.probabilities(images[i : i + 500])
                                for i in range(0, len(images), 500)])
        row["int8_accuracy"] = round(float((probs.argmax(1) == labels).mean()), 5)
        row[f"litert_int8_{threads}_thread_per_digit"] = timed(
            _one_digit(clf, images[:1]), repeats
        )
    return row


def _earlier_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The rows of an earlier ``--json`` file by model name, each with the date it was measured."""
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text())
    return {r["model"]: {**r, "measured": r.get("measured", earlier.get("date", "?"))}
            for r in earlier.get("models", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edge", default=str(ROOT / "runs" / "final"))
    parser.add_argument("--seed", default=str(ROOT / "runs" / "seed"))
    parser.add_argument("--mnist-dir", default=str(MNIST))
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    earlier = _earlier_rows(Path(args.json)) if args.json else {}
    rows = []
    for name, run in (("seed", Path(args.seed)), ("edge", Path(args.edge))):
        if (run / "model.keras").exists():
            rows.append(bench_model(name, run, Path(args.mnist_dir), args.repeats))
        elif name in earlier:
            # An unchanged model need not be retrained (the seed takes the longest)
            # just to time the other one: its row from the earlier run is kept, dated.
            print(f"{run}/model.keras not found: keeping the {name} row measured "
                  f"{earlier[name]['measured']}")
            rows.append(earlier[name])
        else:
            raise SystemExit(f"{run}/model.keras not found: train it first "
                             f"(digitd train --arch {name} --out {run} ...)")
    today = time.strftime("%Y-%m-%d")
    for r in rows:
        r.setdefault("measured", today)
    print(f"{'model':>5} {'params':>9} {'int8 KB':>8} {'float acc':>9} {'int8 acc':>8}  "
          f"{'TF predict':>10} {'Keras call':>10} {'LiteRT 1t':>9} {'LiteRT 2t':>9}  (ms/digit)")
    for r in rows:
        print(f"{r['model']:>5} {r['params']:>9,} {r['tflite_int8_bytes'] / 1000:>8.1f} "
              f"{r['float_accuracy']:>9.2%} {r['int8_accuracy']:>8.2%}  "
              f"{r['tf_predict_per_digit']['median_ms']:>10.3f} "
              f"{r['keras_call_per_digit']['median_ms']:>10.3f} "
              f"{r['litert_int8_1_thread_per_digit']['median_ms']:>9.4f} "
              f"{r['litert_int8_2_thread_per_digit']['median_ms']:>9.4f}")
    seed, edge = rows
    ratio = (seed["tf_predict_per_digit"]["median_ms"]
             / edge["litert_int8_1_thread_per_digit"]["median_ms"])
    print(f"seed model.predict per digit / edge int8 LiteRT (1 thread): {ratio:,.0f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "python": platform.python_version()},
            "models": rows, "predict_vs_litert_ratio": round(ratio, 1),
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
