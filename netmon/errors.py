"""netmon's own exception tree. Third-party errors are translated into these at the boundary.

NetmonError
 +-- ConfigError            the inventory (or a CLI argument) is wrong; carries every problem found
 +-- SecretError            a secret reference could not be resolved (names the reference, never the value)
 +-- CollectorError         a device could not be read; `reason` is a short bounded token for metrics
 |    +-- DeviceTimeout     no answer within timeout x retries
 |    +-- DeviceAuthError   wrong community / USM credentials, as far as SNMP can tell
 |    +-- DeviceReplyError  the device answered with an error status or garbage
 +-- DaemonUnavailable      `netmon status` could not reach the running daemon
"""

from __future__ import annotations

from dataclasses import dataclass


class NetmonError(Exception):
    """Root of every error netmon raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    path: str  # dotted path inside the document, e.g. pairs[2].members[0].device
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        path = self.path or "<document>"
        return f"{where}: {path}: {self.message}"


class ConfigError(NetmonError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SecretError(NetmonError):
    pass


class CollectorError(NetmonError):
    reason = "error"

    def __init__(self, device: str, detail: str) -> None:
        self.device = device
        self.detail = detail
        super().__init__(f"{device}: {detail}")


class DeviceTimeout(CollectorError):
    reason = "timeout"


class DeviceAuthError(CollectorError):
    reason = "auth"


class DeviceReplyError(CollectorError):
    reason = "reply"


class DaemonUnavailable(NetmonError):
    pass
