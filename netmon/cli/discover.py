"""`netmon discover ADDRESS [ADDRESS]`: read what devices report, print a starting inventory.

Exit codes: 0 an inventory with at least one pair was printed; 1 nothing to pair (the device
reports none of the tables looked for, groups without their second router, redundancy not
configured) or a device could not be read (no answer, refused credentials); 2 a usage error
(address count or form, secret options missing, conflicting or unreadable).

Secrets are references, as in the inventory: the command line names an environment variable or a
file (other local users can read a process's arguments), and the YAML refers to the same one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from netmon.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_UNHEALTHY, err, setup_logging
from netmon.errors import CollectorError, DeviceTimeout, SecretError
from netmon.model import (
    AuthProtocol,
    Device,
    PrivProtocol,
    Secret,
    SnmpSettings,
    SnmpV2c,
    SnmpV3,
)

ARGV_WARNING = "never the {what} itself: a command line is visible to other local users"


class UsageProblem(Exception):
    """A discover option that cannot work; the message says what to give instead."""


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not port:
            raise UsageProblem(f"cannot read the address {text!r}: expected [IPv6]:PORT")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise UsageProblem(f"cannot read the address {text!r}: no host")
    if not port:
        return host, default_port
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageProblem(f"cannot read the port in {text!r}: expected 1..65535")
    return host, int(port)


def parse_addresses(addresses: list[str], default_port: int) -> list[tuple[str, int]]:
    if len(addresses) > 2:
        raise UsageProblem(f"give one address, or the two routers of a pair; got {len(addresses)}")
    targets = [parse_address(a, default_port) for a in addresses]
    if len(targets) == 2 and targets[0] == targets[1]:
        raise UsageProblem(f"the two addresses name the same device: {addresses[0]}")
    return targets


def _reference(env: str | None, file: Path | None, what: str, option: str) -> dict[str, str]:
    """The inventory's secret reference for a secret given by --X-env or --X-file."""
    if env and file:
        raise UsageProblem(f"give --{option}-env or --{option}-file, not both")
    if env:
        return {"env": env}
    if file is not None:
        written = str(file)
        # `~/...` stays as written (the inventory expands it); a relative path is made absolute,
        # since the inventory will live elsewhere and its relative paths start from its folder.
        return {"file": written if written.startswith("~") else str(file.resolve())}
    raise UsageProblem(
        f"give --{option}-env NAME or --{option}-file PATH ({ARGV_WARNING.format(what=what)})"
    )


def snmp_settings(
    community: tuple[str | None, Path | None],
    user: str | None,
    auth: tuple[AuthProtocol | None, str | None, Path | None],
    priv: tuple[PrivProtocol | None, str | None, Path | None],
    timeout: float,
    retries: int,
) -> tuple[dict[str, Any], SnmpSettings]:
    """(the inventory's defaults.snmp, the settings to read with) from the options."""
    from netmon.inventory.secrets import resolve

    written: dict[str, Any]
    base = Path.cwd()
    if user is None:
        if any(auth) or any(priv):
            raise UsageProblem("--auth-* and --priv-* are SNMPv3 options: give --user too")
        ref = _reference(*community, "community", "community")
        written = {"version": "2c", "community": ref}
        creds: SnmpV2c | SnmpV3 = SnmpV2c(resolve(ref.get("env"), ref.get("file"), base))
    else:
        if any(community):
            raise UsageProblem("--community-* is for SNMPv2c; SNMPv3 uses --user and keys")
        written = {"version": "3", "user": user}
        keys: list[Secret | None] = []
        for (protocol, env, file), name in ((auth, "auth"), (priv, "priv")):
            if protocol is None and not (env or file):
                keys.append(None)
                continue
            if protocol is None:
                raise UsageProblem(f"--{name}-key-* needs --{name}-protocol")
            ref = _reference(env, file, f"{name} key", f"{name}-key")
            written |= {f"{name}_protocol": protocol.value, f"{name}_key": ref}
            keys.append(resolve(ref.get("env"), ref.get("file"), base))
        if keys[1] is not None and keys[0] is None:
            raise UsageProblem("privacy (--priv-*) needs authentication (--auth-*) too")
        creds = SnmpV3(user, auth[0], keys[0], priv[0], keys[1])
    written |= {"timeout": timeout, "retries": retries}
    return written, SnmpSettings(creds, 161, timeout, retries)


def _where(host: str, port: int) -> str:
    """How messages name a device: its address, with the port where it is not 161."""
    if port == 161:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def read_devices(devices: list[Device]) -> list[Any]:
    """Each device's report (netmon.discover.Report), or the CollectorError it raised."""
    from netmon.collectors.snmp import SnmpCollector
    from netmon.collectors.walk import get_values, walk_columns
    from netmon.discover import COLUMNS, if_indexes, name_oids, read_report

    collector = SnmpCollector()

    async def one(device: Device) -> Any:
        assert device.snmp is not None
        walked = await walk_columns(collector, device, COLUMNS)
        try:
            names = await get_values(collector, device, name_oids(if_indexes(walked.values)))
        except CollectorError:  # names only make the YAML readable: go on without them
            names = {}
        # What kept a column from being read in full (refused, replies short of varbinds, the
        # deadline): said next to what was found, never read as "reports nothing".
        problems = walked.problems()
        return read_report(device.address, device.snmp.port, walked.values, names, problems)

    try:
        return await asyncio.gather(*(one(d) for d in devices), return_exceptions=True)
    finally:
        collector.close()  # inside the loop: the SNMP engine's transport needs it


def discover(
    addresses: Annotated[
        list[str],
        typer.Argument(
            metavar="ADDRESS",
            help="One device, or the two routers of a pair. HOST, HOST:PORT or [IPv6]:PORT.",
            show_default=False,
        ),
    ],
    community_env: Annotated[
        str | None, typer.Option(help="SNMPv2c: the environment variable holding the community.")
    ] = None,
    community_file: Annotated[
        Path | None, typer.Option(help="SNMPv2c: the file holding the community.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="SNMPv3 user (SNMPv3 when given).")] = None,
    auth_protocol: Annotated[
        AuthProtocol | None, typer.Option(help="SNMPv3 authentication protocol.")
    ] = None,
    auth_key_env: Annotated[
        str | None, typer.Option(help="SNMPv3: the environment variable holding the auth key.")
    ] = None,
    auth_key_file: Annotated[
        Path | None, typer.Option(help="SNMPv3: the file holding the auth key.")
    ] = None,
    priv_protocol: Annotated[
        PrivProtocol | None, typer.Option(help="SNMPv3 privacy protocol.")
    ] = None,
    priv_key_env: Annotated[
        str | None, typer.Option(help="SNMPv3: the environment variable holding the privacy key.")
    ] = None,
    priv_key_file: Annotated[
        Path | None, typer.Option(help="SNMPv3: the file holding the privacy key.")
    ] = None,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="SNMP port where an address names none.")
    ] = 161,
    timeout: Annotated[
        float, typer.Option(min=0.05, max=60, help="Seconds to wait for each answer.")
    ] = 1.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of each request.")] = 1,
    log_level: str = "error",
) -> None:
    """Read what devices report (VRRP, HSRP, keepalived, RF, REs, firewalls) and print an inventory."""
    from netmon.discover import LOOKED_FOR, build

    setup_logging(log_level)
    try:
        targets = parse_addresses(addresses, port)
        written, settings = snmp_settings(
            (community_env, community_file), user,
            (auth_protocol, auth_key_env, auth_key_file),
            (priv_protocol, priv_key_env, priv_key_file), timeout, retries,
        )  # fmt: skip
    except (UsageProblem, SecretError) as exc:
        err.print(f"netmon discover: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    devices = [
        Device(
            _where(host, p),
            host,
            SnmpSettings(settings.credentials, p, settings.timeout, settings.retries),
        )
        for host, p in targets
    ]
    results = asyncio.run(read_devices(devices))
    failed = False
    for device, result in zip(devices, results, strict=True):
        if isinstance(result, CollectorError):
            # An SNMPv2c agent answers a wrong community with silence, exactly like a dead one.
            hint = (
                " (or the community is wrong: v2c agents do not answer one)"
                if isinstance(result, DeviceTimeout) and user is None
                else ""
            )
            err.print(
                f"netmon discover: cannot read {device.name}: {result.detail}{hint}",
                markup=False, highlight=False,
            )  # fmt: skip
            failed = True
        elif isinstance(result, BaseException):
            raise result
        elif result.empty:
            incomplete = (
                " in what it answered (not all of it: see below)" if result.problems else ""
            )
            err.print(
                f"netmon discover: {device.name} reports nothing to pair: looked for "
                f"{LOOKED_FOR}, and found none of them{incomplete}",
                markup=False, highlight=False,
            )  # fmt: skip
    if failed:
        raise typer.Exit(EXIT_UNHEALTHY)
    command = "netmon discover " + " ".join(addresses)
    found = build(results, written, command)
    for note in found.notes:
        err.print(f"netmon discover: {note}", markup=False, highlight=False)
    if found.pairs == 0:
        if not all(r.empty for r in results):
            err.print("netmon discover: no pair to write (see above)", markup=False)
        raise typer.Exit(EXIT_UNHEALTHY)
    typer.echo(found.text, nl=False)  # as is: no markup, emoji codes or wrapping
    raise typer.Exit(EXIT_OK)
