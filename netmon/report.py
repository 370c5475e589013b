"""Plain-data views of a snapshot, shared by the HTTP API and `netmon check --json`.

Only bounded, secret-free facts: names, states, roles, reasons, timestamps. Every number is one
JSON carries safely: an integer beyond 2^53 (where JSON readers lose precision or fail) or a
float that is not finite becomes null. Values a device sent out of their SNMP type's range are
already refused where they are read, and the link's `problems` say so.
"""

from __future__ import annotations

import math
from typing import Any

from netmon.model import (
    ConfigStatus,
    MemberObservation,
    PairStatus,
    ProbeResult,
    Role,
    Transition,
)
from netmon.store import Snapshot

JSON_SAFE_INT = 2**53 - 1  # the largest integer every JSON reader (IEEE double) carries exactly


def json_safe(data: Any) -> Any:
    """`data` with each integer beyond +-(2^53 - 1) and each non-finite float replaced by null."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return data
    if isinstance(data, int):
        return data if -JSON_SAFE_INT <= data <= JSON_SAFE_INT else None
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(value) for value in data]
    return data


def _safe(data: dict[str, Any]) -> dict[str, Any]:
    return {key: json_safe(value) for key, value in data.items()}


def probe_json(result: ProbeResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "size": result.size,
        "sent": result.sent,
        "received": result.received,
        "loss": result.loss,
        "rtt": result.rtt,
        "error": result.error,
    }


def member_ready(obs: MemberObservation) -> bool | None:
    """Ready means something only for a fresh active or standby member: would it serve (or, for
    the active, does it know a standby). A fault, unknown, unreachable or stale member is
    neither ready nor not ready: null, so no consumer reads `ready: true` for it."""
    if not obs.fresh or obs.view.role not in (Role.ACTIVE, Role.STANDBY):
        return None
    return obs.view.ready


def member_json(obs: MemberObservation) -> dict[str, Any]:
    return {
        "member": obs.member,
        "device": obs.device,
        "role": obs.view.role.value,
        "ready": member_ready(obs),
        "fresh": obs.fresh,
        "reason": obs.view.reason,
        "raw": obs.view.raw,
        "peer_active": obs.view.peer_active,
        "identity": obs.view.identity,
        "priority": obs.view.priority,
        "virtual_ips": list(obs.view.virtual_ips) if obs.view.virtual_ips is not None else None,
        "at": obs.at or None,
        "probes": [probe_json(p) for p in obs.probes],
        "links": [
            {
                "if_index": link.if_index,
                "name": link.name,
                "up": link.oper_up,
                "in_errors": link.in_errors,
                "out_errors": link.out_errors,
                "in_discards": link.in_discards,
                "out_discards": link.out_discards,
                "in_error_ratio": link.in_error_ratio,
                "out_error_ratio": link.out_error_ratio,
                "problems": list(link.problems),
            }
            for link in obs.links
        ],
    }


def pair_json(status: PairStatus) -> dict[str, Any]:
    return {
        "pair": status.pair,
        "kind": status.kind,
        "mode": status.mode.value,
        "state": status.state.value,
        "reasons": list(status.reasons),
        "active_members": list(status.active_members),
        "preferred": status.preferred,
        "on_preferred": status.on_preferred,
        "failovers_total": status.failovers_total,
        "last_failover_at": status.last_failover_at,
        "flapping": status.flapping,
        "since": status.since,
        "evaluated_at": status.evaluated_at,
        "members": [member_json(m) for m in status.members],
        "virtual_ip_probes": [probe_json(p) for p in status.vip_probes],
        "intent": {"in_sync": status.intent.in_sync, "reasons": list(status.intent.reasons)},
    }


def transition_json(t: Transition) -> dict[str, Any]:
    return {
        "pair": t.pair,
        "at": t.at,
        "from": t.old.value if t.old else None,
        "to": t.new.value,
        "reasons": list(t.reasons),
        "active": list(t.active),
    }


def config_json(status: ConfigStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "in_sync": status.in_sync,
        "checked_at": status.checked_at,
        "reason": status.reason,
        "diff_lines": len(status.diff),
    }


def pairs_json(snapshot: Snapshot) -> dict[str, Any]:
    pairs = []
    for name in sorted(snapshot.pairs):
        data = pair_json(snapshot.pairs[name])
        data["config"] = config_json(snapshot.configs.get(name))
        pairs.append(data)
    return _safe(
        {
            "taken_at": snapshot.taken_at,
            "pairs": pairs,
            "pending": sorted(set(snapshot.specs) - set(snapshot.pairs)),
        }
    )


def status_json(snapshot: Snapshot) -> dict[str, Any]:
    data = pairs_json(snapshot)
    data["devices"] = json_safe(
        [
            {
                "device": d.device,
                "up": d.up,
                "reason": d.last_reason,
                "detail": d.last_detail,
                "last_attempt_at": d.last_attempt_at,
                "last_success_at": dict(d.last_success_at),
            }
            for d in sorted(snapshot.devices.values(), key=lambda d: d.device)
        ]
    )
    data["transitions"] = json_safe([transition_json(t) for t in snapshot.transitions[-50:]])
    return data
