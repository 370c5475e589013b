"""A real NetBox for the tests of `netmon inventory from-netbox` and the live source (issue 19).

Tests use it with `from .netbox_server import netbox  # noqa: F401`. The fixture, once per
session, starts:

- NetBox `NETBOX_VERSION`, the wheel NetBox publishes on PyPI (`pip install netbox`: since 4.7
  NetBox ships as a wheel; it needs Python >= 3.12, so pyenv's python3.12), in a virtualenv of its
  own, cached under `/var/cache/netmon-tests/netbox-<version>-py<python>/` (built in a temporary
  folder beside it and renamed into place, so a half-finished install is never reused; under a
  lock, so two sessions never build it at once). The cache also keeps a dump of the freshly
  migrated database (written the same way), restored by the next start instead of migrating
  again: `migrate` still runs after the restore, and finds nothing to do.
- Debian's PostgreSQL 15 as the unprivileged `postgres` user (as tests/pg.py), and Debian's
  `redis-server` as `nobody`, with a password: each with its data in a temporary folder, on
  127.0.0.1 and a port of this session's own.
- NetBox's gunicorn (shipped with NetBox) on 127.0.0.1, with a `configuration.py` the fixture
  writes (random SECRET_KEY and token pepper, loopback only), a superuser and a v2 API token
  (`nbt_<key>.<secret>`, which pynetbox 7.8 sends as `Bearer`).

`NetBox.stop()` and `start()` stop and start the web server alone (the same database): the
"NetBox went away" lever. Everything is stopped by PID and removed at the end; the cache stays.
The start is measured (cold: install and migrate; warm: from the cache) and printed with the
delays at the end of the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import IN_CI, free_tcp_port, require, stop_process
from .helpers import DELAYS
from .pg import PG_BIN, PG_USER, Postgres, init_cluster

NETBOX_VERSION = "4.7.3"  # the newest on PyPI when written (4.7.0 was the first wheel there)
CACHE = Path(os.environ.get("NETMON_TEST_CACHE", "/var/cache/netmon-tests"))
REDIS_USER = "nobody"
DB_NAME = "netbox"
DB_USER = "netbox"
INSTALL_TIMEOUT = 1800.0
MIGRATE_TIMEOUT = 1800.0


def python312() -> str | None:
    """A Python >= 3.12 for NetBox: `python3.12` on PATH, else pyenv's."""
    found = shutil.which("python3.12")
    if found is not None:
        done = subprocess.run(
            [found, "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        if done.returncode == 0 and done.stdout.strip() == "True":
            return found
    for candidate in sorted(glob.glob("/root/.pyenv/versions/3.12.*/bin/python3.12"), reverse=True):
        return candidate
    return None


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip()


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment for NetBox's processes: nothing of the tests' own virtualenv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
        and not k.startswith(("PIP_REQUIRE", "NETBOX_", "DJANGO_"))
    }
    return {**env, **extra}


def _check(args: list[str], what: str, timeout: float, **kwargs: Any) -> str:
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: no end within {timeout:g} s")
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    return str(done.stdout)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One session at a time builds or changes the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_venv(python: str) -> tuple[Path, bool]:
    """NetBox's virtualenv from the cache, built first if missing; (its folder, built now)."""
    key = f"netbox-{NETBOX_VERSION}-py{_python_version(python)}"
    home = CACHE / key
    venv = home / "venv"
    if (venv / "netmon-ok").exists():
        return home, False
    with _locked(CACHE / f".{key}.lock"):
        if (venv / "netmon-ok").exists():  # another session built it meanwhile
            return home, False
        home.mkdir(parents=True, exist_ok=True)
        for stale in home.glob(".venv-building-*"):  # a session killed while building: under
            shutil.rmtree(stale, ignore_errors=True)  # the lock, nobody else is building now
        building = Path(tempfile.mkdtemp(prefix=".venv-building-", dir=home))
        try:
            _check([python, "-m", "venv", str(building)], "python3.12 -m venv", 300)
            pip = [str(building / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
            _check(
                [*pip, "install", "-q", f"netbox=={NETBOX_VERSION}"],
                f"pip install netbox=={NETBOX_VERSION}",
                INSTALL_TIMEOUT,
                env=_clean_env(),
            )
            got = _check(
                [str(building / "bin" / "python"), "-m", "netbox", "version"],
                "netbox version",
                120,
                env=_clean_env(),
            ).strip()
            if got != NETBOX_VERSION:
                pytest.fail(f"pip installed NetBox {got!r}, not {NETBOX_VERSION}")
            freeze = _check([*pip, "freeze"], "pip freeze", 120, env=_clean_env())
            (building / "netmon-ok").write_text(freeze)
            if venv.exists():  # a venv without its mark: an older half-finished one
                shutil.rmtree(venv)
            # The venv is used through bin/python only (a symlink to the base interpreter, its
            # prefix found from pyvenv.cfg beside it), so it works from its new name.
            building.rename(venv)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return home, True


@dataclass
class Redis:
    root: Path
    port: int
    password: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        conf = self.root / "redis.conf"
        conf.write_text(
            f"bind 127.0.0.1\nport {self.port}\nprotected-mode yes\nrequirepass {self.password}\n"
            f'dir {self.root / "data"}\nsave ""\nappendonly no\ndaemonize no\n'
            f"logfile {self.root / 'redis.log'}\n"
        )
        owner = pwd.getpwnam(REDIS_USER)
        (self.root / "data").mkdir(exist_ok=True)
        for path in (self.root, conf, self.root / "data"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        conf.chmod(0o600)
        self.proc = subprocess.Popen(
            [binary, str(conf)],
            user=owner.pw_uid, group=owner.pw_gid, extra_groups=[],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                    answer = b""
                    while b"\r\n" not in answer.partition(b"+OK\r\n")[2]:
                        chunk = s.recv(100)
                        if not chunk:
                            break
                        answer += chunk
                    if b"+OK\r\n+PONG\r\n" in answer:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.root / "redis.log"
                pytest.fail(
                    f"redis-server did not answer: {log.read_text()[-800:] if log.exists() else ''}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


CONFIGURATION = """\
# Written by tests/netbox_server.py for one test session.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {db_name!r},
        "USER": {db_user!r},
        "PASSWORD": {db_password!r},
        "HOST": "127.0.0.1",
        "PORT": {db_port!r},
        "CONN_MAX_AGE": 0,
    }}
}}
REDIS = {{
    "tasks": {{"HOST": "127.0.0.1", "PORT": {redis_port}, "USERNAME": "",
               "PASSWORD": {redis_password!r}, "DATABASE": 0, "SSL": False}},
    "caching": {{"HOST": "127.0.0.1", "PORT": {redis_port}, "USERNAME": "",
                 "PASSWORD": {redis_password!r}, "DATABASE": 1, "SSL": False}},
}}
SECRET_KEY = {secret_key!r}
API_TOKEN_PEPPERS = {{1: {pepper!r}}}
TIME_ZONE = "UTC"
CHANGELOG_RETENTION = 0
ISOLATED_DEPLOYMENT = True
RELEASE_CHECK_URL = None
CENSUS_REPORTING_ENABLED = False
"""

ADMIN_SCRIPT = """\
import django
django.setup()
from users.models import Token, User
user = User.objects.create_superuser("netmon-admin", "netmon-admin@example.invalid", {password!r})
token = Token(user=user, description="netmon tests", write_enabled=True)
token.save()
print(f"nbt_{{token.key}}.{{token.token}}")
"""


@dataclass
class NetBox:
    """A running NetBox: its URL and API token, and the web server's levers."""

    root: Path  # NETBOX_ROOT: conf/configuration.py, media, logs
    venv: Path
    port: int
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def log(self) -> Path:
        return self.root / "gunicorn.log"

    def manage(self, *args: str, timeout: float = 600.0) -> str:
        return _check(
            [self.python, "-m", "netbox", *args],
            f"netbox {' '.join(args)}",
            timeout,
            env=self.env,
            cwd=self.root,
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 120.0) -> float:
        """Start the web server (gunicorn, as NetBox ships it) and wait until `/api/status/`
        answers with the token; the seconds that took."""
        assert not self.running(), "NetBox is already running"
        started = time.monotonic()
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                [self.python, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--timeout", "120", "--graceful-timeout", "5",
                 "--access-logfile", "-", "netbox.wsgi"],
                stdout=sink, stderr=sink, env=self.env, cwd=self.root,
            )  # fmt: skip
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"NetBox's gunicorn exited with {self.proc.returncode}: {self._tail()}")
            try:
                status = self.api_get("status/", timeout=5)
                if isinstance(status, dict) and "netbox-version" in status:
                    return time.monotonic() - started
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"NetBox did not answer /api/status/ within {timeout:g} s: {self._tail()}"
                )
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the web server (by its PID); the database and Redis stay up."""
        if self.proc is not None:
            stop_process(self.proc, timeout=15)
            self.proc = None

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def api_get(self, path: str, timeout: float = 10.0) -> Any:
        request = urllib.request.Request(
            f"{self.url}api/{path}",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def api(self) -> Any:
        """A pynetbox client with the fixture's token."""
        import pynetbox

        return pynetbox.api(self.url.rstrip("/"), token=self.token)


def _database(server: Postgres, home: Path, netbox: NetBox, cold: list[str]) -> None:
    """NetBox's database: restored from the cached dump of a fresh migrate, or migrated (and
    then dumped into the cache). `migrate` runs in both cases."""
    password = secrets.token_urlsafe(18)
    server.admin(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{password}'")
    server.admin(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
    dump = home / "migrated.dump"
    sockets = str(server.sockets)
    if dump.exists():
        local = server.root / "migrated.dump"
        shutil.copyfile(dump, local)
        owner = pwd.getpwnam(PG_USER)
        os.chown(local, owner.pw_uid, owner.pw_gid)
        _check(
            ["runuser", "-u", PG_USER, "--", str(PG_BIN / "pg_restore"), "--no-owner",
             f"--role={DB_USER}", "--exit-on-error", "-h", sockets, "-p", str(server.port),
             "-U", PG_USER, "-d", DB_NAME, str(local)],
            "pg_restore of the cached NetBox database", 600, cwd=server.root,
        )  # fmt: skip
        local.unlink()
    else:
        cold.append("database migrated")
    _configure(netbox, server, password)
    netbox.manage("migrate", "--no-input", timeout=MIGRATE_TIMEOUT)
    if dump.exists():
        return
    with _locked(CACHE / f".{home.name}.lock"):
        if dump.exists():
            return
        local = server.root / "migrated.dump"
        _check(
            ["runuser", "-u", PG_USER, "--", str(PG_BIN / "pg_dump"), "-Fc", "--no-owner",
             "--no-privileges", "-h", sockets, "-p", str(server.port), "-U", PG_USER,
             "-f", str(local), DB_NAME],
            "pg_dump of the migrated NetBox database", 600, cwd=server.root,
        )  # fmt: skip
        for stale in home.glob(".migrated.dump.*"):
            stale.unlink()
        partial = home / f".migrated.dump.{os.getpid()}"
        shutil.copyfile(local, partial)
        partial.rename(dump)  # whole or not at all
        local.unlink()


def _configure(netbox: NetBox, server: Postgres, db_password: str) -> None:
    redis_port = int(netbox.env["NETMON_REDIS_PORT"])
    conf = netbox.root / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "__init__.py").write_text("")
    (conf / "configuration.py").write_text(
        CONFIGURATION.format(
            db_name=DB_NAME,
            db_user=DB_USER,
            db_password=db_password,
            db_port=str(server.port),
            redis_port=redis_port,
            redis_password=netbox.env["NETMON_REDIS_PASSWORD"],
            secret_key=secrets.token_urlsafe(60),
            pepper=secrets.token_urlsafe(60),
        )
    )
    (conf / "configuration.py").chmod(0o600)
    for sub in ("media", "reports", "scripts", "static"):
        (netbox.root / sub).mkdir(exist_ok=True)


def _postgres(root: Path) -> Postgres:
    """Debian's PostgreSQL 15 as `postgres`, in `root`, on a loopback port (tests/pg.py)."""
    return init_cluster(root, pwd.getpwnam(PG_USER))


@pytest.fixture(scope="session")
def netbox() -> Iterator[NetBox]:
    """A real NetBox (see the module's docstring); torn down at the end, the cache kept."""
    require(os.geteuid() == 0, "NetBox's PostgreSQL and Redis run as other users: needs root")
    require(
        (PG_BIN / "initdb").exists() and (PG_BIN / "pg_restore").exists(),
        "PostgreSQL 15 is not installed (make test installs it)",
    )
    require(
        shutil.which("redis-server") is not None or Path("/usr/bin/redis-server").exists(),
        "redis-server is not installed (make test installs it)",
    )
    require(shutil.which("runuser") is not None, "runuser is not installed")
    for user in (PG_USER, REDIS_USER):
        try:
            pwd.getpwnam(user)
            known = True
        except KeyError:
            known = False
        require(known, f"no {user} user")
    python = python312()
    require(python is not None, "NetBox 4.7 needs Python >= 3.12 (python3.12 or pyenv 3.12)")
    assert python is not None
    if not IN_CI and not (CACHE / f"netbox-{NETBOX_VERSION}-py{_python_version(python)}").exists():
        sys.stderr.write(f"installing NetBox {NETBOX_VERSION} into {CACHE} (minutes)...\n")
    started = time.monotonic()
    home, installed = cached_venv(python)
    cold = ["venv installed"] if installed else []
    root = Path(tempfile.mkdtemp(prefix="netmon-netbox-"))
    root.chmod(0o711)  # postgres and nobody reach their own folders inside
    redis = Redis(root / "redis", free_tcp_port(), secrets.token_urlsafe(18))
    server: Postgres | None = None
    nb = NetBox(root / "netbox", home / "venv", free_tcp_port())
    try:
        redis.root.mkdir()
        redis.start()
        nb.root.mkdir()
        nb.env = _clean_env(
            NETBOX_ROOT=str(nb.root),
            DJANGO_SETTINGS_MODULE="netbox.settings",
            HOME=str(nb.root),
            NETMON_REDIS_PORT=str(redis.port),
            NETMON_REDIS_PASSWORD=redis.password,
        )
        (root / "pg").mkdir()
        server = _postgres(root / "pg")
        _database(server, home, nb, cold)
        nb.token = (
            _check(
                [nb.python, "-c", ADMIN_SCRIPT.format(password=secrets.token_urlsafe(18))],
                "creating NetBox's superuser and API token",
                300,
                env=nb.env,
                cwd=nb.root,
            )
            .strip()
            .splitlines()[-1]
        )
        assert nb.token.startswith("nbt_"), "not a v2 token"
        nb.start()
        seconds = time.monotonic() - started
        how = f"cold: {', '.join(cold)}" if cold else "warm: venv and migrated database cached"
        DELAYS.append((f"real NetBox {NETBOX_VERSION} start ({how})", seconds))
        yield nb
    finally:
        nb.stop()
        if server is not None and server.running():
            subprocess.run(
                ["runuser", "-u", PG_USER, "--", str(PG_BIN / "pg_ctl"), "stop",
                 "-D", str(server.data), "-m", "fast", "-w"],
                cwd=server.root, capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)
