"""What /api/v1/pairs and `netmon check --json` say of each member: `ready` only where it means
something, and what the device reported (peer, identity)."""

from __future__ import annotations

import pytest

from netmon.model import MemberObservation, MemberView, Role
from netmon.report import member_json


@pytest.mark.parametrize(
    ("role", "ready", "fresh", "expected"),
    [
        (Role.STANDBY, True, True, True),
        (Role.STANDBY, False, True, False),
        (Role.ACTIVE, True, True, True),
        (Role.ACTIVE, False, True, False),  # e.g. HSRP: the active knows no standby
        (Role.FAULT, True, True, None),
        (Role.UNKNOWN, True, True, None),
        (Role.UNREACHABLE, True, True, None),
        (Role.STANDBY, True, False, None),  # stale: no longer a reading
    ],
)
def test_ready_only_for_a_fresh_active_or_standby(
    role: Role, ready: bool, fresh: bool, expected: bool | None
) -> None:
    obs = MemberObservation("b", "r2", MemberView(role, ready=ready), at=1.0, fresh=fresh)
    assert member_json(obs)["ready"] is expected


def test_member_json_says_whom_it_hears_and_what_the_device_reported() -> None:
    view = MemberView(Role.STANDBY, peer_active="10.99.0.11", identity="local unit 1, peer unit 2")
    data = member_json(MemberObservation("b", "r2", view, at=1.0))
    assert data["peer_active"] == "10.99.0.11"
    assert data["identity"] == "local unit 1, peer unit 2"
