"""Plain-data views of a snapshot, shared by the HTTP API and `netmon check --json`.

Only bounded, secret-free facts: names, states, roles, reasons, timestamps.
"""

from __future__ import annotations

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
    return {
        "taken_at": snapshot.taken_at,
        "pairs": pairs,
        "pending": sorted(set(snapshot.specs) - set(snapshot.pairs)),
    }


def status_json(snapshot: Snapshot) -> dict[str, Any]:
    data = pairs_json(snapshot)
    data["devices"] = [
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
    data["transitions"] = [transition_json(t) for t in snapshot.transitions[-50:]]
    return data
