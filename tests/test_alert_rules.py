"""The alert rules and the routing, checked with the real promtool and amtool."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from .conftest import REPO, require

RULES = REPO / "alert_rules" / "netmon.rules.yml"
AM_CONFIG = REPO / "alert_rules" / "alertmanager.example.yml"
RUNBOOKS = REPO / "docs" / "runbooks.md"


def tool(name: str) -> str:
    path = shutil.which(name)
    require(
        path is not None,
        f"{name} is not installed (make test installs prometheus and alertmanager)",
    )
    assert path is not None
    return path


def alerts() -> list[dict[str, object]]:
    data = YAML(typ="safe", pure=True).load(RULES.read_text())
    return [r for g in data["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    files = sorted((REPO / "alert_rules" / "tests").glob("*.yml"))
    result = subprocess.run([tool("promtool"), "test", "rules", *map(str, files)],
                            capture_output=True, text=True, cwd=REPO / "alert_rules")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    text = (REPO / "alert_rules" / "tests" / "netmon_test.yml").read_text()
    for rule in alerts():
        assert f"# {rule['alert']}: fires" in text
        assert f"# {rule['alert']}: silent" in text


def test_every_alert_has_severity_text_and_an_existing_runbook() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", RUNBOOKS.read_text(), re.M)
    }
    for rule in alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in ("page", "ticket"), rule["alert"]
        assert annotations["summary"] and annotations["description"]
        anchor = str(annotations["runbook_url"]).split("docs/runbooks.md#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: no '## {anchor}' in docs/runbooks.md"


def test_alertmanager_config_is_valid() -> None:
    result = subprocess.run(
        [tool("amtool"), "check-config", str(AM_CONFIG)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "alertname=NetmonPairSplitBrain", "pair=core"], "pager"),
        (["severity=page", "alertname=NetmonLargePacketLoss", "target=10.99.0.11"], "pager"),
        (["severity=ticket", "alertname=NetmonConfigDrift", "pair=core"], "tickets"),
        (
            ["severity=ticket", "alertname=NetmonDeviceUnreachable", "pair=core", "device=r2"],
            "tickets",
        ),
    ],
)
def test_routes(labels: list[str], receiver: str) -> None:
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}",
         f"--verify.receivers={receiver}", *labels],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_route_expectation_fails() -> None:
    """amtool really asserts: the same call with the wrong receiver exits 1."""
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={AM_CONFIG}",
         "--verify.receivers=pager", "severity=ticket"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
