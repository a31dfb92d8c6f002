"""What a frame costs on a Raspberry Pi, estimated from this machine. An estimate, not a
measurement: only a physical Pi measures itself.

    .venv/bin/python bench/pi_estimate.py [--json OUT] [--repeats N]

Three parts:
1. Work in units that carry over to any CPU: multiply-accumulates (MACs) of each model,
   read from its operators, and the pixels each stage of a frame touches.
2. This machine's milliseconds per frame (one interpreter thread, as the daemon runs).
3. Two published CPU ratios, each reproduced on this machine with the same workload:
   - XNNPACK's own table of FP32 MobileNet v2 1.0 (224x224, random weights, all cores):
     RPi 3+ 79 ms, RPi 4 (ARM64) 46 ms (google/XNNPACK README, "Raspberry Pi"). The same
     network is built and timed here with LiteRT on all this machine's cores.
   - sysbench 1.0.20 ``cpu --threads=1`` (primes to 10,000), events/s: Pi 3+ 687.45,
     Pi 4 1477.83, Pi 5 2737.49 (leoncode.co.uk, "Raspberry Pi CPU Benchmarks"); run here
     with the same command (``apt install sysbench``).
   The Zero 2 W has the Pi 3+'s Cortex-A53 cores at 1.0 GHz instead of 1.4 GHz: its
   figures are the Pi 3+'s scaled by 1.4. The Pi 5 is not in XNNPACK's table: its figure
   there is the Pi 4's scaled by the sysbench ratio of the two (2737.49 / 1477.83).
The two ratios disagree (integer primes flatter an ARM core against an x86 one; SIMD
convolutions do not), so each estimate is given as the range between them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import frame_costs  # noqa: E402
from timing import timed  # noqa: E402

from digitd.edge.vision.classifier import Classifier, WindowClassifier  # noqa: E402
from digitd.edge.vision.reader import Reader  # noqa: E402

XNNPACK_MOBILENET_V2_MS = {"Pi 3+": 79.0, "Pi 4": 46.0}  # 4 threads, FP32, 224x224
SYSBENCH_EVENTS = {"Pi 3+": 687.45, "Pi 4": 1477.83, "Pi 5": 2737.49}
ZERO2W_CLOCK = 1.0 / 1.4  # Zero 2 W against Pi 3+: the same cores, lower clock
PI_CORES = 4


def model_macs(path: Path) -> dict[str, Any]:
    """MACs of one inference of a TFLite model, from its operators' tensor shapes."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    shapes = {t["index"]: [int(s) for s in t["shape"]] for t in interp.get_tensor_details()}
    total = 0
    by_op: dict[str, int] = {}
    for op in interp._get_ops_details():
        name, ins, outs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        out = shapes[outs[0]]
        if name == "CONV_2D":  # weights [out_c, kh, kw, in_c]
            _, kh, kw, cin = shapes[ins[1]]
            macs = int(np.prod(out[1:])) * kh * kw * cin
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, out_c]
            _, kh, kw, _ = shapes[ins[1]]
            macs = int(np.prod(out[1:])) * kh * kw
        elif name == "FULLY_CONNECTED":  # weights [out, in]
            macs = int(np.prod(shapes[ins[1]]))
        else:
            continue
        by_op[name] = by_op.get(name, 0) + int(macs)
        total += macs
    return {"model": path.name, "macs": total, "by_op": by_op}


def mobilenet_v2_ms(repeats: int) -> float:
    """XNNPACK's workload here: FP32 MobileNet v2 1.0, random weights, all cores."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    flat = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mobilenet_v2.tflite"
        path.write_bytes(flat)
        interp = Interpreter(model_path=str(path), num_threads=os.cpu_count() or 1)
        interp.allocate_tensors()
        x = np.random.default_rng(0).random((1, 224, 224, 3), np.float32)
        index = interp.get_input_details()[0]["index"]

        def run() -> None:
            interp.set_tensor(index, x)
            interp.invoke()

        return timed(run, repeats, warmup=5)["median_ms"]


def sysbench_events() -> float | None:
    if shutil.which("sysbench") is None:
        return None
    out = subprocess.run(["sysbench", "cpu", "--threads=1", "--time=10", "run"],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"events per second:\s+([\d.]+)", out)
    return float(match.group(1)) if match else None


def this_machine(repeats: int) -> dict[str, Any]:
    """Milliseconds of the daemon's per-frame work here, one interpreter thread."""
    from digitd.edge.config import LocateConfig
    from digitd.edge.vision.window import HEIGHT, WIDTH, window_batch

    auto = Reader(Classifier(num_threads=1), LocateConfig(mode="auto"))
    frames = {f"auto {w}x{h}, {n} digits": frame_costs(auto, (w, h), n, repeats)["median_ms"]
              for (w, h), n in (((320, 240), 1), ((640, 480), 6), ((1280, 720), 6))}
    meter = WindowClassifier(num_threads=1)
    crops = [np.random.default_rng(i).integers(0, 255, (60, 36, 3), np.uint8) for i in range(8)]
    frames["boxes, 8 meter boxes (crop, stretch, model)"] = timed(
        lambda: meter.probabilities(window_batch(crops)), repeats)["median_ms"]
    pixels = {"auto 640x480": 640 * 480, "a digit's model input": 28 * 28,
              "a meter box's model input": HEIGHT * WIDTH}
    return {"ms": {k: round(v, 3) for k, v in frames.items()}, "pixels": pixels}


def estimate(x86_ms: dict[str, float], mobilenet_ms: float, sysbench: float | None,
             cores: int) -> dict[str, Any]:
    """Each frame's milliseconds on each Pi, as the range between the two ratios."""
    # XNNPACK's figures use all 4 cores of a Pi, ours all of this machine's: per core,
    # a Pi core is (pi_ms * 4) / (ours * cores) times slower, if both scale alike.
    mobilenet = {
        "Pi 4": XNNPACK_MOBILENET_V2_MS["Pi 4"],
        "Pi 5": XNNPACK_MOBILENET_V2_MS["Pi 4"] * SYSBENCH_EVENTS["Pi 4"] / SYSBENCH_EVENTS["Pi 5"],
        "Zero 2 W": XNNPACK_MOBILENET_V2_MS["Pi 3+"] / ZERO2W_CLOCK,
    }
    by_mobilenet = {pi: ms * PI_CORES / (mobilenet_ms * cores) for pi, ms in mobilenet.items()}
    by_sysbench: dict[str, float] = {}
    if sysbench:
        events = {"Pi 4": SYSBENCH_EVENTS["Pi 4"], "Pi 5": SYSBENCH_EVENTS["Pi 5"],
                  "Zero 2 W": SYSBENCH_EVENTS["Pi 3+"] * ZERO2W_CLOCK}
        by_sysbench = {pi: sysbench / e for pi, e in events.items()}
    out: dict[str, Any] = {"slowdown_per_core": {}, "ms": {}}
    for pi in mobilenet:
        ratios = sorted(r for r in (by_mobilenet[pi], by_sysbench.get(pi)) if r)
        out["slowdown_per_core"][pi] = [round(r, 2) for r in ratios]
        out["ms"][pi] = {k: [round(v * r, 1) for r in ratios] for k, v in x86_ms.items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--repeats", type=int, default=100)
    args = p.parse_args()
    work = [model_macs(ROOT / "models" / name) for name in ("digits.tflite", "meter.tflite")]
    here = this_machine(args.repeats)
    mobilenet = mobilenet_v2_ms(max(10, args.repeats // 5))
    sysbench = sysbench_events()
    cores = os.cpu_count() or 1
    est = estimate(here["ms"], mobilenet, sysbench, cores)
    result = {
        "machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "models": work,
        "this_machine": here,
        "mobilenet_v2_ms_all_cores": round(mobilenet, 2),
        "sysbench_events_per_s": sysbench,
        "estimate": est,
    }
    for m in work:
        print(f"{m['model']}: {m['macs']:,} MACs per input")
    print(f"MobileNet v2 FP32 on {cores} cores here: {mobilenet:.1f} ms; sysbench: {sysbench}")
    for pi, ratios in est["slowdown_per_core"].items():
        print(f"{pi}: a core {' to '.join(f'{r:.1f}' for r in ratios)} x slower than this one's")
        for k, v in est["ms"][pi].items():
            print(f"  {k}: {here['ms'][k]:.2f} ms here -> {' to '.join(f'{x:.1f}' for x in v)} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
