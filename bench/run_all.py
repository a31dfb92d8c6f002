"""Every benchmark in one run: models, per-frame pipeline, daemon process, meter-window model,
the set-up page.

    .venv/bin/python bench/run_all.py [--out runs/bench]    # bench/results: the committed figures
    .venv/bin/python bench/run_all.py --plot PIPELINE_JSON --out DIR   # the plot alone

Writes ``results.json`` (all figures and the machine) and ``frame_latency.png``
(ms per frame against digits per frame, one line per frame size) into ``--out``
and prints each benchmark's table. Needs the train extra and trained models in
runs/ (see bench/models.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def plot(frames: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for size in sorted({str(r["size"]) for r in frames}, key=lambda s: int(s.split("x")[0])):
        rows = [r for r in frames if r["size"] == size]
        ax.plot([r["digits"] for r in rows], [r["median_ms"] for r in rows], "o-", label=size)
    ax.set_xlabel("digits per frame")
    ax.set_ylabel("median ms per frame (1 thread)")
    ax.set_title("digitd: locate + normalise + classify")
    ax.grid(alpha=0.3)
    ax.legend(title="frame")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # Not bench/results by default: a run should not overwrite the committed figures
    # unless that is what it is for.
    parser.add_argument("--out", default=str(HERE.parent / "runs" / "bench"))
    parser.add_argument("--plot", metavar="PIPELINE_JSON",
                        help="only draw frame_latency.png from a bench/pipeline.py --json file")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.plot:
        plot(json.loads(Path(args.plot).read_text())["frames"], out / "frame_latency.png")
        print(f"plot: {out / 'frame_latency.png'}")
        return
    results = {}
    for name in ("models", "pipeline", "daemon", "window", "web"):
        target = out / f"{name}.json"
        print(f"== bench/{name}.py", flush=True)
        subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--json", str(target)],
                       check=True)
        results[name] = json.loads(target.read_text())
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results["pipeline"]["frames"], out / "frame_latency.png")
    print(f"results: {out / 'results.json'}, plot: {out / 'frame_latency.png'}")


if __name__ == "__main__":
    main()
