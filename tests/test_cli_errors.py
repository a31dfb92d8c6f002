"""A user's mistakes on the command line: one line on stderr, the right exit status, and
where the intent is clear (a folder given for the pictures) simply the right thing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from digitd.edge.config import load_config
from digitd.edge.errors import EXIT_CONFIG, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "demo" / "digits.avi"


def digitd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitd.edge.cli", "-q", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], status: int) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    cap = cv2.VideoCapture(str(VIDEO))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(tmp_path / "one.jpg"), frame)
    return tmp_path / "one.jpg"


@pytest.mark.parametrize("out", ["out/", "out"])
def test_annotate_with_a_folder_name_and_one_picture_writes_into_it(photo: Path,
                                                                    out: str) -> None:
    done = digitd("recognize", "--annotate", out, photo.name, cwd=photo.parent)
    assert done.returncode == 0, done.stderr
    assert (photo.parent / "out" / "one.annotated.png").is_file()


def test_annotate_with_a_suffix_no_picture_format_has(photo: Path) -> None:
    done = digitd("recognize", "--annotate", "one.txt", photo.name, cwd=photo.parent)
    line = one_line_error(done, EXIT_USAGE)
    assert "one.txt" in line and ".png" in line


def test_several_pictures_and_a_file_name_for_the_annotations(photo: Path) -> None:
    shutil.copy(photo, photo.with_name("two.jpg"))
    done = digitd("recognize", "--annotate", "x.png", "one.jpg", "two.jpg", cwd=photo.parent)
    assert "folder" in one_line_error(done, EXIT_USAGE)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(f'[device]\nid = "x"\n[camera]\nsource = "{VIDEO}"\n')
    return config


def test_snapshot_into_a_folder(tmp_path: Path) -> None:
    (tmp_path / "shots").mkdir()
    done = digitd("snapshot", "--config", str(_config(tmp_path)), "--out", "shots/",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "shots" / "snapshot.png").is_file()
    assert "0417" in done.stdout


def test_snapshot_to_a_name_no_picture_format_has(tmp_path: Path) -> None:
    done = digitd("snapshot", "--config", str(_config(tmp_path)), "--out", "aim.gif",
                  cwd=tmp_path)
    assert "aim.gif" in one_line_error(done, EXIT_USAGE)


def test_snapshot_with_a_broken_config_says_so_on_stderr(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[camera]\nsorce = 'x'\n")
    done = digitd("snapshot", "--config", str(config), "--out", "a.png", cwd=tmp_path)
    assert done.returncode == EXIT_CONFIG and not done.stdout
    assert "sorce" in done.stderr


def test_relative_paths_in_the_config_are_relative_to_its_folder(tmp_path: Path) -> None:
    """Under systemd the current folder is /: a model next to the config must still load."""
    conf_dir = tmp_path / "etc"
    (conf_dir / "models").mkdir(parents=True)
    for name in ("digits.tflite", "digits.card.json"):
        shutil.copy(ROOT / "models" / name, conf_dir / "models")
    config = conf_dir / "digitd.toml"
    config.write_text(f'[device]\nid = "x"\n[camera]\nsource = "{VIDEO}"\n'
                      '[model]\npath = "models/digits.tflite"\n'
                      '[daemon]\nstate_dir = "state"\n')
    cfg = load_config(config)
    assert cfg.model.path == str(conf_dir / "models" / "digits.tflite")
    assert cfg.daemon.state_dir == str(conf_dir / "state")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = digitd("check-config", str(config), cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    done = digitd("snapshot", "--config", str(config), "--out", "a.png", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
