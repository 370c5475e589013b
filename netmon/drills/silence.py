"""An Alertmanager silence for the pair while a drill runs, so the drill pages nobody.

Alertmanager API v2: POST /api/v2/silences creates one (matcher pair=<name>), DELETE
/api/v2/silence/<id> expires it. The silence also ends by itself shortly after the drill's
longest possible run, so a drill killed with -9 cannot leave a pair silenced for long.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

from netmon.errors import NetmonError


class SilenceError(NetmonError):
    pass


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Silences:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: object | None = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the operator's own Alertmanager URL
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload: bytes = response.read()
                return payload
        # http.client.HTTPException (a reply cut short, a bad status line) is no OSError.
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise SilenceError(f"Alertmanager at {self.url}: {type(exc).__name__}: {exc}") from None

    def create(self, pair: str, seconds: float, created_by: str, comment: str) -> str:
        now = time.time()
        body = {
            "matchers": [{"name": "pair", "value": pair, "isRegex": False, "isEqual": True}],
            "startsAt": _iso(now),
            "endsAt": _iso(now + seconds),
            "createdBy": created_by,
            "comment": comment,
        }
        try:
            answer = json.loads(self._call("POST", "/api/v2/silences", body) or b"{}")
        except ValueError:  # not JSON (nor UTF-8): whatever answered is not Alertmanager
            answer = None
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str):
            raise SilenceError(f"Alertmanager at {self.url} did not return a silence id")
        return silence_id

    def expire(self, silence_id: str) -> None:
        self._call("DELETE", f"/api/v2/silence/{silence_id}")
