"""`python -m netmon.sim`: run the demo network's agents until SIGTERM/SIGINT.

The community comes from the environment variable named by --community-env or the kept file
(never argv, which any local user can read in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from netmon.sim.agent import serve
from netmon.sim.network import demo_network


def _stop_with_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """With --exit-with-parent, stdin is a pipe from the parent: its end (the parent exited,
    even by kill -9) stops the agents, so no orphan keeps the demo's ports."""

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin's buffered reader: this thread is still
        # blocked in the read when a SIGTERM ends the agents, and the interpreter, finalizing,
        # aborted (SIGABRT, "could not acquire lock for <stdin>") in about one stop in four.
        fd = sys.stdin.fileno()
        while os.read(fd, 4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


async def _main(community: str, base_port: int, exit_with_parent: bool = False) -> None:
    network, events = demo_network(base_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if exit_with_parent:
        _stop_with_parent(loop, stop)
    ready = asyncio.Event()
    task = asyncio.create_task(serve(network, community, events, ready=ready, stop=stop))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if ready.is_set():
        print("ready", flush=True)
    await task


COMMUNITY_FILE = Path("~/.local/state/netmon/demo-community")


def demo_community(chosen: str | None) -> str:
    """The demo network's community: the one chosen in the environment, else the one kept from
    an earlier start, else a new random one; kept (mode 600) where inventory/demo.yaml reads it."""
    path = COMMUNITY_FILE.expanduser()
    kept = path.read_text().strip() if path.exists() else ""
    community = chosen or kept or secrets.token_urlsafe(12)
    if community != kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(community + "\n")
    return community


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m netmon.sim")
    parser.add_argument("--community-env", default="NETMON_DEMO_COMMUNITY")
    parser.add_argument("--base-port", type=int, default=16101)
    parser.add_argument("--exit-with-parent", action="store_true", help="stop at EOF on stdin")
    args = parser.parse_args()
    community = demo_community(os.environ.get(args.community_env))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sim %(levelname)s: %(message)s")
    try:
        asyncio.run(_main(community, args.base_port, args.exit_with_parent))
    except OSError as exc:
        print(f"netmon.sim: cannot bind the simulated agents: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
