"""The shared state on a real PostgreSQL (and, where cheap, the same on SQLite): migrations,
the append-only drill journal, drill leases across processes, the history of several replicas,
a database restart under the history writer, and errors that never show the DSN's secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netmon.drills import journal as journal_mod
from netmon.drills.journal import Journal, LeaseHeld, holder_name
from netmon.history import MIGRATIONS as HISTORY_MIGRATIONS
from netmon.history import History
from netmon.model import PairState, Secret, Transition
from netmon.statedb import (
    Database,
    PostgresDatabase,
    SqliteDatabase,
    StateConfig,
    StateError,
    mask_dsn,
    open_database,
)

from .conftest import REPO, free_tcp_port
from .pg import Postgres, postgres  # noqa: F401

pytestmark = pytest.mark.daemon


def secret(dsn: str) -> Secret:
    return Secret(source="env:NETMON_PG_DSN", value=dsn)


# A backend: a factory of connections to one fresh database (each call: a new connection), and
# the location a child process opens ("pg:DSN" or "sqlite:PATH").
Opener = tuple[Callable[[], Database], str]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite"
        yield (lambda: SqliteDatabase(path)), f"sqlite:{path}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    dsn = server.fresh_db()
    yield (lambda: open_database(StateConfig(dsn=secret(dsn)), tmp_path / "unused")), f"pg:{dsn}"


def change(pair: str, at: float, new: PairState = PairState.HEALTHY) -> Transition:
    return Transition(pair, at, None, new, ("seen",), ("r1",))


# A child process: opens the backend named in argv[1], waits until the wall clock reaches
# argv[2] (so children act at the same moment), runs the snippet, prints one JSON line.
CHILD = """
import json, sys, time
from pathlib import Path
from netmon.model import Secret
from netmon.statedb import PostgresDatabase, SqliteDatabase
where, at = sys.argv[1], float(sys.argv[2])
kind, _, loc = where.partition(":")
db = (PostgresDatabase(Secret("env:NETMON_PG_DSN", loc)) if kind == "pg"
      else SqliteDatabase(Path(loc)))
db.rows("SELECT 1")  # connected before the start line
time.sleep(max(0.0, at - time.time()))
"""


def run_children(
    where: str, snippet: str, count: int = 2, envs: list[dict[str, str]] | None = None
) -> list[dict[str, object]]:
    script = CHILD + textwrap.dedent(snippet)
    envs = envs or [{}] * count
    at = time.time() + 2.0  # every child has started and connected by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, where, str(at)],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    # Every child is waited for (and its pipes closed) before any is judged: one left behind
    # would be reaped by the garbage collector during a later test, and fail that one.
    done = [(proc, *proc.communicate(timeout=60)) for proc in procs]
    out = []
    for proc, stdout, stderr in done:
        assert proc.returncode == 0, stderr[-2000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


# -- migrations ------------------------------------------------------------------------------


def test_migrations_apply_once_and_report_the_version(backend: Opener) -> None:
    opener, _ = backend
    journal = Journal(opener())
    history = History(opener())
    try:
        assert journal.db_mode() in ("wal", "postgres")
        assert history.events() == []
        for _ in range(2):
            assert journal.db.migrate("journal", journal_mod.MIGRATIONS) == 2
            assert history.db.migrate("history", HISTORY_MIGRATIONS) == 2
        rows = journal.db.rows(
            "SELECT component, version, COUNT(*) FROM netmon_schema"
            " GROUP BY component, version ORDER BY component, version"
        )
        assert [tuple(r) for r in rows] == [
            ("history", 1, 1), ("history", 2, 1), ("journal", 1, 1), ("journal", 2, 1),
        ]  # fmt: skip
    finally:
        journal.close()
        history.close()


def test_two_processes_migrating_one_fresh_database_both_succeed(backend: Opener) -> None:
    opener, where = backend
    results = run_children(
        where,
        """
        from netmon.drills.journal import MIGRATIONS as J
        from netmon.history import MIGRATIONS as H
        print(json.dumps({"journal": db.migrate("journal", J), "history": db.migrate("history", H)}))
        db.close()
        """,
    )
    assert results == [{"journal": 2, "history": 2}] * 2
    db = opener()
    try:
        rows = db.rows(
            "SELECT component, version, COUNT(*) FROM netmon_schema"
            " GROUP BY component, version ORDER BY component, version"
        )
        assert [tuple(r) for r in rows] == [
            ("history", 1, 1), ("history", 2, 1), ("journal", 1, 1), ("journal", 2, 1),
        ]  # fmt: skip
    finally:
        db.close()


# -- the drill journal -----------------------------------------------------------------------


def test_journal_round_trips_and_its_steps_are_append_only(backend: Opener) -> None:
    opener, _ = backend
    journal = Journal(opener(), replica="replica-a")
    try:
        drill = journal.start("core", "r1", "r2")
        journal.set_restore(drill, [{"member": "r1", "priority": 150}])
        first = journal.step(drill, "check", "both members answer")
        second = journal.step(drill, "act", "demote r1", "pending")
        journal.mark(drill, second, "done")  # the status may change; the text never
        journal.finish(drill, "passed", {"took": 1.5})
        assert (first, second) == (1, 2)
        row = journal.drill(drill)
        assert row is not None
        assert (row.pair, row.active_member, row.standby_member) == ("core", "r1", "r2")
        assert row.restore_actions == [{"member": "r1", "priority": 150}]
        assert (row.result, row.report, row.replica) == ("passed", {"took": 1.5}, "replica-a")
        assert row.finished_at is not None and row.finished_at >= row.started_at
        assert [(s[0], s[2], s[3], s[4]) for s in journal.steps(drill)] == [
            (1, "check", "both members answer", "pending"),
            (2, "act", "demote r1", "done"),
        ]
        assert journal.unfinished() == []
        assert journal.last_by_pair()["core"].id == drill

        with pytest.raises(StateError, match="cannot be edited"):
            journal.db.run(
                "UPDATE steps SET text = 'nothing happened' WHERE drill_id = ?", (drill,)
            )
        with pytest.raises(StateError, match="cannot be deleted"):
            journal.db.run("DELETE FROM steps WHERE drill_id = ?", (drill,))
        # The refused statements left the connection usable and the steps as they were.
        assert [s[3] for s in journal.steps(drill)] == ["both members answer", "demote r1"]
    finally:
        journal.close()


# -- leases ----------------------------------------------------------------------------------


def test_leases_are_held_renewed_and_expire(backend: Opener) -> None:
    opener, _ = backend
    journal = Journal(opener())
    try:
        a, b = "holder-A (pid 1 on a)", "holder-B (pid 2 on b)"
        journal.acquire("core", a, ttl=30.0)
        with pytest.raises(LeaseHeld, match=r"holder-A \(pid 1 on a\)") as held:
            journal.acquire("core", b, ttl=30.0)
        assert held.value.lease.holder == a
        assert journal.renew("core", a, ttl=1.0) is True
        assert journal.renew("core", b, ttl=1.0) is False
        lease = journal.lease("core")
        assert lease is not None and lease.holder == a and 0 < lease.expires_in <= 1.0
        time.sleep(1.3)
        assert journal.lease("core") is None
        journal.acquire("core", b, ttl=30.0)  # A's lease expired: B takes the pair
        assert journal.renew("core", a) is False
        lease = journal.lease("core")
        assert lease is not None and lease.holder == b
        journal.release("core", b)
        assert journal.lease("core") is None
    finally:
        journal.close()


def test_orphaned_lists_unfinished_drills_whose_lease_expired(backend: Opener) -> None:
    opener, _ = backend
    journal = Journal(opener())
    try:
        dead = journal.start("edge", "r1", "r2")
        live = journal.start("core", "r3", "r4")
        done = journal.start("dmz", "r5", "r6")
        journal.finish(done, "passed", {})
        # Holders on another host (as the database records them): only the database's clock
        # tells them apart (a holder alive on this host is never orphaned: test_state_attacks).
        journal.acquire("edge", "gone-replica", dead, ttl=1.0)
        journal.acquire("core", "live-replica", live, ttl=60.0)
        journal.db.run("UPDATE leases SET proc = 'elsewhere:4242:1'")
        assert journal.orphaned() == []
        time.sleep(1.3)
        assert [d.id for d in journal.orphaned()] == [dead]
        assert [d.id for d in journal.unfinished()] == [dead, live]
    finally:
        journal.close()


def test_two_drills_at_once_on_one_pair_one_wins(backend: Opener) -> None:
    opener, where = backend
    Journal(opener()).close()  # migrations are not what this test races
    results = run_children(
        where,
        """
        import os
        from netmon.drills.journal import Journal, LeaseHeld, holder_name
        journal = Journal(db)
        me = holder_name(f"replica-{os.getpid()}")
        try:
            journal.acquire("core", me, ttl=30.0)
            print(json.dumps({"won": True, "holder": me}))
        except LeaseHeld as exc:
            print(json.dumps({"won": False, "holder": me, "error": str(exc),
                              "other": exc.lease.holder}))
        journal.close()
        """,
    )
    winners = [r for r in results if r["won"]]
    losers = [r for r in results if not r["won"]]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0]["other"] == winners[0]["holder"]
    assert str(winners[0]["holder"]) in str(losers[0]["error"])
    journal = Journal(opener())
    try:
        lease = journal.lease("core")
        assert lease is not None and lease.holder == winners[0]["holder"]
    finally:
        journal.close()


# -- the history -----------------------------------------------------------------------------


def test_history_rows_of_two_replicas_come_back_with_their_replica(backend: Opener) -> None:
    opener, _ = backend
    a, b = History(opener(), replica="a"), History(opener(), replica="b")
    try:
        a.record_transition(change("core", 10.0))
        b.record_transition(change("core", 11.0, PairState.DEGRADED))
        a.record_transition(change("edge", 12.0))
        for reader in (a, b):
            assert [(e.pair, e.new, e.replica) for e in reader.events()] == [
                ("core", "healthy", "a"), ("core", "degraded", "b"), ("edge", "healthy", "a"),
            ]  # fmt: skip
            assert [e.replica for e in reader.events("core")] == ["a", "b"]
        with pytest.raises(StateError, match="cannot be edited"):
            a.db.run("UPDATE events SET new = 'split_brain'")
        with pytest.raises(StateError, match="cannot be deleted"):
            b.db.run("DELETE FROM events")
    finally:
        a.close()
        b.close()


def test_history_writer_queues_rows_while_postgres_restarts(
    postgres: Postgres,  # noqa: F811
) -> None:
    dsn = postgres.fresh_db()
    history = History(PostgresDatabase(secret(dsn)), replica="a")
    history.background()
    try:
        history.record_transition(change("core", 1.0))
        assert history.flush(10.0)
        assert history.stats.written == 1 and not history.stats.failing
        postgres.stop()
        try:
            for i in range(20):
                history.record_transition(change("core", 2.0 + i))
            deadline = time.monotonic() + 15
            while not history.stats.failing and time.monotonic() < deadline:
                time.sleep(0.05)
            assert history.stats.failing
            assert history.stats.written == 1
            assert history.stats.dropped == 0
            time.sleep(1.0)  # a retry or two against a server that is away
        finally:
            postgres.start()
        assert history.flush(30.0)
        assert not history.stats.failing
        assert (history.stats.written, history.stats.dropped, history.stats.queued) == (21, 0, 0)
        rows = history.db.rows("SELECT at, replica FROM events ORDER BY at")
        assert [(float(r[0]), r[1]) for r in rows] == [(1.0 + i, "a") for i in range(21)]
    finally:
        history.close()


# -- errors never carry the secret -----------------------------------------------------------


def test_errors_name_the_masked_location_never_the_secret(
    postgres: Postgres,  # noqa: F811
) -> None:
    wrong = "Wr0ng-" + postgres.password[::-1]
    bad_password = postgres.dsn.replace(postgres.password, wrong)
    unreachable = f"postgresql://netmon:{postgres.password}@127.0.0.1:{free_tcp_port()}/netmon"
    for dsn, password in ((bad_password, wrong), (unreachable, postgres.password)):
        db = PostgresDatabase(secret(dsn))
        try:
            with pytest.raises(StateError) as raised:
                db.rows("SELECT 1")
            text = str(raised.value)
            assert password not in text and dsn not in text, text
            assert mask_dsn(dsn) in text, text
            assert mask_dsn(dsn) == f"postgresql://127.0.0.1:{dsn.rsplit(':', 1)[1]}"
            assert "<secret>" in repr(secret(dsn)) and password not in repr(db.__dict__)
            # Through the journal and the history too (migrations fail the same way).
            with pytest.raises(StateError) as raised:
                Journal(db).drills()
            assert password not in str(raised.value)
            assert mask_dsn(dsn) in str(raised.value)
        finally:
            db.close()
    journal = Journal(PostgresDatabase(secret(postgres.dsn)))
    try:
        assert journal.db_mode() == "postgres"
        assert journal.where == mask_dsn(postgres.dsn)
        assert holder_name("x").startswith("x (pid ")
    finally:
        journal.close()


@pytest.mark.parametrize("schema_exists", [False, True], ids=["fresh", "schema-table-exists"])
def test_journal_and_history_migrating_one_database_at_once(
    backend: Opener, schema_exists: bool
) -> None:
    """A replica's daemon migrates the history while a CLI on another host migrates the journal:
    two components, one netmon_schema (and one netmon_refuse) to create: one lock for both."""
    opener, where = backend
    if schema_exists:
        db = opener()
        try:
            assert db.migrate("nothing", ()) == 0  # creates netmon_schema only
        finally:
            db.close()
    snippet = """
        import os
        from netmon.drills.journal import MIGRATIONS as J
        from netmon.history import MIGRATIONS as H
        which = os.environ["WHICH"]
        print(json.dumps({which: db.migrate(which, J if which == "journal" else H)}))
        db.close()
        """
    results = run_children(where, snippet, envs=[{"WHICH": "journal"}, {"WHICH": "history"}])
    assert results == [{"journal": 2}, {"history": 2}]
    db = opener()
    try:
        rows = db.rows(
            "SELECT component, version, COUNT(*) FROM netmon_schema"
            " GROUP BY component, version ORDER BY component, version"
        )
        assert [tuple(r) for r in rows] == [
            ("history", 1, 1), ("history", 2, 1), ("journal", 1, 1), ("journal", 2, 1),
        ]  # fmt: skip
    finally:
        db.close()
