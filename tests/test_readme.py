"""The README's commands run as written.

Every ``sh`` block is read: each ``digitd`` command must be accepted by digitd's own
command line (subcommand and every flag), each script, module or file it names must
exist; the blocks that are safe to run on any machine (reading pictures, checking the
example config) are run as written, from a folder laid out like a user's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from digitd.edge.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
# Programs the README may name besides digitd; the system ones are the user's to have.
SYSTEM = {"sudo", "sudoedit", "nano", "git", "apt", "journalctl", "systemctl",
          "mosquitto_sub", "python3", "cp", "cd"}


def blocks() -> list[tuple[int, str]]:
    """(line number, text) of every ```sh block."""
    found, lines = [], README.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("```sh", "```bash"):
            start, body = i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append((start + 1, "\n".join(body)))
        i += 1
    return found


def commands(text: str) -> list[list[str]]:
    """The block's commands as argv lists: comments dropped, continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    result = []
    for line in joined.splitlines():
        for part in line.split("&&"):
            argv = shlex.split(part, comments=True)
            if argv:
                result.append(argv)
    return result


ALL = [(line, argv) for line, text in blocks() for argv in commands(text)]


def test_the_readme_has_commands() -> None:
    assert len(ALL) > 40 and any(argv[0] == "digitd" for _, argv in ALL)


@pytest.mark.parametrize(("line", "argv"), ALL, ids=[f"L{n}:{' '.join(a)[:50]}" for n, a in ALL])
def test_each_command_is_one_digitd_or_the_system_knows(line: int, argv: list[str]) -> None:
    if argv[0] in ("sudo", "sudoedit") and len(argv) > 1:
        argv = argv[1:] if argv[0] == "sudo" else argv
    program = argv[0]
    if program.endswith("/digitd") or program == "digitd":
        args = [a for a in argv[1:] if not a.startswith("<")]
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            pytest.fail(f"README line {line}: digitd refuses {shlex.join(argv)} (exit {exc.code})")
    elif program.endswith(("python", "python3")) and len(argv) > 1:
        if argv[1] == "-m":
            assert argv[2] == "venv" or importlib.util.find_spec(argv[2]) is not None, \
                f"README line {line}: no module {argv[2]}"
        else:
            assert (ROOT / argv[1]).is_file(), f"README line {line}: no file {argv[1]}"
    elif program.startswith(("scripts/", ".venv/bin/")):
        name = program.removeprefix(".venv/bin/")
        assert (ROOT / program).is_file() or shutil.which(name, path=str(VENV_BIN)), \
            f"README line {line}: {program} does not exist"
    else:
        assert program in SYSTEM, f"README line {line}: unknown program {program}"


def _user_folder(tmp: Path) -> None:
    """What the recognize examples expect in the current folder: a photo of a number
    (a frame of the bundled video of real digits) and a meter picture."""
    cap = cv2.VideoCapture(str(ROOT / "demo" / "digits.avi"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(tmp / "photo.jpg"), frame)
    meter = cv2.resize(frame, (640, 256))
    cv2.imwrite(str(tmp / "meter.jpg"), meter)


def _run(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_recognize_examples_run_as_written(tmp_path: Path) -> None:
    _user_folder(tmp_path)
    block = next(text for _, text in blocks() if text.startswith("digitd recognize photo.jpg"))
    done = _run(block, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("photo.jpg: ")
    assert lines[0].split()[1] == "0417"  # the video's first number, read from real digits
    assert (tmp_path / "out" / "photo.annotated.png").is_file()
    assert sum(line.startswith("{") for line in lines) == 2  # --json: one object per picture
    assert "Traceback" not in done.stderr


def test_the_config_check_runs_as_written_on_the_example(tmp_path: Path) -> None:
    block = next(text for _, text in blocks() if text.startswith("digitd check-config"))
    line = block.splitlines()[0].replace("/etc/digitd/digitd.toml",
                                         str(ROOT / "systemd" / "digitd.example.toml"))
    done = _run(line, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": OK" in done.stdout


def test_the_water_meter_example_runs_as_written() -> None:
    """The picture it reads is committed (tests/data/make_water_meter.py made it)."""
    import json

    block = next(text for _, text in blocks() if "docs/water-meter.png" in text)
    done = _run(block, ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["value"] == "00520.8983"  # as the README says
    assert [d["direction"] for d in result["dials"]] == ["cw", "ccw", "cw", "ccw"]
