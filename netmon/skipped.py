"""Skipped scheduled polls: counted per pair and reason, logged as one summary a minute.

APScheduler logs a WARNING for every skipped run of every job: 72 dead pairs on a short
interval wrote about 1,000 lines in 30 s and buried everything else in the log. The daemon
counts the skips itself (netmon_polls_missed_total) and says so here, once per window, instead.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

WINDOW = 60.0  # seconds: at most one summary line this often while polls are being skipped
NAMES = 10  # pair names shown in a summary; the rest are "and N more"

# The per-job lines the summary replaces, as APScheduler 3 words them (their format strings).
_SKIP_MESSAGES = ('Run time of job "%s" was missed by', 'Execution of job "%s" skipped: maximum')
# Where APScheduler logs them: the scheduler (max instances) and the executor that ran the job
# (misfires); netmon uses the default executor.
_SKIP_LOGGERS = ("apscheduler.scheduler", "apscheduler.executors.default")


class _DropSkipWarnings(logging.Filter):
    """Drops only the per-job skip WARNINGs; every other APScheduler line (a job raising, a
    listener failing) still reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.WARNING
            and isinstance(record.msg, str)
            and record.msg.startswith(_SKIP_MESSAGES)
        )


_FILTER = _DropSkipWarnings()


def quiet_apscheduler(on: bool = True) -> None:
    """Install (or remove) the filter on the loggers that write the per-job skip lines."""
    for name in _SKIP_LOGGERS:
        logger = logging.getLogger(name)
        if on:
            logger.addFilter(_FILTER)  # idempotent: logging keeps one copy of a filter
        else:
            logger.removeFilter(_FILTER)


class SkippedPolls:
    """Skips since the last summary, and when the first of them came.

    Called from the scheduler's listener, which runs on the event loop: no lock."""

    def __init__(
        self,
        logger: logging.Logger,
        window: float = WINDOW,
        names: int = NAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = logger
        self.window = window
        self.names = names
        self.clock = clock
        self._pairs: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._since: float | None = None  # when the first unreported skip came

    def record(self, pair: str, count: int, reason: str) -> None:
        if count <= 0:
            return
        if self._since is None:
            self._since = self.clock()
        self._pairs[pair] += count
        self._reasons[reason] += count

    def tick(self) -> str | None:
        """Log the summary if the window since the first unreported skip has passed.

        Called on every scheduler event (each poll's submission among them), so a summary is
        due within one poll interval of its window closing, without a timer of its own."""
        if self._since is None or self.clock() - self._since < self.window:
            return None
        return self.flush()

    def flush(self) -> str | None:
        """Log whatever is unreported now (also at shutdown); nothing when nothing was skipped."""
        if self._since is None:
            return None
        total = sum(self._reasons.values())
        elapsed = self.clock() - self._since
        if len(self._reasons) == 1:
            why = next(iter(self._reasons))
        else:
            why = ", ".join(f"{n} {reason}" for reason, n in self._reasons.most_common())
        # Most-skipped pairs first: those are the ones to look at.
        shown = [name for name, _ in self._pairs.most_common(self.names)]
        more = len(self._pairs) - len(shown)
        names = ", ".join(shown) + (f" and {more} more" if more else "")
        message = (
            f"{total} scheduled poll{'s' if total != 1 else ''} skipped in the last "
            f"{elapsed:.0f} s ({why}): {names}"
        )
        self.log.warning("%s", message)
        self._pairs.clear()
        self._reasons.clear()
        self._since = None
        return message
