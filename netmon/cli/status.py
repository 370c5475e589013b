"""`netmon status`: what the running daemon sees, read from its /api/v1/status."""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer

from netmon.cli.check import pairs_table
from netmon.cli.common import DEFAULT_LISTEN, EXIT_CONFIG, JsonOpt, ListenOpt, err, exit_for, out
from netmon.errors import DaemonUnavailable


class CredentialsNeedTls(DaemonUnavailable):
    """A password is configured but the daemon would be reached over plain http: not sent."""


def fetch_status(listen: str, timeout: float = 3.0) -> dict[str, Any]:
    """The running daemon's /api/v1/status. A daemon behind a web config is reached with
    NETMON_WEB_CA (its CA file: https) and NETMON_WEB_USER / NETMON_WEB_PASSWORD (basic auth);
    the password comes from the environment, never argv, which other users can read. It is
    sent over https only: over plain http anyone who binds --listen while the daemon is down
    would read it, so without NETMON_WEB_CA this raises CredentialsNeedTls and sends nothing."""
    ca = os.environ.get("NETMON_WEB_CA")
    url = f"{'https' if ca else 'http'}://{listen}/api/v1/status"
    request = urllib.request.Request(url)  # noqa: S310 - the scheme is http(s), set above
    user, password = os.environ.get("NETMON_WEB_USER"), os.environ.get("NETMON_WEB_PASSWORD")
    if user and password is not None:
        if not ca:
            raise CredentialsNeedTls(
                f"refusing to send NETMON_WEB_PASSWORD over plain http to {url}: set "
                "NETMON_WEB_CA to the daemon's CA file (https), or unset NETMON_WEB_USER and "
                "NETMON_WEB_PASSWORD for a daemon without a password"
            )
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        context = ssl.create_default_context(cafile=ca) if ca else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            data: dict[str, Any] = json.loads(response.read())
            return data
    except urllib.error.HTTPError as exc:
        why = (
            " (it asks for a password: set NETMON_WEB_USER and NETMON_WEB_PASSWORD)"
            if exc.code == 401
            else ""
        )
        raise DaemonUnavailable(
            f"the netmon daemon at {url} refused: HTTP {exc.code}{why}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DaemonUnavailable(f"no netmon daemon answers at {url}: {exc}") from None


def status(
    listen: ListenOpt = DEFAULT_LISTEN,
    as_json: JsonOpt = False,
    daemon: Annotated[
        list[str] | None,
        typer.Option(
            "--daemon",
            help="HOST:PORT of a replica or shard to read (repeat it): one view of several "
            "daemons, with the pairs they disagree on named. Instead of --listen.",
        ),
    ] = None,
) -> None:
    """What the running daemon sees now (exit 1 if any pair is not healthy)."""
    if daemon:
        raise typer.Exit(_several(daemon, as_json))
    try:
        data = fetch_status(listen)
    except DaemonUnavailable as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(pairs_table(data["pairs"]))
        if data.get("pending"):
            out.print(f"not polled yet: {', '.join(data['pending'])}")
    raise typer.Exit(exit_for(data["pairs"]))


def _several(daemons: list[str], as_json: bool) -> int:
    """Several daemons (replicas, shards) read as one: every pair once, from the first daemon
    that polled it, and each pair whose verdict differs between daemons named with who says
    what. A daemon that does not answer is named; if none answers, exit 2."""
    seen: dict[str, dict[str, Any]] = {}
    views: dict[str, dict[str, str]] = {}
    answered: dict[str, bool] = {}
    for where in daemons:
        try:
            data = fetch_status(where)
        except DaemonUnavailable as exc:
            err.print(str(exc), markup=False)
            answered[where] = False
            continue
        answered[where] = True
        for pair in data.get("pairs", []):
            seen.setdefault(pair["pair"], pair)
            views.setdefault(pair["pair"], {})[where] = str(pair.get("state"))
    if not any(answered.values()):
        return EXIT_CONFIG
    pairs = [seen[name] for name in sorted(seen)]
    disagree = {name: v for name, v in sorted(views.items()) if len(set(v.values())) > 1}
    if as_json:
        out.print_json(json.dumps({
            "daemons": [{"listen": d, "answered": ok} for d, ok in answered.items()],
            "pairs": [{**p, "seen_by": views[p["pair"]]} for p in pairs],
            "disagree": disagree,
        }))  # fmt: skip
    else:
        out.print(pairs_table(pairs))
        for name, by in disagree.items():
            said = "; ".join(f"{state} at {where}" for where, state in by.items())
            out.print(f"{name}: the daemons disagree: {said}", markup=False, highlight=False)
    worst = exit_for(pairs)
    # A pair one daemon sees as unhealthy is not healthy, whichever daemon was read first.
    if disagree:
        worst = max(worst, 1)
    return worst
