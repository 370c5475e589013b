"""Page-level verdicts sent by netmon itself to the Alertmanagers (API v2), as Prometheus sends
its alerts: seconds after the poll that found them, instead of a scrape and an evaluation cycle
later. Each alert carries exactly the labels of the rule that pages for the same thing
(alert_rules/netmon.rules.yml), so Alertmanager merges netmon's alert, every replica's and the
rule's into one alert and one page; the rules stay as the backstop.

Only verdicts that are evidence, never netmon's own blindness, are sent: `split_brain` (two
members claim active) and `down` (members answered and none is active), the latter not while any
member is unreachable or unknown (the rule's `unless`).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from netmon.model import PairState, PairStatus, Role
from netmon.store import Snapshot

log = logging.getLogger(__name__)

RESEND = 10.0  # seconds between sends of a firing alert (Prometheus' default resend delay: 1m)
TIMEOUT = 3.0  # seconds per Alertmanager and send
RUNBOOKS = "https://github.com/netmon/netmon/blob/main/docs/runbooks.md"

# state -> (alertname, summary, description, runbook anchor), as in the rules file.
PAGES: Mapping[PairState, tuple[str, str, str, str]] = {
    PairState.SPLIT_BRAIN: (
        "NetmonPairSplitBrain",
        "Split-brain on {pair}",
        "Two or more members of {pair} claim active past the debounce: traffic may go to both.",
        "split-brain",
    ),
    PairState.DOWN: (
        "NetmonPairDown",
        "No member of {pair} is active",
        "Members of {pair} answer, but none is active: the service behind it is down.",
        "pair-down",
    ),
}
BLIND = (Role.UNREACHABLE, Role.UNKNOWN)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def pages(status: PairStatus) -> bool:
    if status.state not in PAGES:
        return False
    return status.state is not PairState.DOWN or not any(
        m.view.role in BLIND for m in status.members
    )


def alert(
    status: PairStatus, now: float, *, firing: bool, resend: float = RESEND
) -> dict[str, Any]:
    """One pair's alert in Alertmanager's API v2 shape. A firing alert ends by itself (endsAt)
    unless sent again: a replica that dies stops renewing it, and the others' keep it up."""
    name, summary, description, anchor = PAGES[status.state]
    return {
        "labels": {"alertname": name, "pair": status.pair, "severity": "page"},
        "annotations": {
            "summary": summary.format(pair=status.pair),
            "description": description.format(pair=status.pair),
            "runbook_url": f"{RUNBOOKS}#{anchor}",
        },
        "startsAt": _iso(status.since),
        "endsAt": _iso(now + 4 * resend if firing else now),
    }


Post = Callable[[str, bytes], None]


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL the operator configured
        f"{url.rstrip('/')}/api/v2/alerts",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310
        pass


class Pager:
    """Which pairs page, sent to every Alertmanager (they deduplicate, as with Prometheus)."""

    def __init__(self, urls: Iterable[str], resend: float = RESEND, post: Post = _post) -> None:
        self.urls = tuple(urls)
        self.resend = resend
        self._post = post
        self._firing: dict[tuple[str, str], PairStatus] = {}  # (pair, state) -> last status
        self._sent_at = 0.0
        self.failed: dict[str, bool] = {}
        self.sent = 0

    def due(self, snapshot: Snapshot, now: float) -> list[dict[str, Any]]:
        """The alerts to send now: every firing one when a change happened or `resend` passed,
        and once, resolved, each that stopped firing."""
        firing = {(s.pair, s.state.value): s for s in snapshot.pairs.values() if pages(s)}
        changed = firing.keys() != self._firing.keys()
        if not changed and now - self._sent_at < self.resend:
            return []
        out = [alert(s, now, firing=True, resend=self.resend) for s in firing.values()]
        out += [
            alert(s, now, firing=False, resend=self.resend)
            for key, s in self._firing.items()
            if key not in firing
        ]
        self._firing = firing
        self._sent_at = now
        return out

    def send(self, alerts: list[dict[str, Any]]) -> None:
        """POST to every Alertmanager; a failure is logged once per outage, never raised."""
        if not alerts:
            return
        body = json.dumps(alerts).encode()
        for url in self.urls:
            try:
                self._post(url, body)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if not self.failed.get(url):
                    log.error("pages to %s failed (the rules still page): %s", url, exc)  # noqa: TRY400
                self.failed[url] = True
                continue
            if self.failed.get(url):
                log.warning("pages to %s sent again", url)
            self.failed[url] = False
            self.sent += len(alerts)

    def tick(self, snapshot: Snapshot) -> None:
        self.send(self.due(snapshot, time.time()))
