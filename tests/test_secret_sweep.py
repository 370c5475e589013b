"""The secret sweep: run every command and the daemon with secrets configured (the SNMP
community, SNMPv3 keys, a scrape password), then search everything netmon wrote or said — logs,
stdout and stderr of every command, /metrics and /api, the drill journal and the pair history
files — for the secrets. None may appear anywhere."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import bcrypt
import pytest

from .conftest import free_tcp_port, stop_process
from .helpers import start_demo, stop_demo_agents, wait_for

pytestmark = pytest.mark.daemon

COMMUNITY = "sweep-Community-4b7e1"
AUTH_KEY = "sweep-AuthKey-93c0aa"
PRIV_KEY = "sweep-PrivKey-15d2bb"
SCRAPE_PASSWORD = "sweep-Scrape-Pass-77f1"
NETBOX_TOKEN = "sweep-NetboxToken-0c4d9e"
PAGER_PASSWORD = "sweep-PagerPass-5a1f3c"
SECRETS = (COMMUNITY, AUTH_KEY, PRIV_KEY, SCRAPE_PASSWORD, NETBOX_TOKEN, PAGER_PASSWORD)
NETMON = [sys.executable, "-m", "netmon"]

# A v3 inventory whose devices never answer: its errors and timeouts are swept too.
V3_INVENTORY = """\
version: 1
defaults:
  snmp: {version: "3", user: netmon, auth_protocol: SHA, auth_key: {env: SWEEP_AUTH},
         priv_protocol: AES, priv_key: {env: SWEEP_PRIV}, timeout: 0.2, retries: 0}
devices:
  v3-a: {address: 127.0.0.1, snmp: {port: %d}}
  v3-b: {address: 127.0.0.1, snmp: {port: %d}}
pairs:
  - {name: v3-pair, kind: keepalived, params: {instance: 1}, members: [v3-a, v3-b]}
"""


def test_no_secret_anywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ, "HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "state"),
        "NETMON_DEMO_COMMUNITY": COMMUNITY, "SWEEP_AUTH": AUTH_KEY, "SWEEP_PRIV": PRIV_KEY,
        "SWEEP_NETBOX": NETBOX_TOKEN,
    }  # fmt: skip
    said: list[str] = []

    def netmon(*args: str, code: int | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*NETMON, *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        said.extend([done.stdout, done.stderr])
        if code is not None:
            assert done.returncode == code, (args, done.stdout, done.stderr)
        return done

    web = tmp_path / "web.yml"
    hashed = bcrypt.hashpw(SCRAPE_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web.write_text(f"basic_auth_users: {{prometheus: '{hashed}'}}\n")
    v3 = tmp_path / "v3.yaml"
    v3.write_text(V3_INVENTORY % (free_tcp_port(), free_tcp_port()))
    net = start_demo(env, tmp_path)
    demo = str(net.inventory)
    listen = f"127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "daemon.log"
    daemon: subprocess.Popen[bytes] | None = None
    try:
        with log.open("wb") as sink:
            daemon = subprocess.Popen(
                [*NETMON, "run", "-i", demo, "--listen", listen, "--web-config", str(web),
                 "--log-level", "debug"],
                env=env, stdout=sink, stderr=sink,
            )  # fmt: skip
        token = base64.b64encode(f"prometheus:{SCRAPE_PASSWORD}".encode()).decode()

        def fetch(path: str) -> str:
            request = urllib.request.Request(f"http://{listen}{path}")
            request.add_header("Authorization", f"Basic {token}")
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(response.read().decode())

        def polled() -> int:
            return len(json.loads(fetch("/api/v1/pairs"))["pairs"])

        wait_for(lambda: polled() == 6, 60, "every demo pair polled")
        for path in ("/metrics", "/api/v1/pairs", "/api/v1/status", "/"):
            said.append(fetch(path))

        netmon("check", "-i", demo)
        netmon("check", "-i", demo, "--json")
        netmon("inventory", "validate", demo, code=0)
        nowhere = f"http://127.0.0.1:{free_tcp_port()}"  # nothing listens: NetBox unreachable
        netmon("inventory", "from-netbox", "--url", nowhere, "--token-env", "SWEEP_NETBOX", code=2)
        # A password over plain http is refused at the start, naming the Alertmanager masked.
        netmon("run", "-i", demo, "--listen", f"127.0.0.1:{free_tcp_port()}",
               "--alertmanager", f"http://pager:{PAGER_PASSWORD}@127.0.0.1:9093", code=2)  # fmt: skip
        netmon("check", "-i", str(v3), code=1)  # every device times out
        netmon("check", "-i", str(v3), "--json", code=1)
        netmon("diff", "core-gw", "-i", demo, code=2)  # no config block: an error message
        netmon("drill", "plan", "core-gw", "-i", demo, "--listen", listen)
        netmon("drill", "run", "core-gw", "-i", demo, "--yes", "--json", "--listen", listen)
        netmon("drill", "history", "-i", demo, "--listen", listen, code=0)
        netmon("drill", "show", "1", "-i", demo, "--listen", listen, code=0)
        netmon("history", code=0)
        netmon("history", "core-gw", "--json", code=0)
        refused = netmon("status", "--listen", listen, code=2)  # the API wants a password
        assert "asks for a password" in refused.stderr
    finally:
        if daemon is not None:
            stop_process(daemon)
        stop_demo_agents(net.agents)
    said.append(log.read_text())
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert any(p.name == "drills.sqlite" for p in written)
    assert any(p.name == "history.sqlite" for p in written)
    for written_file in written:
        said.append(written_file.read_bytes().decode("latin-1"))
    everything = "\n".join(said)
    assert "Traceback" not in everything
    for secret in SECRETS:
        assert secret not in everything, f"{secret} leaked"
