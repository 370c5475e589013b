"""The domain: what a pair, a member and a verdict are. Frozen values; imports nothing of netmon."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

Oid = tuple[int, ...]


def oid_str(oid: Oid) -> str:
    return ".".join(str(arc) for arc in oid)


def parse_oid(text: str) -> Oid:
    """Numeric dotted OID ("1.3.6.1..." or ".1.3.6.1..."); raises ValueError naming the bad part."""
    stripped = text.strip().lstrip(".")
    if not stripped:
        raise ValueError("empty OID")
    arcs: list[int] = []
    for part in stripped.split("."):
        if not part.isdigit():
            raise ValueError(f"not a numeric OID: {text!r} (bad arc {part!r})")
        arcs.append(int(part))
    if len(arcs) < 2 or arcs[0] > 2:
        raise ValueError(f"not a valid OID: {text!r} (must start with 0, 1 or 2 and have 2+ arcs)")
    return tuple(arcs)


class PairState(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    SPLIT_BRAIN = "split_brain"
    DOWN = "down"
    UNKNOWN = "unknown"


class Role(enum.StrEnum):
    ACTIVE = "active"
    STANDBY = "standby"
    FAULT = "fault"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


class Mode(enum.StrEnum):
    ACTIVE_STANDBY = "active_standby"
    ACTIVE_ACTIVE = "active_active"


class Missing(enum.Enum):
    """Why an OID has no value in a reply (SNMP exceptions, or the kind's own absence)."""

    NO_SUCH_OBJECT = "noSuchObject"
    NO_SUCH_INSTANCE = "noSuchInstance"
    END_OF_MIB = "endOfMibView"
    NOT_RETURNED = "notReturned"


# What a collector hands to a kind: an int (INTEGER, Counter, Gauge, TimeTicks), text
# (OCTET STRING decoded, IpAddress dotted), or a Missing marker.
Value = int | str | Missing


@dataclass(frozen=True)
class Secret:
    """A secret's value. Never printed: repr/str show a mask so it cannot leak into logs."""

    source: str  # "env:NAME" or "file:PATH": where it came from, safe to show
    value: str = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Secret({self.source}, <secret>)"

    def __str__(self) -> str:
        return "<secret>"

    def reveal(self) -> str:
        return self.value


@dataclass(frozen=True)
class SnmpV2c:
    community: Secret


class AuthProtocol(enum.StrEnum):
    MD5 = "MD5"
    SHA = "SHA"
    SHA224 = "SHA224"
    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


class PrivProtocol(enum.StrEnum):
    """SNMPv3 privacy. AES-192/256 have no RFC, and vendors extend a localised key to 24 or 32
    bytes in two incompatible ways; the names are net-snmp's (and gosnmp's), so that what an
    operator typed into `createUser` or a Cisco `snmp-server user` line is what goes here:
    AES192/AES256 extend the key as draft-blumenthal-aes-usm-04 (net-snmp's snmpd),
    AES192C/AES256C as draft-reeder-snmpv3-usm-3desede-00 (Cisco IOS and IOS XE, many others)."""

    DES = "DES"
    AES = "AES"
    AES192 = "AES192"
    AES256 = "AES256"
    AES192C = "AES192C"
    AES256C = "AES256C"


@dataclass(frozen=True)
class SnmpV3:
    user: str
    auth_protocol: AuthProtocol | None
    auth_key: Secret | None
    priv_protocol: PrivProtocol | None
    priv_key: Secret | None


@dataclass(frozen=True)
class SnmpSettings:
    credentials: SnmpV2c | SnmpV3
    port: int = 161
    timeout: float = 1.0
    retries: int = 1


@dataclass(frozen=True)
class SshSettings:
    username: str
    port: int = 22
    device_type: str = "linux"
    password: Secret | None = None
    key_file: str | None = None
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class Device:
    name: str
    address: str
    snmp: SnmpSettings | None = None
    ssh: SshSettings | None = None


@dataclass(frozen=True)
class Probe:
    """One value a kind needs from a member's device.

    method "get" is a plain GET. "walk" walks the table column `column` with GETNEXT, starting
    at the column itself, until it reaches the OID (its value), passes it or leaves the column
    (missing). keepalived 2.2.7 answers an exact GET on VRRP-MIB rows with noSuchInstance, and a
    GETNEXT from a partial index skips to the next column: only a walk from the column is right.
    """

    key: str
    oid: Oid
    method: str = "get"  # "get" | "walk" (SNMP) | "ssh" (a CLI command: `command`)
    column: Oid | None = None  # for "walk": the column to start from (default: the OID's parent)
    command: str | None = None  # for "ssh": the command whose output is the value (text)

    def walk_start(self) -> Oid:
        return self.column if self.column is not None else self.oid[:-1]

    @property
    def collector(self) -> str:
        return "ssh" if self.method == "ssh" else "snmp"

    @property
    def ident(self) -> Oid | str:
        """How the value is keyed in a DeviceReading: the OID, or the SSH command."""
        return self.command or "" if self.method == "ssh" else self.oid


def ssh_probe(key: str, command: str) -> Probe:
    return Probe(key, (), "ssh", command=command)


@dataclass(frozen=True)
class Link:
    """A monitored interface of a member."""

    if_index: int
    name: str


@dataclass(frozen=True)
class MemberSpec:
    name: str
    device: str
    params: object  # the kind's own frozen params dataclass, already validated
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class LinkThresholds:
    error_ratio: float = 0.01  # errors+discards per packet above this make a member not ready
    errors_per_second: float = 1.0  # used where the device has no packet counters
    min_packets: int = 100  # fewer packets in a cycle: the ratio is noise, not evidence
    large_loss: float = 0.5  # share of large probes lost (with small ones passing) that counts


@dataclass(frozen=True)
class ProbeSettings:
    enabled: bool = True
    small_size: int = 64
    large_size: int = 1500
    count: int = 3
    timeout: float = 1.0


@dataclass(frozen=True)
class DrillSpec:
    """How a failover drill may run on a pair (see docs/drills.md)."""

    actuator: str
    params: object  # the actuator's own params dataclass, validated
    max_switchover: float = 10.0  # seconds for the standby to take over, else abort
    max_vip_outage: float = 5.0  # longest virtual-IP outage tolerated, else abort
    min_since_failover: float = 300.0  # refuse a drill this soon after a real failover
    freeze: tuple[tuple[int, int], ...] = ()  # daily windows (minute of day, UTC) with no drills


@dataclass(frozen=True)
class ConfigCheck:
    """How to compare the members' configurations (config drift), fetched over SSH."""

    command: str
    interval: float = 900.0
    rules: str = "generic"  # a rule set of netmon.drift: lines that differ by design
    ignore: tuple[str, ...] = ()  # the pair's own extra patterns of lines to ignore


@dataclass(frozen=True)
class ConfigStatus:
    pair: str
    checked_at: float
    in_sync: bool | None  # None: could not tell (a member's config could not be fetched)
    diff: tuple[str, ...] = ()  # secrets masked
    reason: str | None = None


@dataclass(frozen=True)
class PairSpec:
    name: str
    kind: str
    members: tuple[MemberSpec, ...]
    mode: Mode = Mode.ACTIVE_STANDBY
    preferred: str | None = None
    virtual_ip: str | None = None
    interval: float = 10.0
    # A dual-master window shorter than this is a normal switchover, not split-brain.
    split_brain_debounce: float = 2.0
    flap_threshold: int = 3
    flap_window: float = 600.0
    # Older answers than this no longer count as fresh (default: 3 intervals).
    stale_after: float = 30.0
    labels: Mapping[str, str] = field(default_factory=dict)
    config: ConfigCheck | None = None
    thresholds: LinkThresholds = field(default_factory=LinkThresholds)
    probes: ProbeSettings = field(default_factory=lambda: ProbeSettings(enabled=False))
    drill: DrillSpec | None = None


@dataclass(frozen=True)
class TrapUser:
    """An SNMPv3 user netmon's trap receiver accepts notifications from (always authenticated).

    `engine_id`: the sending engine's ID for TRAPs, when configured; None means it is learned
    from the first authenticated TRAP (docs/inventory.md, Traps)."""

    credentials: SnmpV3
    engine_id: bytes | None = None


@dataclass(frozen=True)
class TrapSettings:
    """Where netmon's own trap receiver listens, and what it accepts: the v1/v2c community
    (None: v3 only) and the v3 users. `engine_id` is the receiver's own engine ID, the
    authoritative one for INFORMs (None: a new one each process start)."""

    host: str
    port: int
    community: Secret | None = None
    users: tuple[TrapUser, ...] = ()
    engine_id: bytes | None = None


@dataclass(frozen=True)
class Inventory:
    devices: Mapping[str, Device]
    pairs: tuple[PairSpec, ...]
    source: str = ""
    traps: TrapSettings | None = None
    ssh_sessions: int = 8
    drill_journal: str = ""  # path of the drill journal (SQLite); "" = the per-user default
    state_dsn: Secret | None = None  # the replicas' shared PostgreSQL; None = SQLite files

    @cached_property
    def _by_name(self) -> dict[str, PairSpec]:
        return {pair.name: pair for pair in self.pairs}

    def pair(self, name: str) -> PairSpec | None:
        # Called on every poll: a scan of 5,000 pairs here was the largest cost of a poll.
        return self._by_name.get(name)


# ---- observations: what collectors and kinds produce ----


@dataclass(frozen=True)
class InterfaceReading:
    if_index: int
    name: str
    oper_up: bool | None  # None: not answered / not a valid status
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    in_packets: int | None = None  # ifInUcastPkts
    out_packets: int | None = None  # ifOutUcastPkts
    # Computed by evaluate from this and the previous reading (None: no rate yet, or a reset).
    in_error_ratio: float | None = None
    out_error_ratio: float | None = None
    errors_per_second: float | None = None
    # Values refused as out of their SNMP type's range or not numbers ("ifInErrors: value out of
    # range"): each is None in its field and named here, so the member says why.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    """ICMP echo probes of one size to one target in one cycle."""

    target: str  # an address
    size: int  # bytes on the wire (IP header included)
    sent: int
    received: int
    rtt: float | None  # mean round trip of the answered ones, seconds
    error: str | None = None  # why nothing could be sent (e.g. no privilege)

    @property
    def loss(self) -> float | None:
        return None if self.sent == 0 else 1.0 - self.received / self.sent


@dataclass(frozen=True)
class DeviceReading:
    """The outcome of polling one device once: values by OID, or an error reason."""

    device: str
    collector: str
    at: float
    ok: bool
    values: Mapping[Oid | str, Value] = field(default_factory=dict)  # by OID, or by SSH command
    reason: str | None = None  # short, bounded token: timeout, auth, garbage, ...
    detail: str | None = None  # human text for logs and the API; never a secret
    duration: float = 0.0


@dataclass(frozen=True)
class MemberView:
    """A kind's verdict on one member."""

    role: Role
    reason: str | None = None  # why, when not plainly active/standby
    raw: str | None = None  # the raw value(s) the role came from, for operators
    ready: bool = True  # a standby that is not ready (e.g. not synced) says so here
    # Who this member hears as the active one ("10.0.0.1", "peer unit active"): what the device
    # says about its peer. A standby that hears a live active is evidence the pair is serving
    # even when netmon cannot reach that active member, so the pair is never `down` on that.
    peer_active: str | None = None
    # The identifiers the device reported for the units it describes ("local unit 1, peer unit
    # 2"; "9.1.0.0 Routing Engine 1"): shown by `netmon check` and /api so an operator sees what
    # to write in the inventory. Bounded text, never a secret.
    identity: str | None = None
    # The expected row or value was absent (noSuchObject/noSuchInstance/not returned). Unknown
    # on its own; a row that was there and vanished (a stopped VRRP process) is judged `fault`.
    missing: bool = False
    # What the device says of the inventory's intent (intent drift), set by kinds that read it:
    # the group as the inventory names it ("ifIndex 2 VRID 51"), the configured priority (not
    # one lowered by tracking) and the virtual addresses of the group. None: not read.
    group: str | None = None
    priority: int | None = None
    virtual_ips: tuple[str, ...] | None = None
    # For a member whose row is missing: whether the device's intent tables had rows at all
    # (False: the agent serves none of the MIB, so "the group is not there" is not known).
    tables_served: bool | None = None
    # A VRRP backup that counts the advertisements it received (FRR's adverRx), and how long
    # it waits without one before it claims master (its Master_Down_Interval, in seconds):
    # evaluate judges a backup whose count stopped growing for longer than that not ready.
    adverts_heard: int | None = None
    adverts_within: float | None = None


@dataclass(frozen=True)
class MemberObservation:
    member: str
    device: str
    view: MemberView
    at: float  # when the answer came (or the attempt failed)
    fresh: bool = True
    links: tuple[InterfaceReading, ...] = ()
    uptime: int | None = None  # sysUpTime (ticks) of the reading: an agent restart resets counters
    probes: tuple[ProbeResult, ...] = ()
    # The last role this member was read as (active, standby or fault), carried from verdict to
    # verdict by evaluate: a row that was there and then vanished is a fault, not an unknown.
    last_read: Role | None = None
    # This member's `fault` is its own row having vanished after it was read (see evaluate).
    vanished: bool = False
    # Since when this member's count of received VRRP advertisements (`view.adverts_heard`)
    # has been the one it reads now: the reading time of the first of the readings in a row
    # with that count (see evaluate.silent_master).
    adverts_since: float | None = None


@dataclass(frozen=True)
class IntentStatus:
    """Whether the members' live state matches what the inventory states of the pair: its
    virtual IP, its preferred member (the strictly highest configured priority) and its group.
    `in_sync` None: not known (a value not read). A ticket, never a page: no pair state."""

    in_sync: bool | None
    reasons: tuple[str, ...] = ()  # drift (or, when not known, what was not read)


@dataclass(frozen=True)
class PairStatus:
    """The verdict on one pair, plus the running facts evaluation carries from cycle to cycle."""

    pair: str
    kind: str
    mode: Mode
    state: PairState
    reasons: tuple[str, ...]
    members: tuple[MemberObservation, ...]
    active_members: tuple[str, ...]
    evaluated_at: float
    since: float  # when the current state began
    preferred: str | None = None
    on_preferred: bool | None = None
    last_active: str | None = None  # the last single active member seen
    failovers_total: int = 0
    last_failover_at: float | None = None
    recent_failovers: tuple[float, ...] = ()
    dual_active_since: float | None = None
    flapping: bool = False
    vip_probes: tuple[ProbeResult, ...] = ()
    intent: IntentStatus = IntentStatus(None)


@dataclass(frozen=True)
class Transition:
    pair: str
    at: float
    old: PairState | None
    new: PairState
    reasons: tuple[str, ...]
    active: tuple[str, ...]
