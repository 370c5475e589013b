"""The pair history file: what is written, that it cannot be edited, and that a broken file
never stops a poll."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from netmon.evaluate import transition
from netmon.history import History, record_change
from netmon.model import Mode, PairState, PairStatus

from .conftest import REPO, require


def status(state: PairState, active: tuple[str, ...], at: float, failovers: int) -> PairStatus:
    return PairStatus(
        "core", "keepalived", Mode.ACTIVE_STANDBY, state, (), (), active, at, at,
        failovers_total=failovers,
    )  # fmt: skip


def test_state_changes_and_failovers_are_kept_in_order(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite")
    first = status(PairState.HEALTHY, ("r1",), 10.0, 0)
    record_change(history, None, first, transition(None, first))
    lost = replace(status(PairState.DEGRADED, ("r1",), 20.0, 0), reasons=("r2: unreachable",))
    record_change(history, first, lost, transition(first, lost))
    moved = status(PairState.DEGRADED, ("r2",), 30.0, 1)  # same state, new active member
    record_change(history, lost, moved, transition(lost, moved))
    history.close()

    events = History(tmp_path / "history.sqlite").events("core")  # as a restart reads it
    assert [(e.event, e.old, e.new) for e in events] == [
        ("state", None, "healthy"),
        ("state", "healthy", "degraded"),
        ("failover", "r1", "r2"),
    ]
    assert events[1].reasons == ("r2: unreachable",)
    assert History(tmp_path / "history.sqlite").events("other") == []


def test_rows_cannot_be_edited_or_deleted(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite")
    first = status(PairState.HEALTHY, ("r1",), 10.0, 0)
    record_change(history, None, first, transition(None, first))
    history.close()
    conn = sqlite3.connect(tmp_path / "history.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="cannot be edited"):
        conn.execute("UPDATE events SET new = 'split_brain'")
    with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
        conn.execute("DELETE FROM events")
    conn.close()


def test_a_history_that_cannot_be_written_never_stops_the_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    history = History(tmp_path / "history.sqlite")
    history.close()  # every write now fails with sqlite3.ProgrammingError
    first = status(PairState.HEALTHY, ("r1",), 10.0, 0)
    record_change(history, None, first, transition(None, first))
    assert "could not write the history" in caplog.text


@pytest.mark.root
def test_a_full_disk_is_logged_the_poll_goes_on_and_writing_resumes_with_space(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real full filesystem (a 512 KB tmpfs filled to its last byte), not a closed handle:
    SQLite's own "database or disk is full" is logged naming the pair and the file, the poll that
    found the change goes on, and once space is back the next change is written."""
    require(os.geteuid() == 0, "mounting a small tmpfs needs root")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(small)], check=True)
    history: History | None = None
    try:
        history = History(small / "history.sqlite")
        first = status(PairState.HEALTHY, ("r1",), 10.0, 0)
        record_change(history, None, first, transition(None, first))
        filler = small / "filler"
        with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
            while out.write(b"\0" * 4096):  # to the last byte: ENOSPC ends it
                pass
        lost = replace(status(PairState.DEGRADED, ("r1",), 20.0, 0), reasons=("r2: down",))
        record_change(history, first, lost, transition(first, lost))  # must not raise
        assert (
            f"pair core: could not write the history to {small / 'history.sqlite'}" in caplog.text
        )
        assert "database or disk is full" in caplog.text
        filler.unlink()
        back = status(PairState.HEALTHY, ("r1",), 30.0, 0)
        record_change(history, lost, back, transition(lost, back))
        assert [(e.old, e.new) for e in history.events("core")][-1] == ("degraded", "healthy")
    finally:
        if history is not None:
            history.close()
        subprocess.run(["umount", str(small)], check=True)


def test_drills_learn_the_last_failover_from_the_history_without_a_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drill's pre-check (no drill right after a failover) works when the daemon is down or
    asks for a password: the pair history file remembers the failover."""
    from netmon.cli import _close_runner, _drill_context

    monkeypatch.setenv("HOME", str(tmp_path))  # demo.yaml reads its community from ~
    kept = tmp_path / ".local" / "state" / "netmon" / "demo-community"
    kept.parent.mkdir(parents=True)
    kept.write_text("history-test\n")

    journal = tmp_path / "drills.sqlite"
    history = History(tmp_path / "history.sqlite")
    before = status(PairState.HEALTHY, ("core-r1",), 100.0, 0)
    after = status(PairState.HEALTHY, ("core-r2",), 200.0, 1)
    record_change(history, before, replace(after, pair="core-gw"), None)
    history.close()
    _, _, runner = _drill_context(REPO / "inventory" / "demo.yaml", journal, "127.0.0.1:9")
    try:
        assert runner.last_failover_at("core-gw") == 200.0
        assert runner.last_failover_at("dc-edge") is None
    finally:
        _close_runner(runner)
