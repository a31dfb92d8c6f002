"""``digitd install-service``: install digitd as a systemd service in one step.

The installation is a list of small steps. Each says in plain words what it does
(:meth:`Step.describe`), can tell without changing anything whether it is already
done (:meth:`Step.is_done`), and does it (:meth:`Step.apply`). One runner prints
every step, so ``--dry-run`` shows exactly the list a real run would work
through, and a second run reports each step as already done instead of doing it
again. ``--root DIR`` prefixes every path, which is how the tests install into a
temporary directory without touching the machine.

The user's files are sacred: ``/etc/digitd/digitd.toml`` and the password file
are created when absent and never overwritten; ``--uninstall`` removes only what
the installer owns (unit files, enable links, the venv) and keeps config and state.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .layout import (
    CONFIG,
    CONFIG_DIR,
    DEFAULT_VENV,
    EXAMPLE_CONFIG,
    HIDDEN_FROM_SERVICE,
    PASSWORD,
    STATE_DIR,
    UNIT_DIR,
    UNITS,
    USER,
    InstallError,
    Target,
    data_dir,
    is_raspberry_pi,
)
from .packaging import package_from
from .removal import RemoveEnableLinks, RemoveFile, RemoveLink, RemoveVenv, StopServices
from .steps import (
    CreatePasswordFile,
    CreateUser,
    CreateVenv,
    DaemonReload,
    InstallConfig,
    InstallUnit,
    LinkCommand,
    MakeDir,
    PipInstall,
    Step,
)

logger = logging.getLogger(__name__)
# --- planning and running ----------------------------------------------------


@dataclass(frozen=True)
class Options:
    root: Path
    venv: PurePosixPath
    make_venv: bool
    system_site_packages: bool
    source: str | None
    reinstall: bool
    uninstall: bool
    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        venv = PurePosixPath(args.venv)
        # Spaces, quotes and % would need escaping in ExecStart=; nobody needs them.
        if not re.fullmatch(r"/[A-Za-z0-9._+/-]+", str(venv)):
            raise InstallError(f"--venv {args.venv!r}: give an absolute path of letters, "
                               "digits and . _ + - / only (it goes into the unit's ExecStart=)")
        if any(venv == d or d in venv.parents for d in HIDDEN_FROM_SERVICE):
            raise InstallError(f"--venv {venv}: the service cannot see /home, /root or "
                               "/run/user (ProtectHome=yes); put the venv elsewhere, "
                               f"such as {DEFAULT_VENV}")
        pi = is_raspberry_pi()
        return cls(
            root=Path(args.root),
            venv=venv,
            make_venv=not args.no_venv,
            system_site_packages=bool(args.system_site_packages) or pi,
            source=args.source,
            reinstall=args.reinstall,
            uninstall=args.uninstall,
            dry_run=args.dry_run,
        )


def unit_text(template: str, venv: PurePosixPath) -> str:
    """A unit file whose ExecStart= runs digitd from ``venv``."""
    return template.replace(f"{DEFAULT_VENV}/bin/digitd", f"{venv}/bin/digitd")


def install_steps(opts: Options, target: Target) -> list[Step]:
    data = data_dir()
    steps: list[Step] = [CreateUser(target)]
    if opts.make_venv:
        steps += [CreateVenv(target, opts.system_site_packages),
                  PipInstall(target, package_from(opts.source), opts.reinstall)]
    steps += [LinkCommand(target),
              MakeDir(target, CONFIG_DIR, 0o755),
              InstallConfig(target, data / EXAMPLE_CONFIG, CONFIG),
              CreatePasswordFile(target)]
    units: list[Step] = [
        InstallUnit(target, unit_text((data / name).read_text(encoding="utf-8"), opts.venv),
                    UNIT_DIR / name)
        for name in UNITS
    ]
    return [*steps, *units, DaemonReload(target, units)]


def uninstall_steps(opts: Options, target: Target) -> list[Step]:
    removals: list[Step] = [RemoveEnableLinks(target),
                            *(RemoveFile(target, UNIT_DIR / name) for name in UNITS)]
    steps: list[Step] = [StopServices(target), *removals, DaemonReload(target, removals)]
    if opts.make_venv:
        steps += [RemoveLink(target), RemoveVenv(target)]
    return steps


@dataclass
class Tally:
    changed: int = 0
    done_before: int = 0
    skipped: int = 0


def run_steps(steps: Sequence[Step], dry_run: bool, say: Callable[[str], None] = print) -> Tally:
    """Work through ``steps`` in order, printing one line per step."""
    tally = Tally()
    for step in steps:
        reason = step.skip_reason()
        if reason is not None:
            tally.skipped += 1
            say(f"  skipped       {step.describe()}: {reason}")
            continue
        if step.is_done():
            tally.done_before += 1
            say(f"  already done  {step.describe()}")
        elif dry_run:
            tally.changed += 1
            say(f"  would         {step.describe()}")
        else:
            say(f"  doing         {step.describe()}")
            step.apply()
            step.changed = True
            tally.changed += 1
        note = step.note()
        if note:
            say(f"                note: {note}")
    return tally


def _next_steps(target: Target) -> list[str]:
    return [
        "Next:",
        f"  1. edit {target.show(CONFIG)} (camera, broker), then check it:",
        f"       digitd check-config {CONFIG}",
        f"  2. if the broker needs a password, write it into {target.show(PASSWORD)}",
        "  3. start it now and at every boot:   sudo systemctl enable --now digitd",
        "  4. watch it:                          journalctl -u digitd -f",
        "  Several cameras: /etc/digitd/NAME.toml and sudo systemctl enable --now digitd@NAME",
    ]


def install(opts: Options, say: Callable[[str], None] = print) -> int:
    target = Target(opts.root, opts.venv)
    if target.live and not opts.dry_run and os.geteuid() != 0:
        raise InstallError(
            "installing a system service needs root: run with sudo, e.g. "
            f"sudo {shlex.quote(sys.argv[0] or 'digitd')} install-service"
            " (try --dry-run first to see every step)"
        )
    action = "uninstall from" if opts.uninstall else "install into"
    where = "this system" if target.live else str(target.root)
    say(f"digitd install-service: {action} {where}"
        + (" (dry run: nothing is changed)" if opts.dry_run else ""))
    steps = uninstall_steps(opts, target) if opts.uninstall else install_steps(opts, target)
    tally = run_steps(steps, opts.dry_run, say)

    verb = "would change" if opts.dry_run else "changed"
    if tally.changed == 0:
        say(f"Nothing to do: everything was already in place ({tally.done_before} steps"
            + (f", {tally.skipped} skipped)." if tally.skipped else ")."))
    else:
        say(f"{tally.changed} {verb}, {tally.done_before} already done, "
            f"{tally.skipped} skipped.")
    if opts.uninstall:
        say(f"Kept the config and password in {target.show(CONFIG_DIR)}, the state in "
            f"{target.show(STATE_DIR)} and the user '{USER}'. To remove them too: "
            f"sudo rm -r {CONFIG_DIR} {STATE_DIR} && sudo userdel {USER}")
        dropins = sorted(target.path(UNIT_DIR).glob("digitd*.service.d"))
        if dropins:
            say("Kept your drop-ins: " + ", ".join(map(str, dropins)))
    else:
        binary = target.path(opts.venv / "bin" / "digitd")
        if not opts.make_venv and not binary.exists():
            say(f"Note: the units run {target.show(opts.venv / 'bin' / 'digitd')}, which does "
                "not exist; install digitd[edge] there, or pass --venv with your venv.")
        if target.live and not opts.dry_run:
            for line in _next_steps(target):
                say(line)
    return 0


def install_command(args: argparse.Namespace) -> int:
    """The ``digitd install-service`` handler."""
    try:
        return install(Options.from_args(args))
    except InstallError as exc:
        print(f"digitd install-service: error: {exc}", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(f"digitd install-service: error: {exc.filename or exc}: permission denied; "
              "run with sudo", file=sys.stderr)
        return 1
