"""Who may read /metrics and /api: TLS and basic auth from a web config file, in the format of
the Prometheus exporter-toolkit (`--web.config.file` of node_exporter and friends), so the same
file and the same Prometheus scrape settings work for netmon:

    tls_server_config:
      cert_file: netmon.crt          # relative paths are relative to this file
      key_file: netmon.key
      client_auth_type: RequireAndVerifyClientCert   # optional (default NoClientCert)
      client_ca_file: clients-ca.crt                 # with RequireAndVerifyClientCert
      min_version: TLS12                             # optional: TLS12 (default) or TLS13
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Only this subset is accepted; any other key is an error naming it (a typo must not silently turn
TLS or authentication off).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import ssl
import threading
from pathlib import Path
from typing import Literal

import bcrypt
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from netmon.errors import ConfigError, ConfigProblem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TlsServerConfig(_Strict):
    cert_file: str
    key_file: str
    client_auth_type: Literal["NoClientCert", "RequireAndVerifyClientCert"] = "NoClientCert"
    client_ca_file: str | None = None
    min_version: Literal["TLS12", "TLS13"] = "TLS12"


class WebConfigFile(_Strict):
    tls_server_config: TlsServerConfig | None = None
    basic_auth_users: dict[str, str] = Field(default_factory=dict)


# bcrypt reads at most 72 bytes of a password (bcrypt 5 raises beyond): a longer one is refused
# as a wrong password, before any hashing.
_BCRYPT_MAX_PASSWORD = 72
_BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")
log = logging.getLogger(__name__)


def bcrypt_cost(hashed: str) -> int | None:
    """The cost (log2 rounds) of a `$2a$`/`$2b$`/`$2y$` hash, or None if it has none."""
    parts = hashed.split("$")
    if len(parts) < 4 or not (parts[2].isascii() and parts[2].isdigit()):
        return None
    cost = int(parts[2])
    return cost if 4 <= cost <= 31 else None


class WebConfig:
    """The loaded file: an SSL context (or None) and the basic auth check."""

    max_concurrent_checks = 4
    check_wait = 1.0

    def __init__(self, source: Path, spec: WebConfigFile) -> None:
        self.source = source
        self.users = {name: hashed.encode() for name, hashed in spec.basic_auth_users.items()}
        self.tls = self._context(spec.tls_server_config) if spec.tls_server_config else None
        # bcrypt costs ~50 ms by design; a scrape every 15 s must not pay it every time. Only
        # successes are kept, as a keyed digest of the credentials (never the password itself).
        self._key = hashlib.sha256(source.read_bytes()).digest()
        self._good: set[bytes] = set()
        self._lock = threading.Lock()
        # An unknown user is checked against this hash, at the highest cost among the real ones:
        # the answer takes as long as for a known user with a wrong password.
        cost = max((bcrypt_cost(h) or 10 for h in spec.basic_auth_users.values()), default=4)
        self.dummy_hash = bcrypt.hashpw(b"netmon-no-such-user", bcrypt.gensalt(rounds=cost))
        # At most this many bcrypt checks run at once: a flood of wrong passwords cannot hold
        # every request thread in bcrypt. A check waits at most `check_wait` seconds for a slot,
        # then is refused (401). Remembered successes skip bcrypt, so scrapes go on meanwhile.
        self._checks = threading.BoundedSemaphore(self.max_concurrent_checks)

    def _path(self, name: str) -> Path:
        try:
            path = Path(name).expanduser()
        except RuntimeError:  # "~name/..." of a user this machine does not have
            raise _problem(
                self.source, "tls_server_config", f"no home folder in {name!r}"
            ) from None
        return path if path.is_absolute() else self.source.parent / path

    def _context(self, tls: TlsServerConfig) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = (
            ssl.TLSVersion.TLSv1_3 if tls.min_version == "TLS13" else ssl.TLSVersion.TLSv1_2
        )
        try:
            context.load_cert_chain(self._path(tls.cert_file), self._path(tls.key_file))
            if tls.client_auth_type == "RequireAndVerifyClientCert":
                if not tls.client_ca_file:
                    raise _problem(self.source, "tls_server_config.client_ca_file",
                                   "RequireAndVerifyClientCert needs client_ca_file")  # fmt: skip
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self._path(tls.client_ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise _problem(self.source, "tls_server_config", f"cannot load: {exc}") from None
        return context

    @property
    def auth_required(self) -> bool:
        return bool(self.users)

    def _parse(self, header: str | None) -> tuple[bytes, bytes, bytes] | None:
        """(user, password, keyed digest of both) from a Basic header, or None if malformed."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, sep, password = base64.b64decode(header[6:], validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        if not sep:
            return None
        digest = hmac.new(self._key, user + b"\0" + password, hashlib.sha256).digest()
        return user, password, digest

    def remembered(self, header: str | None) -> bool | None:
        """The answer when it needs no bcrypt check (no users, a remembered success, a malformed
        or over-long credential), else None. Cheap: the server asks this before queueing."""
        return self._quick(self._parse(header))

    def _quick(self, parsed: tuple[bytes, bytes, bytes] | None) -> bool | None:
        if not self.users:
            return True
        if parsed is None or len(parsed[1]) > _BCRYPT_MAX_PASSWORD:
            return False
        with self._lock:
            return True if parsed[2] in self._good else None

    def allows(self, header: str | None) -> bool:
        """True when no users are configured, or `header` carries a configured user's password."""
        parsed = self._parse(header)
        quick = self._quick(parsed)
        if quick is not None:
            return quick
        assert parsed is not None  # _quick answers every malformed credential
        user, password, digest = parsed
        hashed = self.users.get(user.decode("utf-8", errors="replace"))
        if not self._checks.acquire(timeout=self.check_wait):
            return False
        try:
            ok = bcrypt.checkpw(password, hashed if hashed is not None else self.dummy_hash)
        except ValueError:  # a hash bcrypt cannot read: refused, never a dropped connection
            ok = False
        finally:
            self._checks.release()
        ok = ok and hashed is not None
        if ok:
            with self._lock:
                if len(self._good) > 1000:
                    self._good.clear()
                self._good.add(digest)
        return ok


def _problem(source: Path, path: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(str(source), None, path, message)])


def load_web_config(path: Path) -> WebConfig:
    """Read and check a web config file; ConfigError names the file and the key at fault."""
    try:
        data = YAML(typ="safe").load(path.read_text())
    except OSError as exc:
        raise _problem(path, "", f"cannot read: {exc.strerror or exc}") from None
    except YAMLError as exc:
        raise _problem(path, "", f"not YAML: {exc}") from None
    try:
        spec = WebConfigFile.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(
            [
                ConfigProblem(str(path), None, ".".join(map(str, e["loc"])), e["msg"])
                for e in exc.errors()
            ]
        ) from None
    for user, hashed in spec.basic_auth_users.items():
        # The whole hash, not only its prefix: a short one is refused by bcrypt at once, and
        # that quick answer would tell a guesser the user exists.
        if not _BCRYPT_HASH.fullmatch(hashed) or bcrypt_cost(hashed) is None:
            raise _problem(
                path, f"basic_auth_users.{user}", "not a bcrypt hash ($2y$NN$ and 53 characters)"
            )
    costs = sorted({c for h in spec.basic_auth_users.values() if (c := bcrypt_cost(h))})
    if len(costs) > 1:
        log.warning(
            "%s: the basic_auth_users hashes have different bcrypt costs (%s): how long a wrong "
            "password takes to answer tells which user it was; hash them all at one cost",
            path, ", ".join(map(str, costs)),
        )  # fmt: skip
    return WebConfig(path, spec)
