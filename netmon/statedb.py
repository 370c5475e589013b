"""Where netmon keeps what must outlive a process: the drill journal, the pair history, drill leases.

One process alone keeps them in SQLite files (WAL), as it always has: no service to run. Replicas
share them on PostgreSQL (psycopg 3) when a DSN is configured. Both are the same code path: the
SQL is written once with `?` placeholders and `{now}` for the database's clock, and each backend
translates it. Every error of either driver leaves this module as `StateError`, which names the
database by a masked location (host, port, database name), never the DSN's password.

Schemas are versioned per component (journal, history): each migration runs once, in order,
under a lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so replicas starting at
the same moment apply it once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import conninfo_to_dict

from netmon.errors import NetmonError
from netmon.model import Secret

# PostgreSQL answers within these or the call is an error (the caller decides what to do): a
# stuck database must not hold a drill or the history writer forever.
PG_CONNECT_TIMEOUT = 3  # seconds (libpq takes whole seconds)
PG_STATEMENT_TIMEOUT_MS = 5000

_NOW = {
    # SQLite's julianday has millisecond resolution, enough for leases of seconds.
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgres": "extract(epoch from clock_timestamp())::double precision",
}


class StateError(NetmonError):
    """The journal, history or lease database could not be used; the message names which one."""


# The PostgreSQL trigger function behind the append-only tables of the journal and the history
# (SQLite's triggers RAISE inline): the refusal's text is the trigger's argument.
PG_REFUSE = """
CREATE OR REPLACE FUNCTION netmon_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
"""


@dataclass(frozen=True)
class Migration:
    version: int
    sqlite: str
    postgres: str


class _Cursor(Protocol):
    def execute(self, sql: str, args: Sequence[object] = ...) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Tx:
    """Statements inside one transaction."""

    def __init__(self, db: Database, cursor: _Cursor) -> None:
        self._db = db
        self._cursor = cursor

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._db.sql(sql), tuple(args))
        if getattr(self._cursor, "description", None) is None:
            return []
        return [tuple(r) for r in self._cursor.fetchall()]

    def run(self, sql: str, args: Sequence[object] = ()) -> None:
        self._cursor.execute(self._db.sql(sql), tuple(args))

    def script(self, sql: str) -> None:
        self._cursor.execute(sql)


class Database:
    """One connection to SQLite or PostgreSQL, usable from any thread (calls are serialised)."""

    kind: str
    where: str

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # -- the dialect ----------------------------------------------------------------------

    def sql(self, text: str) -> str:
        text = text.replace("{now}", _NOW[self.kind])
        return text.replace("?", "%s") if self.kind == "postgres" else text

    # -- use --------------------------------------------------------------------------------

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.tx() as tx:
            return tx.rows(sql, args)

    def run(self, sql: str, args: Sequence[object] = ()) -> None:
        with self.tx() as tx:
            tx.run(sql, args)

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        """Apply the migrations of `component` not yet applied; return the schema version."""
        with self.tx() as tx:
            self._lock_schema(tx, component)
            tx.run(
                "CREATE TABLE IF NOT EXISTS netmon_schema ("
                " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at DOUBLE PRECISION NOT NULL,"
                " PRIMARY KEY (component, version))"
            )
            done = {int(r[0]) for r in tx.rows(
                "SELECT version FROM netmon_schema WHERE component = ?", (component,)
            )}  # fmt: skip
            for step in sorted(migrations, key=lambda m: m.version):
                if step.version in done:
                    continue
                self._script(tx, step.sqlite if self.kind == "sqlite" else step.postgres)
                tx.run(
                    "INSERT INTO netmon_schema (component, version, applied_at) VALUES (?, ?, {now})",
                    (component, step.version),
                )
                done.add(step.version)
            return max(done, default=0)

    def _lock_schema(self, tx: Tx, component: str) -> None:
        pass

    def _script(self, tx: Tx, script: str) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path, *, synchronous: str = "NORMAL", timeout: float = 10.0) -> None:
        super().__init__()
        self.path = path
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._wal(timeout)
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: {exc}") from exc

    def _wal(self, timeout: float) -> None:
        """WAL mode. Switching a new file to it needs the file to itself and answers "database is
        locked" at once, not after the busy timeout, when another process (a daemon and a drill
        CLI starting together) opens it in the same moment: tried again until the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            else:
                return

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(f"{self.where}: {exc}") from exc
            try:
                yield Tx(self, self._conn.cursor())
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"{self.where}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"{self.where}: {exc}") from exc

    def _rollback(self) -> None:
        # No transaction may be left to roll back (the failed statement ended it).
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def _script(self, tx: Tx, script: str) -> None:
        # executescript would COMMIT the open transaction first: run statement by statement.
        for statement in _statements(script):
            tx.run(statement)

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _statements(script: str) -> list[str]:
    """A migration's statements, each whole (a trigger's BEGIN ... END; is one)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines():
        if not line.strip() or line.strip().startswith("--"):
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def mask_dsn(dsn: str) -> str:
    """host:port/dbname of a DSN (URI or key=value), for messages: never the user or password."""
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a DSN psycopg cannot parse is shown as nothing of itself
        return "postgresql (DSN not readable)"
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = str(parts.get("port") or 5432)
    return f"postgresql://{host}:{port}/{parts.get('dbname') or ''}"


class PostgresDatabase(Database):
    kind = "postgres"

    def __init__(self, dsn: Secret, application: str = "netmon") -> None:
        super().__init__()
        self._dsn = dsn
        self._application = application[:63]
        self.where = mask_dsn(dsn.reveal())
        # Connected on first use, and again after a broken connection: a database down at start
        # must not stop the daemon from watching (only drills and history writes wait for it).
        self._conn: Any = None

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        password = _password_of(self._dsn.reveal())
        if password:
            text = text.replace(password, "<secret>")
        return text.replace(self._dsn.reveal(), "<dsn>")

    def _connect(self) -> Any:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        if _password_of(self._dsn.reveal()) is None:
            # What cannot be parsed cannot be scrubbed from libpq's error either: not sent.
            raise StateError(
                f"{self.where}: the DSN cannot be parsed (in a URI, write a '%' in the password "
                "as %25, and '@', ':' or '/' percent-encoded)"
            )
        try:
            self._conn = psycopg.connect(
                self._dsn.reveal(),
                autocommit=True,
                connect_timeout=PG_CONNECT_TIMEOUT,
                application_name=self._application,
                options=f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}",
            )
        except psycopg.Error as exc:
            self._conn = None
            raise StateError(f"{self.where}: {self._scrub(exc)}") from None
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            conn = self._connect()
            try:
                with conn.transaction(), conn.cursor() as cursor:
                    yield Tx(self, cursor)
            except psycopg.Error as exc:
                if conn.broken:
                    self._conn = None  # the next call connects again
                raise StateError(f"{self.where}: {self._scrub(exc)}") from None

    def _lock_schema(self, tx: Tx, component: str) -> None:
        # One lock for every component, not one each: the journal and the history share
        # netmon_schema and netmon_refuse(), and a daemon's history writer and a drill CLI
        # migrating a new database at once collided on them (a test holds it).
        del component
        tx.rows("SELECT pg_advisory_xact_lock(?)", (zlib.crc32(b"netmon:schema"),))

    def _script(self, tx: Tx, script: str) -> None:
        # Without parameters psycopg sends the script as one simple query: every statement runs.
        tx.script(script)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _password_of(dsn: str) -> str | None:
    """The DSN's password ("" without one), or None when the DSN cannot be parsed."""
    try:
        return str(conninfo_to_dict(dsn).get("password") or "")
    except Exception:  # noqa: BLE001 - the caller refuses a DSN it cannot read
        return None


@dataclass(frozen=True)
class StateConfig:
    """Where the shared state lives: a PostgreSQL DSN, or SQLite files next to the journal."""

    dsn: Secret | None = None

    @property
    def shared(self) -> bool:
        return self.dsn is not None


def open_database(
    config: StateConfig, sqlite_path: Path, *, synchronous: str = "NORMAL"
) -> Database:
    """PostgreSQL when a DSN is configured, else the SQLite file at `sqlite_path`."""
    if config.dsn is not None:
        return PostgresDatabase(config.dsn)
    return SqliteDatabase(sqlite_path, synchronous=synchronous)
