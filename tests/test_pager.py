"""What netmon pages Alertmanager with directly (netmon/pager.py): pure logic, a fake POST."""

from __future__ import annotations

from dataclasses import replace

from netmon.model import (
    MemberObservation,
    MemberView,
    Mode,
    PairState,
    PairStatus,
    Role,
)
from netmon.pager import Pager, alert, pages
from netmon.store import Snapshot

T0 = 1_000_000.0


def status(state: PairState, roles: tuple[Role, Role] = (Role.ACTIVE, Role.ACTIVE)) -> PairStatus:
    members = tuple(
        MemberObservation(m, m, MemberView(r), T0) for m, r in zip(("r1", "r2"), roles, strict=True)
    )
    return PairStatus("core", "vrrp", Mode.ACTIVE_STANDBY, state, (), members, (), T0, T0 - 5)


def snap(*statuses: PairStatus) -> Snapshot:
    return Snapshot(T0, {s.pair: s for s in statuses}, {}, {}, {}, ())


def test_only_evidence_pages_and_labels_are_the_rules() -> None:
    assert pages(status(PairState.SPLIT_BRAIN))
    assert pages(status(PairState.DOWN, (Role.STANDBY, Role.FAULT)))
    # The rule's `unless`: a member netmon cannot see never lets `down` page.
    assert not pages(status(PairState.DOWN, (Role.STANDBY, Role.UNREACHABLE)))
    assert not pages(status(PairState.DOWN, (Role.UNKNOWN, Role.STANDBY)))
    for state in (PairState.HEALTHY, PairState.DEGRADED, PairState.UNKNOWN):
        assert not pages(status(state))
    got = alert(status(PairState.SPLIT_BRAIN), T0, firing=True, resend=10)
    assert got["labels"] == {
        "alertname": "NetmonPairSplitBrain",
        "pair": "core",
        "severity": "page",
    }
    assert got["startsAt"].endswith("Z") and got["endsAt"] > got["startsAt"]


def test_a_change_is_sent_at_once_then_every_resend_and_a_resolve_once() -> None:
    sent: list[tuple[str, bytes]] = []
    pager = Pager(["http://am1", "http://am2"], resend=10, post=lambda u, b: sent.append((u, b)))
    bad = snap(status(PairState.SPLIT_BRAIN))
    assert len(pager.due(bad, T0)) == 1  # new: at once
    assert pager.due(bad, T0 + 1) == []  # unchanged: not before the resend
    assert len(pager.due(bad, T0 + 10)) == 1  # renewed
    good = snap(replace(status(PairState.HEALTHY)))
    (resolved,) = pager.due(good, T0 + 11)
    assert resolved["endsAt"] == "1970-01-12T13:46:51Z"  # ends now (T0 + 11)
    assert pager.due(good, T0 + 30) == []  # resolved once, then nothing
    pager.send([alert(status(PairState.SPLIT_BRAIN), T0, firing=True)])
    assert [u for u, _ in sent] == ["http://am1", "http://am2"]  # every Alertmanager


def test_an_alertmanager_that_fails_is_logged_once_and_the_others_still_get_pages() -> None:
    sent: list[str] = []

    def post(url: str, _body: bytes) -> None:
        if url == "http://down":
            raise OSError("connection refused")
        sent.append(url)

    pager = Pager(["http://down", "http://up"], post=post)
    page = [alert(status(PairState.SPLIT_BRAIN), T0, firing=True)]
    pager.send(page)
    pager.send(page)
    assert sent == ["http://up", "http://up"]
    assert pager.failed == {"http://down": True, "http://up": False}
