"""A live inventory source: pairs taken from NetBox at run time, not from the file (issue 19).

An inventory with a `source:` section is a *source file*: the settings of a base file (defaults,
groups, `netbox.match`, collectors, state, drills, traps) plus where the pairs come from:

    source:
      netbox: {url: https://netbox.example/, token: {env: NETBOX_TOKEN}, site: dc1,
               interval: 300, timeout: 10}

Every refresh reads NetBox (netmon.inventory.netbox.fetch), builds the same inventory YAML that
`netmon inventory from-netbox` prints, and loads it through the ordinary loader, so a live
inventory is checked exactly as a written one. What passed is kept on disk as the *last good*
inventory (beside the drill journal), so a restart while NetBox is down still watches every pair.

A refresh that fails keeps the last good inventory and says why: NetBox unreachable or refusing
the token, an answer that is not NetBox's, an inventory that does not load, and an answer with no
pair at all where pairs were watched (a NetBox emptied by mistake, or a filter that no longer
matches, must not silently stop the watching: a restart accepts an empty list on purpose).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError

from netmon.drills.journal import journal_path
from netmon.errors import ConfigError, ConfigProblem, SecretError
from netmon.inventory.loader import load_inventory_file, settings_problems
from netmon.inventory.netbox import (
    Base,
    Filters,
    NetboxData,
    NetboxError,
    Refused,
    build,
    fetch,
    load_base,
    safe_url,
)
from netmon.inventory.schema import SecretRef, Strict
from netmon.inventory.secrets import resolve
from netmon.inventory.source import load_document
from netmon.model import Inventory, Secret

log = logging.getLogger(__name__)

SOURCE_KEY = "source"
LAST_GOOD_NAME = "inventory-from-netbox.yaml"


class NetboxSourceConfig(Strict):
    url: str
    token: SecretRef
    site: str | None = None
    tag: str | None = None
    role: str | None = None
    # Seconds between refreshes. NetBox is the slow-moving truth: minutes are plenty, and a
    # refresh costs NetBox a handful of API calls.
    interval: float = Field(300.0, ge=5, le=86_400, strict=False)
    timeout: float = Field(10.0, ge=0.5, le=300, strict=False)  # seconds per NetBox answer


class SourceConfig(Strict):
    netbox: NetboxSourceConfig


@dataclass(frozen=True)
class NetboxSource:
    """A source file, read: where NetBox is, what to select, and the base settings."""

    file: str
    url: str
    token: Secret
    filters: Filters
    interval: float
    timeout: float
    base: Base
    last_good: Path  # the last inventory that loaded, kept for restarts while NetBox is down

    def describe(self) -> str:
        return f"NetBox {safe_url(self.url)} ({self.filters.describe()})"


class SourceError(Exception):
    """A refresh failed; the message names the source and why, never a credential."""


def is_source_file(path: Path) -> bool:
    """Whether `path` is a source file (has `source:`); a file that does not parse is not, and
    the ordinary loader reports its problems."""
    try:
        data = load_document(path).data
    except ConfigError:
        return False
    return isinstance(data, dict) and SOURCE_KEY in data


def read_source(path: Path) -> NetboxSource:
    """Read a source file; every problem is a ConfigError with file:line, as the loader's."""
    doc = load_document(path)
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[ConfigProblem] = []
    for key in ("devices", "pairs"):
        if key in data:
            problems.append(
                doc.problem((key,), f"'{key}' come from the source: a source file gives settings")
            )
    config: SourceConfig | None = None
    try:
        config = SourceConfig.model_validate(data.get(SOURCE_KEY))
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key {err['loc'][-1]!r}"
            elif err["type"] == "model_type" and not err["loc"]:
                message = "must be a mapping with 'netbox'"
            problems.append(doc.problem((SOURCE_KEY, *err["loc"]), message))
    token: Secret | None = None
    folder = path.resolve().parent
    if config is not None:
        ref = config.netbox.token
        try:
            token = resolve(ref.env, ref.file, folder)
        except SecretError as exc:
            problems.append(doc.problem((SOURCE_KEY, "netbox", "token"), f"secret: {exc}"))
        try:
            # The same check `fetch` makes, at load time: a typo is a config error, not an
            # outage found at the first refresh.
            _check_url(config.netbox.url)
        except NetboxError as exc:
            problems.append(doc.problem((SOURCE_KEY, "netbox", "url"), str(exc)))
    base: Base | None = None
    try:
        base = load_base(path)
    except ConfigError as exc:
        problems += [p for p in exc.problems if p.path.split(".")[0] not in ("devices", "pairs")]
    else:
        # The settings as the loader reads them, with this file's lines: a mistake in
        # `defaults` is found here, not as a refresh whose every pair fails to load.
        problems += [
            p for p in settings_problems(doc, folder, (SOURCE_KEY, "netbox")) if p not in problems
        ]
    if problems or config is None or token is None or base is None:
        raise ConfigError(problems)
    drills = base.sections.get("drills")
    journal = drills.get("journal") if isinstance(drills, dict) else None
    last_good = journal_path(journal if isinstance(journal, str) else "").parent / LAST_GOOD_NAME
    nb = config.netbox
    return NetboxSource(
        file=str(path),
        url=nb.url,
        token=token,
        filters=Filters(nb.site, nb.tag, nb.role),
        interval=nb.interval,
        timeout=nb.timeout,
        base=base,
        last_good=last_good,
    )


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NetboxError(f"the url must be http:// or https://HOST/..., got {safe_url(url)!r}")


@dataclass(frozen=True)
class SourceStatus:
    """What the daemon exports about its source (`netmon_inventory_source_*`)."""

    up: bool = False  # the last refresh succeeded
    last_success: float | None = None  # Unix time of the last refresh that succeeded
    last_error: str | None = None
    pairs: int = 0
    refused: tuple[Refused, ...] = ()
    using: str = "none"  # "netbox", "last good" or "none": where the running pairs came from


class LiveSource:
    """Refreshes from NetBox; keeps the last good inventory in memory and on disk.

    `refresh()` blocks (HTTP through pynetbox): the daemon calls it in a worker thread. One
    refresh at a time (a SIGHUP during a scheduled refresh waits for it)."""

    def __init__(self, source: NetboxSource, *, fetcher: Any = None) -> None:
        self.source = source
        self.status = SourceStatus()
        self.current: Inventory | None = None
        self._fetch = fetcher or fetch
        self._lock = threading.Lock()

    def start(self) -> Inventory:
        """The inventory to start with: NetBox now, else the last good one on disk, else the
        base settings with no pair (the daemon keeps trying, and says so in its metrics)."""
        try:
            return self.refresh()
        except SourceError as exc:
            log.error("inventory source: %s", exc)  # noqa: TRY400 - no traceback: an outage
        kept = self.last_good()
        if kept is not None:
            return kept
        log.error(
            "inventory source: no last good inventory at %s: watching no pair until %s answers",
            self.source.last_good, self.source.describe(),
        )  # fmt: skip
        empty = self._load(build(NetboxData(), self.source.base, **self._header()).text)
        self.current = empty
        return empty

    def refresh(self) -> Inventory:
        """Read NetBox and return the new inventory; raises SourceError and keeps the last
        good one when anything is wrong."""
        with self._lock:
            try:
                inventory, pairs, refused = self._read()
            except SourceError as exc:
                self.status = replace(self.status, up=False, last_error=str(exc))
                raise
            self.status = SourceStatus(
                up=True,
                last_success=time.time(),
                pairs=pairs,
                refused=refused,
                using="netbox",
            )
            self.current = inventory
            return inventory

    def _header(self, source: NetboxSource | None = None) -> dict[str, Any]:
        source = source or self.source
        return {"url": safe_url(source.url), "filters": source.filters, "when": datetime.now(UTC)}

    def _read(self) -> tuple[Inventory, int, tuple[Refused, ...]]:
        # One reading of the settings for the whole refresh: a SIGHUP may replace them meanwhile.
        source = self.source
        where = source.describe()
        try:
            data = self._fetch(
                source.url, source.token, source.filters, timeout=source.timeout
            )  # fmt: skip
        except NetboxError as exc:
            raise SourceError(str(exc)) from None
        built = build(data, source.base, **self._header(source))
        if built.refused != self.status.refused:  # said when it changes, not every refresh
            for refused in built.refused:
                log.warning("inventory source: not watched: %s: %s", refused.group, refused.reason)
        watched = len(self.current.pairs) if self.current is not None else 0
        if built.pairs == 0 and watched:
            raise SourceError(
                f"{where} gave no pair to watch where {watched} were watched: keeping them "
                "(a restart accepts an empty inventory)"
            )
        try:
            inventory = self._load(built.text, keep=True, source=source)
        except ConfigError as exc:
            first = "; ".join(p.message for p in exc.problems[:3])
            raise SourceError(
                f"{where}: the inventory built from its answer does not load "
                f"({len(exc.problems)} problem(s): {first})"
            ) from None
        return inventory, built.pairs, built.refused

    def _load(
        self, text: str, *, keep: bool = False, source: NetboxSource | None = None
    ) -> Inventory:
        """Load built YAML through the ordinary loader (via a file, so problems have lines);
        with `keep`, the file becomes the last good inventory once it has loaded."""
        source = source or self.source
        target = source.last_good
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".netbox-", suffix=".yaml", dir=folder)
        except OSError as exc:
            if keep:
                log.warning(
                    "inventory source: cannot keep the last good inventory in %s (%s): a restart "
                    "while NetBox is down will watch no pair", folder, exc.strerror or exc,
                )  # fmt: skip
            folder = Path(tempfile.gettempdir())  # no state folder: load it, keep nothing
            fd, name = tempfile.mkstemp(prefix=".netmon-netbox-", suffix=".yaml", dir=folder)
            keep = False
        written = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            inventory = load_inventory_file(written)
            if keep:
                written.replace(target)  # atomic: a reader sees the old or the new file
        finally:
            with contextlib.suppress(OSError):
                written.unlink()
        return replace(inventory, source=source.file)

    def last_good(self) -> Inventory | None:
        """The last good inventory on disk, or None (none yet, or it no longer loads)."""
        path = self.source.last_good
        if not path.exists():
            return None
        try:
            inventory = replace(load_inventory_file(path), source=self.source.file)
        except ConfigError as exc:
            log.error(  # noqa: TRY400
                "inventory source: the last good inventory %s no longer loads:\n%s", path, exc
            )
            return None
        age = time.time() - path.stat().st_mtime
        log.warning(
            "inventory source: watching the last good inventory from %s (%d pairs, %.0f s old)",
            path, len(inventory.pairs), age,
        )  # fmt: skip
        self.current = inventory
        self.status = replace(self.status, using="last good", pairs=len(inventory.pairs))
        return inventory


def load_from_source(path: Path) -> Inventory:
    """For the one-shot commands (check, drill, history): NetBox now, else the last good
    inventory (with a warning); neither is a ConfigError naming both."""
    live = LiveSource(read_source(path))
    try:
        return live.refresh()
    except SourceError as exc:
        kept = live.last_good()
        if kept is not None:
            log.warning("inventory source: %s; using the last good inventory", exc)
            return kept
        raise ConfigError(
            [
                ConfigProblem(
                    str(path), None, SOURCE_KEY,
                    f"{exc}; and no last good inventory at {live.source.last_good}",
                )
            ]
        ) from None  # fmt: skip
