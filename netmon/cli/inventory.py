"""`netmon inventory ...`: inventory tools.

`validate`: 0 ok, 2 problems. `from-netbox`: 0 every FHRP group became a pair; 1 an inventory was
written but some groups were refused (each named, with why, at its end and on stderr) or there
was none to pair; 2 nothing written (usage, base file, token, NetBox unreachable or refusing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_UNHEALTHY, config_failure, err, out
from netmon.errors import ConfigError

inventory_app = typer.Typer(help="Inventory tools.", no_args_is_help=True)


@inventory_app.command("validate")
def inventory_validate(path: Path) -> None:
    """Check an inventory; print every problem as file:line: path: what is wrong (exit 2)."""
    from netmon.inventory import load_inventory

    try:
        inv = load_inventory(path)
    except ConfigError as exc:
        raise config_failure(exc) from None
    out.print(f"{path}: ok: {len(inv.devices)} devices, {len(inv.pairs)} pairs", markup=False)


@inventory_app.command("from-netbox")
def inventory_from_netbox(
    url: Annotated[str, typer.Option("--url", help="NetBox's URL (https://netbox.example/).")],
    token_env: Annotated[
        str | None,
        typer.Option(help="The environment variable holding the NetBox API token."),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="The file holding the NetBox API token.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only devices of this site (slug).")] = None,
    tag: Annotated[str | None, typer.Option(help="Only devices with this tag (slug).")] = None,
    role: Annotated[str | None, typer.Option(help="Only devices of this role (slug).")] = None,
    base: Annotated[
        Path | None,
        typer.Option(help="Base inventory: defaults, groups and the netbox.match rules."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.5, max=300, help="Seconds to wait for each NetBox answer.")
    ] = 10.0,
) -> None:
    """Print an inventory from NetBox's FHRP groups: one pair per group on two devices.

    Exit: 0 all paired; 1 written, but groups refused (listed) or none found; 2 nothing written.
    """
    from netmon.errors import SecretError
    from netmon.inventory.netbox import Filters, NetboxError, build, fetch, load_base, safe_url
    from netmon.inventory.secrets import resolve

    def fail(message: str) -> typer.Exit:
        err.print(f"netmon inventory from-netbox: {message}", markup=False, highlight=False)
        return typer.Exit(EXIT_CONFIG)

    if (token_env is None) == (token_file is None):
        raise fail(
            "give --token-env NAME or --token-file PATH (one of them; never the token itself: "
            "a command line is visible to other local users)"
        )
    try:
        token = resolve(token_env, str(token_file) if token_file else None, Path.cwd())
    except SecretError as exc:
        raise fail(f"token: {exc}") from None
    try:
        base_inv = load_base(base) if base is not None else None
    except ConfigError as exc:
        raise config_failure(exc) from None
    filters = Filters(site, tag, role)
    try:
        data = fetch(url, token, filters, timeout=timeout)
    except NetboxError as exc:
        raise fail(str(exc)) from None
    built = build(data, base_inv, url=safe_url(url), filters=filters, when=datetime.now(UTC))
    for refused in built.refused:
        err.print(
            f"netmon inventory from-netbox: not watched: {refused.group}: {refused.reason}",
            markup=False, highlight=False,
        )  # fmt: skip
    if built.pairs == 0:
        err.print(
            f"netmon inventory from-netbox: no FHRP group to pair ({filters.describe()})",
            markup=False, highlight=False,
        )  # fmt: skip
    if output is not None:
        try:
            output.write_text(built.text, encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror}") from None
    else:
        typer.echo(built.text, nl=False)  # as is: no markup or wrapping
    raise typer.Exit(EXIT_UNHEALTHY if built.refused or built.pairs == 0 else EXIT_OK)
