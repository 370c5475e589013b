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
the token, an answer that is not NetBox's, an inventory that does not load, and an answer that
would take away most of the watched pairs (none at all, or more than half of at least
SHRINK_MIN): a NetBox emptied by mistake, a proxy's empty page or a filter that no longer
matches must not quietly end the watching. A refresh asked for by SIGHUP accepts a shrink, and
an empty answer: the operator asked for NetBox as it is now.

What is kept on disk is NetBox's *answer* (devices, interfaces, groups; no FHRP key), named after
the URL and filters it came from, so a restart while NetBox is down rebuilds the pairs with the
source file's current settings, and never takes another source's pairs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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
    DEADLINE,
    Base,
    Filters,
    NetboxData,
    NetboxError,
    Refused,
    build,
    check_url,
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
LAST_GOOD_PREFIX = "netbox-answer-"  # + a digest of the URL and filters + ".json"
SHRINK_MIN = 4  # a refresh may drop up to half of the pairs, or any number below this
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class NetboxSourceConfig(Strict):
    url: str
    token: SecretRef
    site: str | None = None
    tag: str | None = None
    role: str | None = None
    # Seconds between refreshes. NetBox is the slow-moving truth: minutes are plenty, and a
    # refresh costs NetBox a handful of API calls.
    interval: float = Field(300.0, ge=5, le=86_400, strict=False)
    timeout: float = Field(10.0, ge=0.5, le=300, strict=False)  # seconds per wait for a byte
    deadline: float = Field(DEADLINE, ge=5, le=3_600, strict=False)  # seconds for a whole reading
    ca_file: str | None = None  # PEM CA bundle for NetBox's certificate (else the public ones)


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
    deadline: float
    base: Base
    ca_file: str | None
    last_good: Path  # NetBox's last answer that loaded, for restarts while NetBox is down

    def describe(self) -> str:
        return f"NetBox {safe_url(self.url)} ({self.filters.describe()})"


class SourceError(Exception):
    """A refresh failed; the message names the source and why, never a credential."""


def last_good_path(folder: Path, url: str, filters: Filters) -> Path:
    """Where the answer of this NetBox, with these filters, is kept: one file per selection."""
    key = json.dumps([safe_url(url).rstrip("/"), filters.params()], sort_keys=True)
    return folder / f"{LAST_GOOD_PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _synthetic_devices(base: Base) -> dict[str, dict[str, Any]]:
    """One device per way a NetBox device can get its settings: the defaults alone, each group,
    each match rule. Loading them checks those settings now, where they are written."""
    devices: dict[str, dict[str, Any]] = {"\x00defaults": {"address": "127.0.0.1"}}
    groups = base.sections.get("groups")
    for name in groups if isinstance(groups, dict) else {}:
        devices[f"\x00group {name}"] = {"address": "127.0.0.1", "group": name}
    for i, rule in enumerate(base.rules):
        entry: dict[str, Any] = {"address": "127.0.0.1"}
        if rule.group is not None:
            entry["group"] = rule.group
        for section in ("snmp", "ssh"):
            if getattr(rule, section):
                entry[section] = getattr(rule, section)
        devices[f"\x00match {i}"] = entry
    return devices


def _settings_problems(doc: Any, folder: Path, base: Base) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    for problem in settings_problems(doc, folder, (SOURCE_KEY, "netbox"), _synthetic_devices(base)):
        head, _, rest = problem.path.partition(".")
        name, _, tail = rest.partition(".")
        if head == "devices" and name.startswith("\x00match "):
            # A rule's own snmp/ssh: say so at the rule, as `netbox.match[i].snmp...`.
            index = int(name.removeprefix("\x00match "))
            parts = [p for p in tail.split(".") if p]
            where = doc.problem(("netbox", "match", index, *parts), problem.message)
            out.append(where)
        elif head == "devices" and name.startswith("\x00"):
            continue  # reported at the defaults or group it came from, or a duplicate
        else:
            out.append(problem)
    return out


def _ca_file(given: str, folder: Path) -> str:
    path = Path(given).expanduser()
    return str(path if path.is_absolute() else folder / path)


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
            check_url(config.netbox.url)
        except NetboxError as exc:
            problems.append(doc.problem((SOURCE_KEY, "netbox", "url"), str(exc)))
        ca = config.netbox.ca_file
        if ca is not None and not Path(_ca_file(ca, folder)).is_file():
            problems.append(
                doc.problem(
                    (SOURCE_KEY, "netbox", "ca_file"), f"no such file: {_ca_file(ca, folder)}"
                )
            )
    base: Base | None = None
    try:
        base = load_base(path)
    except ConfigError as exc:
        problems += [p for p in exc.problems if p.path.split(".")[0] not in ("devices", "pairs")]
    else:
        # The settings as the loader reads them, with this file's lines: a mistake in
        # `defaults`, a group or a match rule is found here, not at every refresh.
        problems += [p for p in _settings_problems(doc, folder, base) if p not in problems]
    if problems or config is None or token is None or base is None:
        raise ConfigError(problems)
    nb = config.netbox
    filters = Filters(nb.site, nb.tag, nb.role)
    host = urlsplit(nb.url).hostname or ""
    if urlsplit(nb.url).scheme == "http" and host not in LOOPBACK:
        log.warning(
            "inventory source %s: NetBox over plain http: its token crosses the network in clear",
            path,
        )
    drills = base.sections.get("drills")
    journal = drills.get("journal") if isinstance(drills, dict) else None
    state = journal_path(journal if isinstance(journal, str) else "").parent
    return NetboxSource(
        file=str(path),
        url=nb.url,
        token=token,
        filters=filters,
        interval=nb.interval,
        timeout=nb.timeout,
        deadline=nb.deadline,
        base=base,
        ca_file=_ca_file(nb.ca_file, folder) if nb.ca_file else None,
        last_good=last_good_path(state, nb.url, filters),
    )


@dataclass(frozen=True)
class SourceStatus:
    """What the daemon exports about its source (`netmon_inventory_source_*`)."""

    up: bool = False  # the last refresh succeeded
    last_success: float | None = None  # Unix time NetBox last answered with an answer used
    last_error: str | None = None
    pairs: int = 0
    refused: tuple[Refused, ...] = ()
    using: str = "none"  # "netbox", "last good" or "none": where the running pairs came from


class LiveSource:
    """Refreshes from NetBox; keeps the last good answer in memory and on disk.

    `refresh()` blocks (HTTP through pynetbox, bounded by the source's deadline): the daemon
    calls it in a thread of its own. One refresh at a time."""

    def __init__(self, source: NetboxSource, *, fetcher: Any = None) -> None:
        self.source = source
        self.status = SourceStatus()
        self.current: Inventory | None = None
        self._fetch = fetcher or fetch
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None  # a reading left behind at its deadline

    def start(self) -> Inventory:
        """The inventory to start with: NetBox now, else its last good answer on disk, else the
        base settings with no pair (the daemon keeps trying, and says so in its metrics)."""
        try:
            return self.refresh(accept_shrink=True)
        except SourceError as exc:
            log.error("inventory source: %s", exc)  # noqa: TRY400 - no traceback: an outage
        kept = self.last_good()
        if kept is not None:
            return kept
        log.error(
            "inventory source: no last good answer at %s: watching no pair until %s answers",
            self.source.last_good, self.source.describe(),
        )  # fmt: skip
        empty = self._load(build(NetboxData(), self.source.base, **self._header(self.source)).text)
        self.current = empty
        return empty

    def refresh(self, *, accept_shrink: bool = False) -> Inventory:
        """Read NetBox and return the new inventory; raises SourceError and keeps the last
        good one when anything is wrong. `accept_shrink`: an operator asked (SIGHUP, a start)."""
        with self._lock:
            try:
                inventory, data, refused = self._read(accept_shrink)
            except SourceError as exc:
                self.status = replace(self.status, up=False, last_error=str(exc))
                raise
            now = time.time()
            if inventory.pairs:  # an empty answer is never what a restart should fall back on
                self._keep(data, now)
            self.status = SourceStatus(
                up=True,
                last_success=now,
                pairs=len(inventory.pairs),
                refused=refused,
                using="netbox",
            )
            self.current = inventory
            return inventory

    def _header(self, source: NetboxSource, when: float | None = None) -> dict[str, Any]:
        moment = datetime.fromtimestamp(when, UTC) if when is not None else datetime.now(UTC)
        return {"url": safe_url(source.url), "filters": source.filters, "when": moment}

    def _read(self, accept_shrink: bool) -> tuple[Inventory, NetboxData, tuple[Refused, ...]]:
        # One reading of the settings for the whole refresh: a SIGHUP may replace them meanwhile.
        source = self.source
        where = source.describe()
        try:
            data = self._bounded_fetch(source, where)
        except NetboxError as exc:
            raise SourceError(str(exc)) from None
        inventory, refused = self._built(source, data, where)
        watched = len(self.current.pairs) if self.current is not None else 0
        now = len(inventory.pairs)
        if not accept_shrink and watched and not now:
            raise SourceError(
                f"{where} gave no pair to watch where {watched} were watched: keeping them "
                "(SIGHUP or a restart accepts an empty inventory)"
            )
        if not accept_shrink and watched >= SHRINK_MIN and now < watched / 2:
            raise SourceError(
                f"{where} gave {now} pairs where {watched} were watched: keeping them "
                "(more than half would go; SIGHUP accepts NetBox as it is now)"
            )
        return inventory, data, refused

    def _bounded_fetch(self, source: NetboxSource, where: str) -> NetboxData:
        """The reading, in a thread of its own, waited for `deadline` (+ one `timeout`). An
        answer that drips a byte now and then never trips a read timeout: past the deadline the
        reading is left behind (its next request stops it) and never a second one beside it."""
        if self._reader is not None and self._reader.is_alive():
            raise SourceError(
                f"{where}: the reading started before is still without an answer (more than "
                f"{source.deadline:g} s): no second one beside it"
            )
        box: dict[str, Any] = {}

        def read() -> None:
            try:
                box["data"] = self._fetch(
                    source.url, source.token, source.filters,
                    timeout=source.timeout, deadline=source.deadline, ca_file=source.ca_file,
                )  # fmt: skip
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting refresh
                box["error"] = exc

        reader = threading.Thread(target=read, name="netmon-netbox-read", daemon=True)
        reader.start()
        reader.join(source.deadline + source.timeout)
        if reader.is_alive():
            self._reader = reader
            raise SourceError(f"{where}: no whole answer within {source.deadline:g} s")
        if "error" in box:
            raise box["error"]
        data: NetboxData = box["data"]
        return data

    def _built(
        self, source: NetboxSource, data: NetboxData, where: str, when: float | None = None
    ) -> tuple[Inventory, tuple[Refused, ...]]:
        try:
            built = build(data, source.base, **self._header(source, when))
        except Exception as exc:  # noqa: BLE001 - an answer of any shape is data, not a crash
            raise SourceError(
                f"{where} answered something netmon cannot read ({type(exc).__name__})"
            ) from None
        if built.refused != self.status.refused:  # said when it changes, not every refresh
            for refused in built.refused:
                log.warning("inventory source: not watched: %s: %s", refused.group, refused.reason)
        try:
            inventory = self._load(built.text, source=source)
        except ConfigError as exc:
            first = "; ".join(f"{p.path}: {p.message}" for p in exc.problems[:3])
            raise SourceError(
                f"{where}: the inventory built from its answer does not load "
                f"({len(exc.problems)} problem(s): {first})"
            ) from None
        except Exception as exc:  # noqa: BLE001
            raise SourceError(
                f"{where}: the inventory built from its answer does not load ({type(exc).__name__})"
            ) from None
        return inventory, built.refused

    def _load(self, text: str, *, source: NetboxSource | None = None) -> Inventory:
        """Load built YAML through the ordinary loader (via a file, so problems have lines)."""
        source = source or self.source
        fd, name = tempfile.mkstemp(prefix=".netmon-netbox-", suffix=".yaml")
        written = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            inventory = load_inventory_file(written)
        finally:
            with contextlib.suppress(OSError):
                written.unlink()
        return replace(inventory, source=source.file)

    def _keep(self, data: NetboxData, when: float) -> None:
        """NetBox's answer, on disk, atomically; a failure is said, not fatal."""
        target = self.source.last_good
        record = {
            "netmon": "the last NetBox answer an inventory was built from",
            "url": safe_url(self.source.url),
            "filters": self.source.filters.params(),
            "fetched": when,
            "answer": {k: list(getattr(data, k)) for k in NetboxData.__dataclass_fields__},
        }
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".netbox-", suffix=".json", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as stream:
                    json.dump(record, stream)
                Path(name).replace(target)  # atomic: a reader sees the old or the new file
            finally:
                with contextlib.suppress(OSError):
                    Path(name).unlink()
        except (OSError, TypeError, ValueError) as exc:
            log.warning(
                "inventory source: cannot keep NetBox's answer in %s (%s): a restart while "
                "NetBox is down will watch no pair", target, getattr(exc, "strerror", None) or exc,
            )  # fmt: skip

    def last_good(self) -> Inventory | None:
        """The inventory from the last good answer on disk, built with the current settings, or
        None (none yet, or it no longer reads or loads)."""
        path = self.source.last_good
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            answer = record["answer"]
            data = NetboxData(
                **{k: tuple(answer.get(k) or ()) for k in NetboxData.__dataclass_fields__}
            )
            when = float(record["fetched"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error(  # noqa: TRY400
                "inventory source: the last good answer %s cannot be read (%s): not used",
                path, type(exc).__name__,
            )  # fmt: skip
            return None
        try:
            inventory, refused = self._built(
                self.source, data, f"the last good answer {path}", when
            )
        except SourceError as exc:
            log.error("inventory source: %s: not used", exc)  # noqa: TRY400
            return None
        log.warning(
            "inventory source: watching the last good answer of %s (%d pairs, %.0f s old)",
            self.source.describe(), len(inventory.pairs), time.time() - when,
        )  # fmt: skip
        self.current = inventory
        self.status = replace(
            self.status, using="last good", pairs=len(inventory.pairs), refused=refused,
            last_success=when,
        )  # fmt: skip
        return inventory


def load_from_source(path: Path) -> Inventory:
    """For the one-shot commands (check, drill, history): NetBox now, else the last good
    answer (with a warning); neither is a ConfigError naming both."""
    live = LiveSource(read_source(path))
    try:
        return live.refresh(accept_shrink=True)
    except SourceError as exc:
        kept = live.last_good()
        if kept is not None:
            # ERROR, not WARNING: one-shot commands log errors only, and a check judged on an
            # old answer of NetBox's must say so.
            log.error("inventory source: %s; using the last good answer", exc)  # noqa: TRY400
            return kept
        raise ConfigError(
            [
                ConfigProblem(
                    str(path), None, SOURCE_KEY,
                    f"{exc}; and no last good answer at {live.source.last_good}",
                )
            ]
        ) from None  # fmt: skip
