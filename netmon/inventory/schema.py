"""The inventory's shape, validated strictly by pydantic: unknown keys are errors.

Only the document's structure lives here; cross-references (a member's device, a kind's
params, secrets) are checked by the loader, which knows where every node came from.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from netmon.model import AuthProtocol, Mode, PrivProtocol


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SecretRef(Strict):
    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret reference needs exactly one of 'env' or 'file'")
        return self


class SnmpConfig(Strict):
    version: Literal["2c", "3"] = "2c"
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: AuthProtocol | None = Field(None, strict=False)  # YAML gives the name
    auth_key: SecretRef | None = None
    priv_protocol: PrivProtocol | None = Field(None, strict=False)
    priv_key: SecretRef | None = None
    port: int = Field(161, ge=1, le=65535)
    timeout: float = Field(1.0, gt=0, le=60)
    retries: int = Field(1, ge=0, le=10)

    @model_validator(mode="after")
    def _credentials(self) -> SnmpConfig:
        if self.version == "2c":
            if self.community is None:
                raise ValueError("SNMP v2c needs 'community' (a secret reference)")
            if self.user is not None:
                raise ValueError("'user' is for SNMP v3; set version: '3'")
        else:
            if not self.user:
                raise ValueError("SNMP v3 needs 'user'")
            if self.community is not None:
                raise ValueError("'community' is for SNMP v2c")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("'auth_protocol' and 'auth_key' go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("'priv_protocol' and 'priv_key' go together")
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise ValueError("privacy (priv_*) needs authentication (auth_*) too")
        return self


class SshConfig(Strict):
    username: str
    port: int = Field(22, ge=1, le=65535)
    device_type: str = "linux"
    password: SecretRef | None = None
    key_file: str | None = None
    known_hosts: str | None = None
    accept_new_host_keys: bool = False
    timeout: float = Field(10.0, gt=0, le=300)


class DeviceConfig(Strict):
    address: str
    group: str | None = None
    snmp: SnmpConfig | None = None
    ssh: SshConfig | None = None


class LinkConfig(Strict):
    if_index: int = Field(ge=1)
    name: str | None = None


class MemberConfig(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    device: str | None = None  # defaults to the member's name
    params: dict[str, Any] = Field(default_factory=dict)
    links: list[LinkConfig] | None = None


class ThresholdsConfig(Strict):
    error_ratio: float = Field(0.01, gt=0, lt=1)
    errors_per_second: float = Field(1.0, gt=0)
    min_packets: int = Field(100, ge=1)
    large_loss: float = Field(0.5, gt=0, le=1)


class ProbesConfig(Strict):
    enabled: bool = True
    small_size: int = Field(64, ge=28, le=1500)
    large_size: int = Field(1500, ge=68, le=9000)
    count: int = Field(3, ge=1, le=20)
    timeout: float = Field(1.0, gt=0, le=10)


class PairSettings(Strict):
    """What defaults.pair may set for every pair."""

    interval: float = Field(10.0, ge=0.1, le=3600)
    split_brain_debounce: float = Field(2.0, ge=0, le=600)
    flap_threshold: int = Field(3, ge=2)
    flap_window: float = Field(600.0, gt=0)
    stale_after: float | None = Field(None, gt=0)
    thresholds: ThresholdsConfig = ThresholdsConfig()
    probes: ProbesConfig = ProbesConfig()


class ConfigDriftConfig(Strict):
    command: str | None = (
        None  # default: the kind's (keepalived: cat /etc/keepalived/keepalived.conf)
    )
    interval: float = Field(900.0, ge=5)
    rules: str | None = None  # default: from the kind
    ignore: list[str] = Field(default_factory=list)


class DrillConfig(Strict):
    actuator: str
    params: dict[str, Any] = Field(default_factory=dict)
    max_switchover: float = Field(10.0, gt=0, le=600)
    max_vip_outage: float = Field(5.0, gt=0, le=600)
    min_since_failover: float = Field(300.0, ge=0)
    freeze: list[str] = Field(default_factory=list)  # "HH:MM-HH:MM" (UTC), daily


class DrillsConfig(Strict):
    journal: str | None = None  # relative to the inventory file


class PairConfig(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: str
    mode: Mode = Field(Mode.ACTIVE_STANDBY, strict=False)
    members: list[MemberConfig | str] = Field(min_length=1)
    preferred: str | None = None
    virtual_ip: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    links: list[LinkConfig] = Field(default_factory=list)  # for every member without its own
    labels: dict[str, str] = Field(default_factory=dict)
    config: ConfigDriftConfig | None = None
    thresholds: ThresholdsConfig | None = None
    probes: ProbesConfig | None = None
    drill: DrillConfig | None = None
    interval: float | None = Field(None, ge=0.1, le=3600)
    split_brain_debounce: float | None = Field(None, ge=0, le=600)
    flap_threshold: int | None = Field(None, ge=2)
    flap_window: float | None = Field(None, gt=0)
    stale_after: float | None = Field(None, gt=0)


class GroupConfig(Strict):
    """Settings shared by devices that name the group; a device's own keys win."""

    snmp: dict[str, Any] | None = None
    ssh: dict[str, Any] | None = None


class Defaults(Strict):
    snmp: dict[str, Any] | None = None
    ssh: dict[str, Any] | None = None
    pair: PairSettings = PairSettings()


# An SnmpEngineID in hex (RFC 3411: 5..32 octets), as net-snmp ("0x8000...") or Cisco print it.
ENGINE_ID_PATTERN = r"^(0[xX])?([0-9A-Fa-f]{2}){5,32}$"


def _quoted_engine_id(value: Any) -> Any:
    # YAML reads 0x80001f88... or 8000000903 unquoted as a number, whose leading zeros and
    # digits-as-hex cannot be told apart any more: say so instead of "not a string".
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError
            "engine_id must be quoted ('0x80001f88...'): unquoted, YAML reads a number"
        )
    return value


EngineId = Annotated[str, BeforeValidator(_quoted_engine_id), Field(pattern=ENGINE_ID_PATTERN)]


class TrapUserConfig(Strict):
    """An SNMPv3 user whose notifications the trap receiver accepts; always authenticated
    (a noAuthNoPriv notification proves nothing about its sender, not even a community)."""

    user: str = Field(min_length=1, max_length=32)
    auth_protocol: AuthProtocol = Field(strict=False)  # YAML gives the name
    auth_key: SecretRef
    priv_protocol: PrivProtocol | None = Field(None, strict=False)
    priv_key: SecretRef | None = None
    engine_id: EngineId | None = None  # the sender's, for TRAPs

    @model_validator(mode="after")
    def _privacy(self) -> TrapUserConfig:
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("'priv_protocol' and 'priv_key' go together")
        return self


class TrapConfig(Strict):
    listen: str = Field(pattern=r"^[^\s:]+:\d{1,5}$")  # HOST:PORT
    community: SecretRef | None = None  # v1/v2c; optional when v3 users are given
    users: list[TrapUserConfig] = Field(default_factory=list)
    engine_id: EngineId | None = None  # the receiver's own, for INFORMs

    @model_validator(mode="after")
    def _something_to_accept(self) -> TrapConfig:
        if self.community is None and not self.users:
            raise ValueError("traps need 'community' (v1/v2c), 'users' (v3), or both")
        seen: set[tuple[str, str | None]] = set()
        for user in self.users:
            key = (user.user, _engine_hex(user.engine_id))
            if key in seen:
                raise ValueError(
                    f"trap user {user.user!r} is listed twice"
                    + (" for the same engine_id" if user.engine_id else " without engine_id")
                )
            seen.add(key)
        return self


def _engine_hex(text: str | None) -> str | None:
    return None if text is None else text.lower().removeprefix("0x")


class CollectorsConfig(Strict):
    ssh_sessions: int = Field(8, ge=1, le=256)  # SSH sessions at once (worker threads)


class StateSettingsConfig(Strict):
    # The replicas' shared PostgreSQL: a DSN holds a password, so it is a secret reference.
    dsn: SecretRef | None = None


class InventoryConfig(Strict):
    version: Literal[1] = 1
    collectors: CollectorsConfig = CollectorsConfig()
    state: StateSettingsConfig = StateSettingsConfig()
    drills: DrillsConfig = DrillsConfig()
    traps: TrapConfig | None = None
    defaults: Defaults = Defaults()
    groups: dict[str, GroupConfig] = Field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pairs: list[PairConfig] = Field(default_factory=list)
