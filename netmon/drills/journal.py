"""The drill journal: SQLite in WAL mode, each step written before it is taken.

A drill that dies half-way (kill -9, a power cut) leaves a row without a result and the restore
actions it recorded before acting; the next drill command, or the daemon at start, finds it and
restores the pair. Audit rows carry who ran what, from where, when; never a secret.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS drills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pair TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    result TEXT,                 -- passed | failed | aborted | needs_attention; NULL while running
    os_user TEXT NOT NULL,
    host TEXT NOT NULL,
    active_member TEXT,
    standby_member TEXT,
    restore_actions TEXT NOT NULL DEFAULT '[]',  -- JSON, written before the demotion
    report TEXT                  -- JSON, the final report
);
CREATE TABLE IF NOT EXISTS steps (
    drill_id INTEGER NOT NULL REFERENCES drills(id),
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,          -- check | act | watch | restore | verify | abort | note
    text TEXT NOT NULL,
    status TEXT NOT NULL,        -- pending | done | failed
    PRIMARY KEY (drill_id, seq)
);
-- The audit trail is append-only through netmon: no path updates or deletes a step's text.
CREATE TRIGGER IF NOT EXISTS steps_text_is_final BEFORE UPDATE OF text, kind, at ON steps
BEGIN SELECT RAISE(ABORT, 'drill journal steps cannot be edited'); END;
CREATE TRIGGER IF NOT EXISTS steps_are_kept BEFORE DELETE ON steps
BEGIN SELECT RAISE(ABORT, 'drill journal steps cannot be deleted'); END;
"""


@dataclass(frozen=True)
class DrillRow:
    id: int
    pair: str
    started_at: float
    finished_at: float | None
    result: str | None
    os_user: str
    host: str
    active_member: str | None
    standby_member: str | None
    restore_actions: list[dict[str, Any]]
    report: dict[str, Any] | None


def journal_path(configured: str, override: Path | None = None) -> Path:
    """The journal of an inventory: --journal, else the inventory's drills.journal, else the
    per-user state folder."""
    if override is not None:
        return override
    if configured:
        return Path(configured)
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "netmon" / "drills.sqlite"


def latest_drills(path: Path) -> dict[str, DrillRow]:
    """The latest drill of each pair, read through a connection of its own (any thread)."""
    if not path.exists():
        return {}
    journal = Journal(path)
    try:
        return journal.last_by_pair()
    finally:
        journal.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a step on disk before the action it names
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def db_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def start(self, pair: str, active: str | None, standby: str | None) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO drills (pair, started_at, os_user, host, active_member, standby_member) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (pair, time.time(), _user(), socket.gethostname(), active, standby),
            )
            return int(cursor.lastrowid or 0)

    def set_restore(self, drill_id: int, actions: list[dict[str, Any]]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE drills SET restore_actions = ? WHERE id = ?",
                (json.dumps(actions), drill_id),
            )

    def step(self, drill_id: int, kind: str, text: str, status: str = "pending") -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE drill_id = ?", (drill_id,)
            ).fetchone()
            seq = int(row[0])
            db.execute(
                "INSERT INTO steps (drill_id, seq, at, kind, text, status) VALUES (?, ?, ?, ?, ?, ?)",
                (drill_id, seq, time.time(), kind, text, status),
            )
            return seq

    def mark(self, drill_id: int, seq: int, status: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE steps SET status = ? WHERE drill_id = ? AND seq = ?",
                (status, drill_id, seq),
            )

    def finish(self, drill_id: int, result: str, report: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE drills SET finished_at = ?, result = ?, report = ? WHERE id = ?",
                (time.time(), result, json.dumps(report), drill_id),
            )

    def _row(self, values: tuple[Any, ...]) -> DrillRow:
        actions = _json(values[9] or "[]")
        report = _json(values[10]) if values[10] else None
        return DrillRow(
            id=values[0], pair=values[1], started_at=values[2], finished_at=values[3], result=values[4],
            os_user=values[5], host=values[6], active_member=values[7], standby_member=values[8],
            # Damaged (edited) JSON is no restore to take values from and no report: recovery
            # then finds no original value and asks for a person; every other drill goes on.
            restore_actions=[a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else [],
            report=report if isinstance(report, dict) else None,
        )  # fmt: skip

    _COLUMNS = (
        "id, pair, started_at, finished_at, result, os_user, host, active_member, "
        "standby_member, restore_actions, report"
    )

    def drills(self, limit: int = 50) -> list[DrillRow]:
        rows = self._db.execute(
            f"SELECT {self._COLUMNS} FROM drills ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [self._row(r) for r in rows]

    def drill(self, drill_id: int) -> DrillRow | None:
        row = self._db.execute(
            f"SELECT {self._COLUMNS} FROM drills WHERE id = ?", (drill_id,)
        ).fetchone()
        return self._row(row) if row else None

    def unfinished(self) -> list[DrillRow]:
        rows = self._db.execute(
            f"SELECT {self._COLUMNS} FROM drills WHERE result IS NULL ORDER BY id"
        )
        return [self._row(r) for r in rows]

    def blocked(self, pair: str) -> DrillRow | None:
        """A drill on this pair that could not be restored: further drills wait for a person."""
        row = self._db.execute(
            f"SELECT {self._COLUMNS} FROM drills WHERE pair = ? AND result = 'needs_attention' "
            "ORDER BY id DESC LIMIT 1",
            (pair,),
        ).fetchone()
        return self._row(row) if row else None

    def resolve(self, drill_id: int, note: str) -> None:
        """A person checked the pair by hand: record it, and allow drills again."""
        with self._tx() as db:
            db.execute(
                "UPDATE drills SET result = 'aborted' WHERE id = ? AND result = 'needs_attention'",
                (drill_id,),
            )
        self.step(drill_id, "note", f"resolved by hand: {note}", "done")

    def steps(self, drill_id: int) -> list[tuple[int, float, str, str, str]]:
        rows = self._db.execute(
            "SELECT seq, at, kind, text, status FROM steps WHERE drill_id = ? ORDER BY seq",
            (drill_id,),
        )
        return [(int(r[0]), float(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]

    def last_by_pair(self) -> dict[str, DrillRow]:
        """The latest drill of each pair (for the daemon's drill metrics)."""
        out: dict[str, DrillRow] = {}
        for row in reversed(self.drills(limit=1000)):
            out[row.pair] = row
        return out


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
