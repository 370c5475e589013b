"""Review findings for netmon/pager.py: a hostile or flaky environment (a wall clock stepped
back, an Alertmanager or DNS name that hangs, an answer that is garbage) must not stop, delay or
garble the pages netmon sends directly."""

from __future__ import annotations

import email.message
import json
import logging
import threading
import time
import urllib.error
from dataclasses import replace

import pytest

from netmon.model import PairState
from netmon.pager import LIFETIME, RESEND, Pager, Target, alert

from .test_pager import PAGE, T0, samples, snap, status

SPLIT = snap(status(PairState.SPLIT_BRAIN))


def test_a_clock_stepped_back_does_not_stop_the_renewals() -> None:
    """NTP steps a clock that ran an hour ahead back: the firing alert must still be renewed
    every RESEND, or it ends 20 s later while the split-brain goes on (and the heartbeat must
    not stop for an hour either)."""
    posted: list[bytes] = []
    pager = Pager(["http://am"], post=lambda _t, b: posted.append(b))
    pager.tick(SPLIT, T0 + 3600)  # sent with the wrong (ahead) clock
    assert len(posted) == 1
    back = T0  # the clock stepped back by an hour
    for second in range(int(RESEND) + 1):
        pager.tick(SPLIT, back + second)
    assert len(posted) >= 2, "no renewal after the clock stepped back"
    quiet = snap(status(PairState.HEALTHY))
    pager.tick(quiet, back + 10)
    n = len(posted)
    pager.tick(quiet, back + 10 + pager.heartbeat + 1)
    assert len(posted) == n + 1, "no heartbeat after the clock stepped back"


def test_starts_at_is_never_after_ends_at() -> None:
    """A state that began "in the future" (the clock stepped back since) would give
    startsAt > endsAt, which Alertmanager refuses (400: start time must be before end time)."""
    late = replace(status(PairState.SPLIT_BRAIN), since=T0 + 600)
    got = alert(late, T0)
    assert got["startsAt"] <= got["endsAt"]


def test_a_hanging_alertmanager_does_not_hold_back_the_pages_to_the_others() -> None:
    """The first Alertmanager's name takes long to resolve (getaddrinfo is not bounded by the
    socket timeout) or it answers a byte at a time: the second must get its page at once, and
    the tick must come back well within the alert's lifetime."""
    release = threading.Event()
    got: dict[str, float] = {}

    def post(target: Target, _body: bytes) -> None:
        if target.label == "http://slow":
            release.wait(30)
            raise OSError("timed out")
        got[target.label] = time.monotonic()

    pager = Pager(["http://slow", "http://fast"], post=post)
    started = time.monotonic()
    try:
        pager.tick(SPLIT, T0)
        took = time.monotonic() - started
        assert "http://fast" in got and got["http://fast"] - started < 1.0
        assert took < LIFETIME * RESEND / 2, f"one tick took {took:.1f} s"
        # The slow one is still busy: the next sends do not wait for it either, and it counts
        # as failing meanwhile.
        again = time.monotonic()
        pager.tick(SPLIT, T0 + RESEND)
        assert time.monotonic() - again < 1.0
        assert samples(pager)[("netmon_pager_up", "http://slow")] == 0
        assert samples(pager)[("netmon_pager_up", "http://fast")] == 1
    finally:
        release.set()


def test_any_failure_of_a_post_is_counted_never_the_pager_s_death(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The daemon's paging task has no guard: an exception out of tick() ends it, and with it
    every direct page, while netmon_pager_up stays at its last value (1)."""

    def post(_target: Target, _body: bytes) -> None:
        raise RuntimeError("something unforeseen in http.client")

    pager = Pager(["http://am"], post=post)
    pager.tick(SPLIT, T0)  # must not raise
    assert samples(pager)[("netmon_pager_up", "http://am")] == 0
    assert samples(pager)[("netmon_pager_send_failures_total", "http://am")] == 1
    bad = replace(status(PairState.SPLIT_BRAIN), since=float("nan"))
    pager.tick(snap(bad), T0 + 10)  # an alert that cannot be built: logged, not raised
    assert any("failed" in r.getMessage() for r in caplog.records)


def test_a_hostile_reason_phrase_is_cut_and_cannot_forge_log_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reason = "A" * 70_000 + "\r2026-12-04 ERROR netmon forged line\x1b[2J"

    def post(target: Target, _body: bytes) -> None:
        raise urllib.error.HTTPError(target.endpoint, 500, reason, email.message.Message(), None)

    caplog.set_level(logging.INFO, logger="netmon.pager")
    pager = Pager(["http://am"], post=post)
    pager.send(PAGE, T0)
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(line) < 1000, len(line)
    assert "\r" not in line and "\x1b" not in line


def test_alerts_body_is_plain_json_list() -> None:
    posted: list[bytes] = []
    pager = Pager(["http://am"], post=lambda _t, b: posted.append(b))
    pager.tick(SPLIT, T0)
    (one,) = json.loads(posted[0])
    assert set(one) == {"labels", "annotations", "startsAt", "endsAt"}
