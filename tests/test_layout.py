"""The house: folders that show the pipeline, and imports that only go one way.

The device (edge/) and the installer, and the workstation (train/, convert/) beside them:
training uses of the device only its base and vision, each model kind's folder only
train/common/ besides itself, and no training module reaches an evaluation one.

Read from the source with ``ast`` (nothing is imported): every ``digitd`` import, at the top
or inside a function, relative or absolute, is an edge from one module to another.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"digitd.edge": ROOT / "edge", "digitd.install": ROOT / "install",
            "digitd.train": ROOT / "train", "digitd.convert": ROOT / "convert"}
BASE = {"digitd.edge", "digitd.edge.config", "digitd.edge.errors", "digitd.edge.reading",
        "digitd.edge.statefiles"}
# What each part of the device may use besides the base and itself (one way: the CLI on
# top, then the service, the page and the tools, then camera, vision and MQTT).
MAY_USE = {
    "camera": set(),
    "vision": set(),
    "mqtt": set(),
    "web": {"camera", "vision", "mqtt"},
    "tools": {"camera", "vision", "mqtt"},
    "service": {"camera", "vision", "mqtt", "web"},
}
# The workstation (train/, convert/) uses of the device only the base and vision: what a
# model sees and how its scores are read, never the service, the tools or the page.
WORKSTATION_MAY_USE = {"vision"}
# train/ is the pipeline of each model kind over what they share: common/ under the kinds,
# the kinds apart from each other, the commands' faces on top.
KINDS = {"digits", "wheels", "dials"}
TRAIN_FACES = {"commands", "evaluate", "recipe"}


def modules() -> dict[str, Path]:
    found = {}
    for name, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [*name.split("."), *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The digitd modules ``module`` imports (resolving relative imports)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            for candidate in (*names, target):
                if candidate in known:
                    out.add(candidate)
                    break
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
    out.discard(module)
    return out


GRAPH = {m: imports(m, p, set(modules())) for m, p in modules().items()}


def workstation(module: str) -> bool:
    return module.split(".")[:2] in (["digitd", "train"], ["digitd", "convert"])


def train_part(module: str) -> str:
    """common, digits, wheels, a face (commands, evaluate) or '' for digitd.train itself."""
    parts = module.split(".")
    return parts[2] if parts[:2] == ["digitd", "train"] and len(parts) > 2 else ""


def is_evaluation(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return workstation(module) and (last in ("evaluate", "sequences") or last.endswith("_eval"))


def part(module: str) -> str:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["digitd", "edge"] and len(parts) > 3 else ""


def test_no_import_cycles() -> None:
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for n in sorted(GRAPH[m]):
            if seen.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, m, n]))
            if n not in seen:
                visit(n, [*path, m])
        seen[m] = 2

    for m in sorted(GRAPH):
        if m not in seen:
            visit(m, [])


def test_imports_go_one_way() -> None:
    wrong = []
    for m, targets in GRAPH.items():
        for t in targets:
            if t == "digitd.edge.cli":
                wrong.append(f"{m} imports the CLI")
            elif m in BASE and t not in BASE:
                wrong.append(f"{m} (base data types) imports {t}")
            elif part(m) in MAY_USE and t not in BASE and part(t) != part(m) \
                    and part(t) not in MAY_USE[part(m)]:
                wrong.append(f"{m} ({part(m)}) imports {t} ({part(t) or 'top'})")
            elif m.startswith("digitd.install") and not t.startswith("digitd.install"):
                wrong.append(f"{m} (the installer, standard library only) imports {t}")
            elif workstation(m) and t.startswith("digitd.edge") and t not in BASE \
                    and part(t) not in WORKSTATION_MAY_USE:
                wrong.append(f"{m} (workstation) imports {t} ({part(t) or 'top'})")
            elif t.startswith("digitd.train") and train_part(t) in TRAIN_FACES \
                    and not m.startswith("digitd.train"):
                wrong.append(f"{m} imports {t}, the face of a command")
            elif m.startswith("digitd.train") and t.startswith("digitd.convert"):
                wrong.append(f"{m} (training) imports {t} (conversion comes after it)")
            elif train_part(m) == "common" and train_part(t) in KINDS | TRAIN_FACES:
                wrong.append(f"{m} (shared by every kind) imports {t} ({train_part(t)})")
            elif train_part(m) in KINDS and train_part(t) in KINDS - {train_part(m)} | TRAIN_FACES:
                wrong.append(f"{m} ({train_part(m)}) imports {t} ({train_part(t)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_training_does_not_import_evaluation() -> None:
    """A training run measures itself with neutral metrics (wheels/figures), never through
    the evaluation harnesses: neither it nor anything it imports is one."""
    wrong = []
    for m in GRAPH:
        if not (workstation(m) and m.rsplit(".", 1)[-1] == "train"):
            continue
        seen: set[str] = set()
        todo = [m]
        while todo:
            n = todo.pop()
            for t in GRAPH[n] - seen:
                seen.add(t)
                todo.append(t)
                if is_evaluation(t):
                    wrong.append(f"{m} imports {t} (through {n})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_folders_are_the_pipeline() -> None:
    parts = {p.name for p in (ROOT / "edge").iterdir() if (p / "__init__.py").is_file()}
    assert parts == set(MAY_USE)
    loose = {p.stem for p in (ROOT / "edge").glob("*.py")}
    assert loose == {"__init__", "cli", "config", "errors", "reading", "statefiles"}
    kinds = {p.name for p in (ROOT / "train").iterdir() if (p / "__init__.py").is_file()}
    assert kinds == {"common"} | KINDS
    assert {p.stem for p in (ROOT / "train").glob("*.py")} == {"__init__"} | TRAIN_FACES


def test_the_readme_layout_names_every_folder() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    for name in (*MAY_USE, "install", "common", *KINDS):
        assert f"{name}/" in layout, name


def test_one_module_names_the_state_directory_s_files() -> None:
    from digitd.edge import statefiles

    names = [statefiles.OUTBOX, statefiles.LAST_VALUE, statefiles.LOCATE_OVERRIDE,
             statefiles.RUNTIME_CHECK]
    spelled = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "edge").rglob("*.py") if path.name != "statefiles.py"
        for name in names if f'"{name}"' in path.read_text()
    ]
    assert not spelled, spelled


def test_imports_inside_the_package_are_relative() -> None:
    """Every name points at a file a reader can open from where it stands (DESIGN:
    "Inside them, imports are relative")."""
    absolute = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            absolute += [f"{module}:{node.lineno} {n}" for n in names
                         if n == "digitd" or n.startswith("digitd.")]
    assert not absolute, absolute
