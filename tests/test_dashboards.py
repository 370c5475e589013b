"""Dashboards are built as code; the committed JSON matches the code and every query parses."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from dashboards.build import DASHBOARDS, render

from .conftest import REPO, require

HERE = REPO / "dashboards"


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every panel target."""
    found = []
    for name in DASHBOARDS:
        data: dict[str, Any] = json.loads((HERE / name).read_text())
        for panel in data["panels"]:
            for target in panel.get("targets", []):
                found.append((name, panel.get("title", ""), target["expr"]))
    return found


def concrete(expr: str, pair: str = "lab-v2") -> str:
    return expr.replace("$pair", pair).replace("$__rate_interval", "1m")


def test_committed_json_is_what_the_code_builds() -> None:
    for name, text in render().items():
        assert (HERE / name).read_text() == text, (
            f"dashboards/{name} is stale: run `make dashboards`"
        )


def test_every_panel_has_a_title_and_a_query() -> None:
    queries = panel_queries()
    assert len(queries) >= 15
    assert all(title and expr for _, title, expr in queries)


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool is not installed (make test installs prometheus)")
    assert promtool is not None
    rules = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, (_, _, expr) in enumerate(panel_queries()):
        rules.append(f"      - record: dashboard:query_{i}")
        rules.append(f"        expr: {json.dumps(concrete(expr))}")
    path = tmp_path / "queries.yml"
    path.write_text("\n".join(rules) + "\n")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
