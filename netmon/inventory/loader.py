"""Inventory file -> validated domain objects, or a ConfigError listing every problem found.

Validation goes piece by piece (each device, each pair, each member) so one mistake never hides
the next: an operator fixing a file sees all of its problems at once, each as file:line.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from netmon.drift import DEFAULT_CONFIG_COMMANDS, RULE_SETS, rule_set_for, validate_patterns
from netmon.drills.actuators import UnknownActuator, actuator
from netmon.errors import ConfigError, ConfigProblem, SecretError
from netmon.inventory import schema
from netmon.inventory.secrets import resolve
from netmon.inventory.source import Document, PathPart, load_document
from netmon.kinds import KINDS, UnknownKind
from netmon.model import (
    ConfigCheck,
    Device,
    DrillSpec,
    Inventory,
    Link,
    LinkThresholds,
    MemberSpec,
    Mode,
    PairSpec,
    ProbeSettings,
    Secret,
    SnmpSettings,
    SnmpV2c,
    SnmpV3,
    SshSettings,
    TrapSettings,
    TrapUser,
)

Loc = tuple[PathPart, ...]


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(params_type: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(params_type)
    if adapter is None:
        adapter = _ADAPTERS[params_type] = TypeAdapter(params_type)
    return adapter


def _message(err: Mapping[str, Any], allowed: Sequence[str] = ()) -> str:
    kind = err["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        key = err["loc"][-1] if err["loc"] else "?"
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _allowed(model: type[BaseModel], loc: Loc) -> list[str]:
    # Only the top level of the validated model: nested models list their own keys.
    return sorted(model.model_fields) if len(loc) == 1 else []


class _Loader:
    def __init__(self, doc: Document, base: Path) -> None:
        self.doc = doc
        self.base = base
        self.problems: list[ConfigProblem] = []
        self.declared: set[str] = set()

    # -- helpers --------------------------------------------------------------------------

    def add(self, path: Sequence[PathPart], message: str) -> None:
        problem = self.doc.problem(path, message)
        # Pair-level params are checked once per member: report each mistake once.
        if problem not in self.problems:
            self.problems.append(problem)

    def _exists(self, path: Sequence[PathPart]) -> bool:
        node: Any = self.doc.data
        for part in path:
            if isinstance(node, list):
                if not isinstance(part, int) or not 0 <= part < len(node):
                    return False
                node = node[part]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return False
        return True

    def add_at(self, prefixes: Sequence[Loc], loc: Loc, message: str) -> None:
        """Report at the first prefix under which the full path exists (the layer that set the
        value), else at the first prefix: merged settings point back to where they were written."""
        for prefix in prefixes:
            if self._exists((*prefix, *loc)):
                self.add((*prefix, *loc), message)
                return
        self.add((*prefixes[0], *loc), message)

    def validate(self, model: type[BaseModel], data: Any, prefixes: Sequence[Loc]) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                self.add_at(prefixes, loc, _message(err, _allowed(model, loc)))
            return None

    def secret(self, ref: schema.SecretRef | None, where: Sequence[Loc], key: str) -> Secret | None:
        if ref is None:
            return None
        try:
            return resolve(ref.env, ref.file, self.base)
        except SecretError as exc:
            self.add_at(where, (key,), f"secret: {exc}")
            return None

    # -- the document ---------------------------------------------------------------------

    def run(self) -> Inventory:
        data = self.doc.data
        if not isinstance(data, dict):
            self.add((), "the inventory must be a mapping with 'devices' and 'pairs'")
            raise ConfigError(self.problems)
        top = {k: v for k, v in data.items() if k not in ("devices", "pairs", "groups")}
        top_model = self.validate(schema.InventoryConfig, top, [()])
        defaults: schema.Defaults = top_model.defaults if top_model else schema.Defaults()
        groups = self.groups(data.get("groups"))
        devices = self.devices(data.get("devices"), defaults, groups)
        raw_devices = data.get("devices")
        self.declared = set(map(str, raw_devices)) if isinstance(raw_devices, dict) else set()
        pairs = self.pairs(data.get("pairs"), defaults, devices)
        traps = self.traps(top_model.traps if top_model else None)
        state_dsn = self.secret(top_model.state.dsn, [("state",)], "dsn") if top_model else None
        if self.problems:
            raise ConfigError(self.problems)
        collectors = top_model.collectors if top_model else schema.CollectorsConfig()
        return Inventory(
            devices=devices,
            pairs=tuple(pairs),
            source=self.doc.file,
            traps=traps,
            ssh_sessions=collectors.ssh_sessions,
            drill_journal=self.journal_path(top_model.drills.journal if top_model else None),
            state_dsn=state_dsn,
        )

    def journal_path(self, configured: str | None) -> str:
        if configured is None:
            return ""
        path = Path(configured)
        return str(path if path.is_absolute() else self.base / path)

    def traps(self, cfg: schema.TrapConfig | None) -> TrapSettings | None:
        if cfg is None:
            return None
        host, _, port = cfg.listen.rpartition(":")
        if not 1 <= int(port) <= 65535:
            self.add(("traps", "listen"), f"port must be 1..65535, got {port}")
            return None
        community = self.secret(cfg.community, [("traps",)], "community")
        users = [self.trap_user(i, user) for i, user in enumerate(cfg.users)]
        if (cfg.community is not None and community is None) or None in users:
            return None  # a secret could not be read: reported where it is referenced
        return TrapSettings(
            host,
            int(port),
            community,
            tuple(user for user in users if user is not None),
            _engine_id(cfg.engine_id),
        )

    def trap_user(self, index: int, cfg: schema.TrapUserConfig) -> TrapUser | None:
        at: list[Loc] = [("traps", "users", index)]
        auth = self.secret(cfg.auth_key, at, "auth_key")
        priv = self.secret(cfg.priv_key, at, "priv_key")
        if auth is None or (cfg.priv_key is not None and priv is None):
            return None
        creds = SnmpV3(cfg.user, cfg.auth_protocol, auth, cfg.priv_protocol, priv)
        return TrapUser(creds, _engine_id(cfg.engine_id))

    def groups(self, raw: Any) -> dict[str, schema.GroupConfig]:
        out: dict[str, schema.GroupConfig] = {}
        if raw is None:
            return out
        if not isinstance(raw, dict):
            self.add(("groups",), "must be a mapping of group name to settings")
            return out
        for name, body in raw.items():
            group = self.validate(schema.GroupConfig, body, [("groups", name)])
            if group is not None:
                out[str(name)] = group
        return out

    def devices(
        self, raw: Any, defaults: schema.Defaults, groups: Mapping[str, schema.GroupConfig]
    ) -> dict[str, Device]:
        out: dict[str, Device] = {}
        if raw is None:
            return out
        if not isinstance(raw, dict):
            self.add(("devices",), "must be a mapping of device name to settings")
            return out
        for name, body in raw.items():
            where: Loc = ("devices", name)
            if not isinstance(body, dict):
                self.add(where, "a device must be a mapping with at least 'address'")
                continue
            group_name = body.get("group")
            group = groups.get(group_name) if isinstance(group_name, str) else None
            prefixes: list[Loc] = [where]
            if group_name is not None and group is None:
                known = ", ".join(sorted(groups)) or "none defined"
                self.add((*where, "group"), f"unknown group {group_name!r} (groups: {known})")
            elif group is not None:
                prefixes.append(("groups", str(group_name)))
            prefixes.append(("defaults",))
            merged = dict(body)
            for section in ("snmp", "ssh"):
                if not isinstance(body.get(section) or {}, dict):
                    continue  # left as written: validation says it must be a mapping
                layers = [
                    getattr(defaults, section) or {},
                    (getattr(group, section) if group else None) or {},
                    body.get(section) or {},
                ]
                combined = {k: v for layer in layers for k, v in layer.items()}
                if combined and (section in body or any(layers[:2])):
                    merged[section] = combined
            device = self.validate(schema.DeviceConfig, merged, prefixes)
            if device is None:
                continue
            built = self.device(str(name), device, prefixes)
            if built is not None:
                out[str(name)] = built
        return out

    def device(self, name: str, cfg: schema.DeviceConfig, prefixes: list[Loc]) -> Device | None:
        snmp: SnmpSettings | None = None
        ok = True
        if cfg.snmp is not None:
            s = cfg.snmp
            at = [(*p, "snmp") for p in prefixes]
            creds: SnmpV2c | SnmpV3 | None
            if s.version == "2c":
                community = self.secret(s.community, at, "community")
                creds = SnmpV2c(community) if community else None
            else:
                auth = self.secret(s.auth_key, at, "auth_key")
                priv = self.secret(s.priv_key, at, "priv_key")
                bad = (s.auth_key and not auth) or (s.priv_key and not priv)
                creds = (
                    None
                    if bad
                    else SnmpV3(s.user or "", s.auth_protocol, auth, s.priv_protocol, priv)
                )
            if creds is None:
                ok = False
            else:
                snmp = SnmpSettings(creds, s.port, s.timeout, s.retries)
        ssh: SshSettings | None = None
        if cfg.ssh is not None:
            h = cfg.ssh
            at = [(*p, "ssh") for p in prefixes]
            password = self.secret(h.password, at, "password")
            if h.password is not None and password is None:
                ok = False
            ssh = SshSettings(
                h.username, h.port, h.device_type, password, h.key_file, h.known_hosts,
                h.accept_new_host_keys, h.timeout,
            )  # fmt: skip
        return Device(name, cfg.address, snmp, ssh) if ok else None

    def pairs(
        self, raw: Any, defaults: schema.Defaults, devices: Mapping[str, Device]
    ) -> list[PairSpec]:
        out: list[PairSpec] = []
        if raw is None:
            return out
        if not isinstance(raw, list):
            self.add(("pairs",), "must be a list of pairs")
            return out
        seen: set[str] = set()
        for i, body in enumerate(raw):
            where: Loc = ("pairs", i)
            if not isinstance(body, dict):
                self.add(where, "a pair must be a mapping with 'name', 'kind' and 'members'")
                continue
            written = body.get("members")
            if isinstance(written, list):
                # Members are checked one by one below (with their own places in the file).
                shape = {**body, "members": ["placeholder"] * len(written)}
            else:
                shape = dict(body)  # absent or not a list: the schema says what is wrong
            if "members" not in body:
                shape.pop("members", None)
            cfg = self.validate(schema.PairConfig, shape, [where])
            if cfg is None:
                continue
            if cfg.name in seen:
                self.add((*where, "name"), f"pair name {cfg.name!r} is used twice")
                continue
            seen.add(cfg.name)
            members = body.get("members")
            pair = self.pair(
                where, cfg, members if isinstance(members, list) else [], defaults.pair, devices
            )
            if pair is not None:
                out.append(pair)
        return out

    def pair(
        self,
        where: Loc,
        cfg: schema.PairConfig,
        raw_members: list[Any],
        settings: schema.PairSettings,
        devices: Mapping[str, Device],
    ) -> PairSpec | None:
        before = len(self.problems)
        try:
            kind = KINDS.get(cfg.kind)
        except UnknownKind as exc:
            self.add((*where, "kind"), str(exc))
            return None
        members: list[MemberSpec] = []
        names: list[str] = []  # every well-formed member, even one whose params are wrong
        for j, written in enumerate(raw_members):
            mwhere: Loc = (*where, "members", j)
            raw = {"name": written} if isinstance(written, str) else written
            member = self.validate(schema.MemberConfig, raw, [mwhere])
            if member is None:
                continue
            if member.name in names:
                self.add(
                    (*mwhere, "name"), f"member name {member.name!r} is used twice in this pair"
                )
            names.append(member.name)
            device_name = member.device or member.name
            device = devices.get(device_name)
            if device is None and device_name in self.declared:
                pass  # the device itself is broken and was reported where it is defined
            elif device is None:
                known = ", ".join(sorted(self.declared)) or "none defined"
                at = (*mwhere, "device") if member.device else mwhere
                self.add(
                    at,
                    f"member {member.name!r} names unknown device {device_name!r} (devices: {known})",
                )
            elif kind.transport == "ssh" and device.ssh is None:
                self.add(
                    mwhere,
                    f"device {device_name!r} has no 'ssh' settings; kind {kind.name!r} reads over SSH",
                )
            elif kind.transport == "snmp" and device.snmp is None:
                self.add(
                    mwhere,
                    f"device {device_name!r} has no 'snmp' settings; kind {kind.name!r} reads SNMP",
                )
            pair_params = dict(cfg.params)
            if cfg.virtual_ip and "vip" in {f.name for f in dataclasses.fields(kind.params_type)}:
                pair_params.setdefault("vip", cfg.virtual_ip)  # the pair's VIP is the kind's VIP
            params = self.kind_params(
                kind.params_type, kind, pair_params, member.params, where, mwhere
            )
            links = tuple(
                Link(link.if_index, link.name or f"ifIndex {link.if_index}")
                for link in (member.links if member.links is not None else cfg.links)
            )
            if params is not None:
                members.append(MemberSpec(member.name, device_name, params, links))
        # What names a member's unit as the kind matches it (case-insensitive names, say), or
        # the params themselves.
        unit_key = getattr(kind, "unit_key", lambda params: params)
        for j, member_spec in enumerate(members):
            # Two members reading the same unit of the same device would always agree: a pair
            # that is never healthy (two actives: split-brain) or never down. A typo, mostly.
            key = (member_spec.device, unit_key(member_spec.params))
            twin = next((m for m in members[:j] if (m.device, unit_key(m.params)) == key), None)
            if twin is not None:
                self.add(
                    (*where, "members", names.index(member_spec.name)),
                    f"member {member_spec.name!r} reads the same unit as {twin.name!r} "
                    f"(device {member_spec.device!r}, the same params): name each member's own unit",
                )
        if cfg.mode is Mode.ACTIVE_STANDBY and len(raw_members) < 2:
            self.add((*where, "members"), "an active_standby pair needs at least two members")
        all_named = len(names) == len(raw_members)
        if cfg.preferred is not None and cfg.preferred not in names and all_named:
            self.add(
                (*where, "preferred"),
                f"preferred member {cfg.preferred!r} is not one of: {', '.join(names)}",
            )
        if len(self.problems) > before:
            return None
        config = self.config_check(where, cfg, kind.name, members, devices)
        drill = self.drill(where, cfg)
        if (
            drill is not None
            and drill.actuator == "keepalived-priority"
            and getattr(drill.params, "instance", None) is None
            and any(not isinstance(getattr(m.params, "instance", None), int) for m in members)
        ):
            # The SET goes to one instance's base priority: one named by VRID is resolved only
            # at the poll, another kind has none, and a guess (instance 1, as before) could
            # demote another instance's router.
            self.add(
                (*where, "drill", "params"),
                "a keepalived-priority drill needs `instance: N` in its params unless the pair "
                "names its keepalived instance by `instance` (never guessed: a SET to another "
                "instance demotes another group's router)",
            )
        if len(self.problems) > before:
            return None
        interval = cfg.interval if cfg.interval is not None else settings.interval
        stale = cfg.stale_after or settings.stale_after or 3 * interval
        return PairSpec(
            name=cfg.name,
            kind=kind.name,
            members=tuple(members),
            mode=cfg.mode,
            preferred=cfg.preferred,
            virtual_ip=cfg.virtual_ip,
            interval=interval,
            split_brain_debounce=_pick(cfg.split_brain_debounce, settings.split_brain_debounce),
            flap_threshold=int(_pick(cfg.flap_threshold, settings.flap_threshold)),
            flap_window=_pick(cfg.flap_window, settings.flap_window),
            stale_after=stale,
            labels=dict(cfg.labels),
            config=config,
            thresholds=LinkThresholds(**(cfg.thresholds or settings.thresholds).model_dump()),
            probes=ProbeSettings(**(cfg.probes or settings.probes).model_dump()),
            drill=drill,
        )

    def drill(self, where: Loc, cfg: schema.PairConfig) -> DrillSpec | None:
        d = cfg.drill
        if d is None:
            return None
        at: Loc = (*where, "drill")
        try:
            act = actuator(d.actuator)
        except UnknownActuator as exc:
            self.add((*at, "actuator"), str(exc))
            return None
        try:
            params = _adapter(act.params_type).validate_python(d.params)
        except ValidationError as exc:
            for err in exc.errors():
                self.add_at([(*at, "params"), at], tuple(err["loc"]), _message(err))
            return None
        windows: list[tuple[int, int]] = []
        for i, text in enumerate(d.freeze):
            window = _window(text)
            if window is None:
                self.add(
                    (*at, "freeze", i), f"a freeze window is 'HH:MM-HH:MM' (UTC), got {text!r}"
                )
            else:
                windows.append(window)
        return DrillSpec(
            d.actuator,
            params,
            d.max_switchover,
            d.max_vip_outage,
            d.min_since_failover,
            tuple(windows),
        )

    def config_check(
        self,
        where: Loc,
        cfg: schema.PairConfig,
        kind: str,
        members: list[MemberSpec],
        devices: Mapping[str, Device],
    ) -> ConfigCheck | None:
        drift = cfg.config
        if drift is None:
            return None
        at: Loc = (*where, "config")
        rules = drift.rules or rule_set_for(kind)
        if rules not in RULE_SETS:
            self.add(
                (*at, "rules"), f"unknown rule set {rules!r}; choose one of: {', '.join(RULE_SETS)}"
            )
        for i, message in validate_patterns(drift.ignore):
            self.add((*at, "ignore", i), message)
        command = drift.command or DEFAULT_CONFIG_COMMANDS.get(rules)
        if command is None:
            self.add(at, f"needs 'command': no default config command for rule set {rules!r}")
        for member in members:
            device = devices.get(member.device)
            if device is not None and device.ssh is None:
                self.add(
                    at,
                    f"config drift reads configs over SSH, but device {member.device!r} has no 'ssh' settings",
                )
        if command is None:
            return None
        return ConfigCheck(command, drift.interval, rules, tuple(drift.ignore))

    def kind_params(
        self,
        params_type: type[Any],
        kind: Any,
        pair_params: dict[str, Any],
        member_params: dict[str, Any],
        pwhere: Loc,
        mwhere: Loc,
    ) -> Any:
        prefixes: list[Loc] = [(*mwhere, "params"), (*pwhere, "params")]
        merged = {**pair_params, **member_params}
        try:
            params = _adapter(params_type).validate_python(merged)
        except ValidationError as exc:
            fields = [f.name for f in dataclasses.fields(params_type)]
            for err in exc.errors():
                loc = tuple(err["loc"])
                msg = _message(err, fields if len(loc) == 1 else ())
                if err["type"] == "missing":
                    msg = f"kind {kind.name!r} needs parameter {loc[-1]!r} (its parameters: {', '.join(fields)})"
                    self.add(pwhere if not self._exists(prefixes[1]) else prefixes[1], msg)
                    continue
                self.add_at(prefixes, loc, f"{msg}")
            return None
        problems = kind.check(params)
        for field_path, message in problems:
            loc = tuple(field_path.split("."))
            self.add_at(prefixes, loc, message)
        return None if problems else params


def _window(text: str) -> tuple[int, int] | None:
    try:
        start, end = (part.strip() for part in text.split("-"))
        minutes = []
        for part in (start, end):
            hours, mins = part.split(":")
            if not (0 <= int(hours) < 24 and 0 <= int(mins) < 60):
                return None
            minutes.append(int(hours) * 60 + int(mins))
    except ValueError:
        return None
    return minutes[0], minutes[1]


def _engine_id(text: str | None) -> bytes | None:
    """An engine ID as the schema's pattern admits it (hex, optional 0x) -> its octets."""
    return None if text is None else bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)


def _pick(own: float | int | None, default: float | int) -> float:
    return float(own if own is not None else default)


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate an inventory; raises ConfigError with every problem found. A source
    file (`source:`, netmon.inventory.live) takes its pairs from NetBox now, else from the last
    good inventory kept on disk."""
    inventory = load_unless_source(path)
    if inventory is None:
        from netmon.inventory.live import load_from_source  # noqa: PLC0415 - live imports us

        return load_from_source(Path(path))
    return inventory


def load_unless_source(path: str | Path) -> Inventory | None:
    """A written inventory, loaded; None for a source file (`source:`), which names where its
    pairs come from (netmon.inventory.live). The file is parsed once either way."""
    file = Path(path)
    doc = load_document(file)
    if isinstance(doc.data, dict) and "source" in doc.data:
        return None
    return _Loader(doc, file.resolve().parent).run()


def settings_problems(
    doc: Document, folder: Path, skip: Sequence[str], devices: Mapping[str, Any] | None = None
) -> list[ConfigProblem]:
    """The problems of a document's settings alone, with the document's own lines: a source
    file's defaults, groups, state, drills and traps, checked before any pair depends on them.
    `devices`: stand-ins loaded with those settings, so that what only a device uses (the
    defaults' SNMP version, a group's secret) is checked too."""
    view = copy.copy(doc)
    data = doc.data if isinstance(doc.data, dict) else {}
    view.data = {k: v for k, v in data.items() if k not in (*skip, "devices", "pairs")}
    if devices:
        view.data["devices"] = dict(devices)
    try:
        _Loader(view, folder).run()
    except ConfigError as exc:
        return exc.problems
    return []


def load_inventory_file(path: str | Path) -> Inventory:
    """Load and validate a written inventory (devices and pairs in the file itself)."""
    file = Path(path)
    return _Loader(load_document(file), file.resolve().parent).run()
