"""The pair history: every state change and every failover, in SQLite (WAL), append-only.

The daemon's counters and its in-memory transition list start again at every restart; this file
does not. `netmon history PAIR` reads it, so failovers seen before a kill -9 or a reboot are still
there afterwards. It lives next to the drill journal (`history.sqlite` in the same folder).
Rows carry pair and member names, states and reasons: never a secret.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netmon.model import PairStatus, Transition

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pair TEXT NOT NULL,
    at REAL NOT NULL,
    event TEXT NOT NULL,       -- state | failover
    old TEXT,                  -- state: the previous state (NULL at first sight); failover: members
    new TEXT NOT NULL,         -- state: the new state; failover: the new active members
    reasons TEXT NOT NULL,     -- JSON list
    active TEXT NOT NULL       -- JSON list: the active members after the event
);
CREATE INDEX IF NOT EXISTS events_by_pair ON events (pair, at);
CREATE TRIGGER IF NOT EXISTS events_are_final BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'pair history rows cannot be edited'); END;
CREATE TRIGGER IF NOT EXISTS events_are_kept BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'pair history rows cannot be deleted'); END;
"""


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    pair: str
    at: float
    event: str
    old: str | None
    new: str
    reasons: tuple[str, ...]
    active: tuple[str, ...]


def history_path(journal: Path) -> Path:
    return journal.with_name("history.sqlite")


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a committed row survives a process crash (kill -9); only a power cut
    # can lose the last moments, and the next poll writes the current state again.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


class History:
    """The writer (the daemon) and reader (the CLI) of one history file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = _connect(path)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _insert(self, row: tuple[object, ...]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO events (pair, at, event, old, new, reasons, active)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def record_transition(self, change: Transition) -> None:
        self._insert(
            (
                change.pair,
                change.at,
                "state",
                change.old.value if change.old else None,
                change.new.value,
                json.dumps(list(change.reasons)),
                json.dumps(list(change.active)),
            )
        )

    def record_failover(self, previous: PairStatus, current: PairStatus) -> None:
        self._insert(
            (
                current.pair,
                current.evaluated_at,
                "failover",
                ",".join(previous.active_members) or None,
                ",".join(current.active_members),
                json.dumps(list(current.reasons)),
                json.dumps(list(current.active_members)),
            )
        )

    def events(self, pair: str | None = None, limit: int = 100) -> list[HistoryEvent]:
        """The latest `limit` events (of one pair, or all), oldest first."""
        query = "SELECT id, pair, at, event, old, new, reasons, active FROM events"
        args: Sequence[object] = ()
        if pair is not None:
            query += " WHERE pair = ?"
            args = (pair,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(query, (*args, limit)).fetchall()
        return [_event(row) for row in reversed(rows)]


def _event(r: tuple[object, ...]) -> HistoryEvent:
    return HistoryEvent(
        id=int(str(r[0])),
        pair=str(r[1]),
        at=float(str(r[2])),
        event=str(r[3]),
        old=None if r[4] is None else str(r[4]),
        new=str(r[5]),
        reasons=tuple(json.loads(str(r[6]))),
        active=tuple(json.loads(str(r[7]))),
    )


def record_change(
    history: History | None,
    previous: PairStatus | None,
    current: PairStatus,
    change: Transition | None,
) -> None:
    """Write what changed between two verdicts. A history that cannot be written (disk full,
    a locked file) is logged, never allowed to stop the poll that found the change."""
    if history is None:
        return
    try:
        if change is not None:
            history.record_transition(change)
        if previous is not None and current.failovers_total > previous.failovers_total:
            history.record_failover(previous, current)
    except sqlite3.Error:
        log.exception("pair %s: could not write the history to %s", current.pair, history.path)
