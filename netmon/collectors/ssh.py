"""The SSH collector: the only module that imports netmiko (and paramiko).

netmiko is blocking, so each session runs in a worker thread; a semaphore bounds how many run at
once (the inventory's `ssh_sessions`). Every call has connect, auth, banner and command timeouts,
and an outer guard: a server that accepts TCP and never speaks costs one timeout and blocks
nothing else. Host keys are checked strictly by default against the inventory's known_hosts file.
Every netmiko/paramiko error becomes a reading with a bounded `reason`, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from netmon.errors import CollectorError, DeviceAuthError, DeviceTimeout
from netmon.model import Device, DeviceReading, Probe, SshSettings

log = logging.getLogger(__name__)

COLLECTOR = "ssh"


class HostKeyError(CollectorError):
    reason = "host_key"


class UnknownHostKeyError(CollectorError):
    reason = "host_key_unknown"


class RefusedError(CollectorError):
    reason = "refused"


def _connect_args(device: Device, ssh: SshSettings) -> dict[str, Any]:
    args: dict[str, Any] = {
        "device_type": ssh.device_type,
        "host": device.address,
        "port": ssh.port,
        "username": ssh.username,
        "conn_timeout": ssh.timeout,
        "auth_timeout": ssh.timeout,
        "banner_timeout": ssh.timeout,
        "blocking_timeout": ssh.timeout,
        "read_timeout_override": ssh.timeout,
        "fast_cli": True,
        "allow_agent": False,
        # Strict by default: an unknown or changed host key refuses the connection.
        "ssh_strict": not ssh.accept_new_host_keys,
        "system_host_keys": False,
        "session_log": None,
    }
    if ssh.known_hosts:
        args["alt_host_keys"] = True
        args["alt_key_file"] = ssh.known_hosts
    if ssh.password is not None:
        args["password"] = ssh.password.reveal()
    if ssh.key_file:
        args["use_keys"] = True
        args["key_file"] = ssh.key_file
    else:
        args["use_keys"] = False
    return args


def _session(device: Device, ssh: SshSettings, commands: list[str]) -> dict[str, str]:
    """Runs in a worker thread: connect, run every command, disconnect. Raises netmon errors."""
    name = device.name
    try:
        connection = ConnectHandler(**_connect_args(device, ssh))
        try:
            return {c: str(connection.send_command(c, read_timeout=ssh.timeout)) for c in commands}
        finally:
            connection.disconnect()
    except NetmikoAuthenticationException:
        raise DeviceAuthError(name, f"SSH authentication failed for user {ssh.username}") from None
    except paramiko.BadHostKeyException:
        raise HostKeyError(
            name, f"SSH host key of {device.address} does not match known_hosts"
        ) from None
    except NetmikoTimeoutException as exc:
        raise _from_netmiko_timeout(device, ssh, str(exc)) from None
    except (ReadTimeout, ReadException, TimeoutError) as exc:
        raise DeviceTimeout(name, f"SSH session timed out ({type(exc).__name__})") from None
    except paramiko.SSHException as exc:
        text = str(exc)
        if "known_hosts" in text:
            raise UnknownHostKeyError(
                name, f"SSH host key of {device.address} is not in known_hosts"
            ) from None
        if "banner" in text.lower():
            raise DeviceTimeout(name, f"SSH server sent no banner within {ssh.timeout}s") from None
        raise CollectorError(name, f"SSH error: {_first_line(exc)}") from None
    except ConnectionRefusedError:
        raise RefusedError(name, f"SSH connection to {device.address}:{ssh.port} refused") from None
    except (OSError, EOFError) as exc:
        raise CollectorError(
            name, f"SSH transport error: {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    except ValueError as exc:  # netmiko: unsupported device_type and other argument errors
        raise CollectorError(name, f"SSH setup error: {_first_line(exc)}") from None


def _from_netmiko_timeout(device: Device, ssh: SshSettings, text: str) -> CollectorError:
    """netmiko folds every paramiko SSHException (host keys, banners) and every socket error into
    NetmikoTimeoutException; only its message tells them apart."""
    name, where = device.name, f"{device.address}:{ssh.port}"
    lowered = text.lower()
    if "does not match" in lowered:
        return HostKeyError(name, f"SSH host key of {where} does not match known_hosts")
    if "not found in known_hosts" in lowered:
        return UnknownHostKeyError(name, f"SSH host key of {where} is not in known_hosts")
    if "banner" in lowered:
        return DeviceTimeout(name, f"SSH server at {where} sent no banner within {ssh.timeout}s")
    if "refused" in lowered:
        return RefusedError(name, f"SSH connection to {where} refused")
    return DeviceTimeout(name, f"SSH to {where} timed out")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class SshCollector:
    """Runs CLI commands over SSH (netmiko, in threads). Create one per process."""

    def __init__(self, max_sessions: int = 8) -> None:
        self._max = max_sessions
        self._pool: ThreadPoolExecutor | None = None
        self._gate: asyncio.Semaphore | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._max, thread_name_prefix="netmon-ssh")
        return self._pool

    def _semaphore(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._max)
        return self._gate

    def close(self) -> None:
        if self._pool is not None:
            # Threads stuck in a dead session end on their own timeouts; do not wait for them.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def poll(self, device: Device, probes: Iterable[Probe]) -> DeviceReading:
        commands = list(dict.fromkeys(p.command for p in probes if p.command))
        return await self.run(device, commands)

    async def run(self, device: Device, commands: list[str]) -> DeviceReading:
        started = time.monotonic()
        at = time.time()
        ssh = device.ssh
        if ssh is None:
            return DeviceReading(
                device.name, COLLECTOR, at, ok=False, reason="config", detail="no SSH settings"
            )
        try:
            # Connect + auth + every command, plus slack: past this the thread is abandoned.
            guard = ssh.timeout * (3 + len(commands)) + 2.0
            loop = asyncio.get_running_loop()
            async with self._semaphore():
                future = loop.run_in_executor(self._executor(), _session, device, ssh, commands)
                try:
                    outputs = await asyncio.wait_for(future, timeout=guard)
                except TimeoutError:
                    raise DeviceTimeout(
                        device.name, f"SSH session took over {guard:.0f}s"
                    ) from None
        except CollectorError as exc:
            return DeviceReading(
                device.name, COLLECTOR, at, ok=False, reason=exc.reason, detail=exc.detail,
                duration=time.monotonic() - started,
            )  # fmt: skip
        values: dict[Any, Any] = dict(outputs)
        return DeviceReading(
            device.name, COLLECTOR, at, ok=True, values=values, duration=time.monotonic() - started
        )


def known_hosts_line(address: str, port: int, key_file: Path) -> str:
    """A known_hosts line for a host's public key file (what `ssh-keyscan` would print)."""
    kind, blob = key_file.read_text().split()[:2]
    host = address if port == 22 else f"[{address}]:{port}"
    return f"{host} {kind} {blob}\n"
