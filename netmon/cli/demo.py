"""`netmon demo`: the embedded default, a simulated network watched by the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from netmon.cli.common import (
    DEFAULT_LISTEN,
    DEMO_COMMUNITY_ENV,
    EXIT_CONFIG,
    ListenOpt,
    err,
    setup_logging,
)
from netmon.cli.run import run_daemon


def demo_inventory() -> Path:
    return Path(__file__).resolve().parent.parent / "sim" / "demo.yaml"


def demo(listen: ListenOpt = DEFAULT_LISTEN, log_level: str = "info") -> None:
    """The embedded default: a simulated network on loopback, watched by the daemon."""
    setup_logging(log_level)
    env = dict(os.environ)
    # The simulator picks the community (kept in ~/.local/state/netmon/demo-community, which
    # inventory/demo.yaml reads), so other netmon commands can reach the demo network too.
    sim = subprocess.Popen(
        [sys.executable, "-m", "netmon.sim", "--community-env", DEMO_COMMUNITY_ENV,
         "--exit-with-parent"],
        env=env,
        stdin=subprocess.PIPE,  # closed when this process ends, however it ends
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        if line.strip() != "ready":
            err.print("the simulated network did not start (see its message above)")
            raise typer.Exit(EXIT_CONFIG)
        inventory = demo_inventory()
        err.print(
            f"netmon demo: simulated network up; watching it with {inventory}\n"
            f"  metrics:  http://{listen}/metrics\n"
            f"  pairs:    http://{listen}/api/v1/pairs\n"
            f"  status:   netmon status --listen {listen}\n"
            f"  a drill:  netmon drill run core-gw -i inventory/demo.yaml --yes --listen {listen}\n"
            "  stop:     Ctrl-C",
            markup=False,
            highlight=False,
        )
        code = run_daemon(inventory, listen)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()
        for pipe in (sim.stdin, sim.stdout):
            if pipe is not None:
                pipe.close()
    raise typer.Exit(code)
