"""What the set-up page costs the daemon: its own memory and its frame rate, page off, on
and idle, and on with a page open polling as the real page does (state + both pictures
once a second).

    .venv/bin/python bench/web.py [--frames 600] [--repeats 3] [--json OUT]

Same daemon and video as bench/daemon.py (640x480, 6 real MNIST digits per frame, a local
Mosquitto), read as fast as it goes; memory from /proc/<pid>/smaps_rollup.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon import make_video, smaps_rollup_kb  # a script beside this one

from digitd.edge.mqtt.broker import EmbeddedBroker, free_port


def _poll_like_a_page(port: int, stop: threading.Event, counts: dict[str, int]) -> None:
    base = f"http://127.0.0.1:{port}"
    while not stop.is_set():
        for path in ("/api/state", "/frame.jpg", "/region.jpg"):
            try:
                with urllib.request.urlopen(base + path, timeout=5) as response:
                    response.read()
                    counts["ok"] += 1
            except OSError:
                counts["failed"] += 1
        stop.wait(1.0)


def run(video: Path, frames: int, broker_port: int, mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        web_port = free_port()
        web = (f'[web]\nenabled = true\nlisten = "127.0.0.1:{web_port}"\n'
               if mode != "off" else "")
        (d / "cfg.toml").write_text(
            f'[device]\nid = "benchweb"\n[camera]\nsource = "{video}"\ninterval = 0\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\n'
            f'[daemon]\nstate_dir = "{d / "state"}"\n' + web
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "digitd.edge.cli", "-q", "run", "--config",
             str(d / "cfg.toml"), "--exit-at-end"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        stop, counts = threading.Event(), {"ok": 0, "failed": 0}
        poller = None
        if mode == "page":
            poller = threading.Thread(target=_poll_like_a_page, args=(web_port, stop, counts))
            poller.start()
        t0 = time.perf_counter()
        own = {"Pss": 0, "Anonymous": 0}
        while proc.poll() is None:
            for key, kb in smaps_rollup_kb(proc.pid).items():
                if key in own:
                    own[key] = max(own[key], kb)
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        stop.set()
        if poller is not None:
            poller.join()
        if proc.returncode != 0:
            raise SystemExit(f"daemon failed: {proc.stderr.read() if proc.stderr else ''}")
    return {"mode": mode, "fps": round(frames / wall, 1),
            "peak_anonymous_mb": round(own["Anonymous"] / 1024, 1),
            "peak_pss_mb": round(own["Pss"] / 1024, 1), "page_requests": counts["ok"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench.avi"
        make_video(video, args.frames)
        port = free_port()
        broker = EmbeddedBroker("127.0.0.1", port, backend="mosquitto")
        broker.start()
        try:
            runs = [run(video, args.frames, port, mode)
                    for _ in range(args.repeats) for mode in ("off", "idle", "page")]
        finally:
            broker.stop()
    result["runs"] = runs
    summary = {}
    for mode in ("off", "idle", "page"):
        mine = [r for r in runs if r["mode"] == mode]
        summary[mode] = {k: round(float(np.median([r[k] for r in mine])), 1)
                         for k in ("fps", "peak_anonymous_mb", "peak_pss_mb")}
    result["median"] = summary
    for mode, s in summary.items():
        print(f"web {mode:4s}: {s['fps']} frames/s, own memory at peak "
              f"{s['peak_anonymous_mb']} MB anonymous, PSS {s['peak_pss_mb']} MB")
    off, idle = summary["off"], summary["idle"]
    print(f"web on and idle costs {idle['peak_anonymous_mb'] - off['peak_anonymous_mb']:+.1f} MB "
          f"anonymous, {idle['peak_pss_mb'] - off['peak_pss_mb']:+.1f} MB PSS")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
