"""The daemon as a process: frames per second, its own memory (anonymous, PSS) and peak
RSS, start to READY, no TensorFlow.

    .venv/bin/python bench/daemon.py [--frames 1000] [--seed-model runs/seed/model.keras]

Runs ``digitd run`` on a 1,000-frame 640x480 video of real MNIST digits (6 per
frame) against a local Mosquitto, with ``NOTIFY_SOCKET`` pointing at a real
datagram socket. Then, for comparison, a process that loads the seed tutorial's
Keras model in TensorFlow and reads one digit: its start time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "mnist-sample"


def make_video(path: Path, frames: int) -> None:
    import cv2

    from digitd.train.common.idx import load_mnist_dir
    from digitd.train.common.scenes import SceneStyle, make_scene

    images, labels = load_mnist_dir(SAMPLE, "test")
    rng = np.random.default_rng(0)
    scenes = [make_scene(images, labels, 6, rng, SceneStyle()).image for _ in range(50)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (640, 480))
    for i in range(frames):
        writer.write(scenes[(i // 5) % len(scenes)])
    writer.release()


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def smaps_rollup_kb(pid: int) -> dict[str, int]:
    """The process's own memory: anonymous pages and PSS (shared pages split among their
    users), from /proc/<pid>/smaps_rollup. Peak RSS also counts whatever shared-library
    pages the page cache happens to map, and moves by tens of MB between identical runs."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Anonymous"):
                out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def uses_tensorflow(pid: int) -> bool:
    try:
        return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def bench_daemon(frames: int, state_dir: Path | None = None) -> dict[str, Any]:
    """One run; ``state_dir``: one an earlier run used (the runtime check kept there),
    else a new one, so the start includes loading the model in a child first."""
    mosquitto = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        video = d / "frames.avi"
        make_video(video, frames)
        from digitd.edge.mqtt.broker import free_port, wait_listening

        port = free_port()
        broker = None
        if mosquitto:
            (d / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                                      "user root\n")
            broker = subprocess.Popen([mosquitto, "-c", str(d / "m.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening("127.0.0.1", port, 10)
        host = '"127.0.0.1"' if broker else None
        (d / "cfg.toml").write_text(
            f'[device]\nid = "bench"\n[camera]\nsource = "{video}"\ninterval = 0\n'
            f"[mqtt]\n{'host = ' + host if host else ''}\nport = {port}\n"
            f'[daemon]\nstate_dir = "{state_dir or d / "state"}"\n'
        )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(d / "notify"))
        sock.settimeout(0.05)
        env = {**os.environ, "NOTIFY_SOCKET": str(d / "notify")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "digitd.edge.cli", "-q", "run", "--config",
             str(d / "cfg.toml"), "--exit-at-end"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        ready_at = None
        peak, tf_seen = 0, False
        own = {"Pss": 0, "Anonymous": 0}
        while proc.poll() is None:
            try:
                if "READY=1" in sock.recv(4096).decode() and ready_at is None:
                    ready_at = time.perf_counter()
            except TimeoutError:
                pass
            peak = max(peak, peak_rss_kb(proc.pid))
            for key, kb in smaps_rollup_kb(proc.pid).items():
                if key in own:
                    own[key] = max(own[key], kb)
            tf_seen = tf_seen or uses_tensorflow(proc.pid)
        end = time.perf_counter()
        if broker:
            broker.kill()
        if proc.returncode != 0 or ready_at is None:
            detail = proc.stderr.read() if proc.stderr else ""
            raise SystemExit(f"daemon failed ({proc.returncode}): {detail}")
    return {
        "frames": frames,
        "start_to_ready_s": round(ready_at - t0, 3),
        "fps": round(frames / (end - ready_at), 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "peak_anonymous_mb": round(own["Anonymous"] / 1024, 1),
        "peak_pss_mb": round(own["Pss"] / 1024, 1),
        "tensorflow_loaded": tf_seen,
        "broker": "mosquitto" if mosquitto else "embedded",
    }


SEED_PROBE = """
import os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
t0 = time.perf_counter()
import numpy as np, keras
model = keras.models.load_model(sys.argv[1], compile=False)
model.predict(np.zeros((1, 28, 28, 1), np.float32), verbose=0)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_seed_process(model: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", SEED_PROBE, str(model)], capture_output=True,
                         text=True, check=True)
    wall = time.perf_counter() - t0
    inner, rss_kb = out.stdout.split()
    return {"start_to_first_digit_s": round(wall, 3), "in_process_s": round(float(inner), 3),
            "peak_rss_mb": round(int(rss_kb) / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed-model", default=str(ROOT / "runs" / "seed" / "model.keras"))
    parser.add_argument("--json")
    args = parser.parse_args()
    runs = [bench_daemon(args.frames) for _ in range(args.repeats)]
    # Later starts: the runtime check kept in the state directory, no child process.
    with tempfile.TemporaryDirectory() as kept:
        later = [bench_daemon(args.frames, Path(kept)) for _ in range(args.repeats + 1)][1:]
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "daemon_runs": runs,
        "daemon": {k: round(float(np.median([r[k] for r in runs])), 3)
                   for k in ("start_to_ready_s", "fps", "peak_rss_mb", "peak_anonymous_mb",
                             "peak_pss_mb")},
        "later_start_to_ready_s": round(float(np.median(
            [r["start_to_ready_s"] for r in later])), 3),
    }
    d = result["daemon"]
    print(f"digitd run, {args.frames} frames 640x480, 6 digits each, median of {args.repeats}: "
          f"{d['fps']} frames/s, start to READY {d['start_to_ready_s']} s (first start; later "
          f"starts {result['later_start_to_ready_s']} s), "
          f"own memory at peak: {d['peak_anonymous_mb']} MB anonymous, PSS "
          f"{d['peak_pss_mb']} MB (peak RSS {d['peak_rss_mb']} MB), TensorFlow loaded: "
          f"{any(r['tensorflow_loaded'] for r in runs)}")
    if Path(args.seed_model).exists():
        seed = [bench_seed_process(Path(args.seed_model)) for _ in range(args.repeats)]
        result["seed_tensorflow_process"] = seed
        print(f"seed model in TensorFlow: start to first digit "
              f"{np.median([s['start_to_first_digit_s'] for s in seed]):.2f} s, peak RSS "
              f"{np.median([s['peak_rss_mb'] for s in seed]):.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
