"""A real PostgreSQL 15 (Debian's) for the tests of the shared state, started once per session.

Tests use it with `from .pg import postgres  # noqa: F401`. The server runs as the unprivileged
`postgres` user, its data and socket in a folder of its own, listening on 127.0.0.1 only, on a
port of this session's own; a role `netmon` (with a password) owns the database `netmon`.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import free_tcp_port, require

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
SUPERUSER_PASSWORD = secrets.token_urlsafe(18)


def _run(*args: str, cwd: Path, timeout: float = 60.0) -> None:
    done = subprocess.run(
        ["runuser", "-u", PG_USER, "--", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-800:]}")


@dataclass
class Postgres:
    """The server: its DSN, and levers to stop and start it again (same data)."""

    root: Path
    port: int
    password: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "run"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def dsn_of(self, dbname: str) -> str:
        return f"postgresql://netmon:{self.password}@127.0.0.1:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        return self.dsn_of("netmon")

    def start(self, timeout: float = 30.0) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets}"
            " -c fsync=off -c max_connections=50"
        )
        _run(
            str(PG_BIN / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", str(int(timeout)), "-o", options,
            cwd=self.root, timeout=timeout + 10,
        )  # fmt: skip
        self._wait(timeout)

    def stop(self) -> None:
        _run(
            str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", cwd=self.root
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _wait(self, timeout: float) -> None:
        """Until the server accepts a connection over TCP (not only its pid file)."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=PG_USER,
                    password=SUPERUSER_PASSWORD,
                    dbname="postgres",
                    connect_timeout=2,
                ) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    pytest.fail(f"PostgreSQL did not accept connections: {exc}")
                time.sleep(0.1)

    def admin(self, sql: str) -> None:
        """One statement as the superuser, over the Unix socket (peer-free: trust)."""
        import psycopg

        with psycopg.connect(
            host=str(self.sockets), port=self.port, user=PG_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def fresh_db(self) -> str:
        """A DSN of a new, empty database owned by netmon: one test's own."""
        name = f"netmon_t{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} OWNER netmon")
        return self.dsn_of(name)


def init_cluster(root: Path, owner: pwd.struct_passwd) -> Postgres:
    """A new cluster in `root` (the postgres user's), on a loopback port of this session's own,
    started. The caller stops it and removes `root`."""
    server = Postgres(root, free_tcp_port(), secrets.token_urlsafe(18))
    server.sockets.mkdir()
    for path in (root, server.sockets):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    _run(
        str(PG_BIN / "initdb"), "-D", str(server.data), "-U", PG_USER, "-E", "UTF8",
        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
        "--no-sync", "--locale=C.UTF-8",
        cwd=root,
    )  # fmt: skip
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL 15 on a loopback port, as the `postgres` user; torn down at the end."""
    require(os.geteuid() == 0, "PostgreSQL is started as the postgres user: needs root")
    require(
        (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists(),
        "PostgreSQL 15 is not installed (make test installs it)",
    )
    try:
        owner = pwd.getpwnam(PG_USER)
    except KeyError:
        owner = None
    require(owner is not None, "no postgres user (the postgresql package creates it)")
    require(shutil.which("runuser") is not None, "runuser is not installed")
    assert owner is not None
    root = Path(tempfile.mkdtemp(prefix="netmon-pg-"))
    server: Postgres | None = None
    try:
        server = init_cluster(root, owner)
        server.admin(f"CREATE ROLE netmon LOGIN PASSWORD '{server.password}'")
        server.admin("CREATE DATABASE netmon OWNER netmon")
        yield server
    finally:
        if server is not None and server.running():
            subprocess.run(
                ["runuser", "-u", PG_USER, "--", str(PG_BIN / "pg_ctl"), "stop",
                 "-D", str(server.data), "-m", "fast", "-w"],
                cwd=root, capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
