"""The project speaks of itself only: versions, dates, commits and figures.

No file in the repository records how its work was organised (the word for a working
period followed by its number, in text or in a file name): a reader who carries the work
on needs the commit that holds a model or a figure, not the name of a working period.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A line break may fall between the word and its number.
WORDS = re.compile(r"\bstops?[\s_-]?\d+\b|stop\d+", re.IGNORECASE)


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


def test_no_file_name_or_text_speaks_of_working_periods() -> None:
    found = [f"{name} (its name)" for name in _tracked() if WORDS.search(name)]
    for name in _tracked():
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:  # a picture, a model
            continue
        text = data.decode("utf-8", "replace")
        for hit in WORDS.finditer(text):
            number = text.count("\n", 0, hit.start()) + 1
            found.append(f"{name}:{number}: {hit.group(0)!r}")
    assert not found, "\n".join(found)


def test_the_pattern_finds_what_it_is_for() -> None:
    word = "st" + "op"  # spelled apart, so that this file does not hold what it looks for
    for text in (f"the model shipped in {word} 27", f"the {word}-23 fine-tune",
                 f"ab-{word}25-1.json", f"{word.title()} 30's runs", f"until {word}s 24",
                 f"the reader of \"{word}\n22\" read"):
        assert WORDS.search(text), text
    for text in ("TimeoutStopSec=30s", "stop the service", "a clean stop", "stop.wait(1.0)",
                 "commit `bfc552d`", "RestartPreventExitStatus=78"):
        assert not WORDS.search(text), text
