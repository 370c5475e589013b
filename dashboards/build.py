"""Build netmon's Grafana dashboards as code (grafana-foundation-sdk, pinned in pyproject).

`make dashboards` writes dashboards/*.json from this file; tests/test_dashboards.py checks that
the committed JSON matches it and that every panel query parses (promtool) and, against the
lab's real Prometheus, returns data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery as Query
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.statetimeline import Panel as StateTimeline
from grafana_foundation_sdk.builders.timeseries import Panel as TimeSeries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

HERE = Path(__file__).resolve().parent
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${datasource}")


def q(expr: str, legend: str = "") -> Query:
    query = Query().expr(expr).datasource(PROMETHEUS)
    return query.legend_format(legend) if legend else query


def overview() -> Dashboard:
    return (
        Dashboard("netmon / Redundancy overview")
        .uid("netmon-overview")
        .tags(["netmon", "redundancy"])
        .refresh("30s")
        .time("now-6h", "now")
        .with_row(Row("Right now"))
        .with_panel(Stat().title("Pairs not healthy").with_target(q("sum(netmon:pair_unhealthy)")).span(6).height(4))
        .with_panel(Stat().title("Pairs by state").with_target(q("netmon:pairs_by_state:count", "{{state}}")).span(18).height(4))
        .with_panel(
            StateTimeline()
            .title("Every pair's state over time")
            .with_target(q("max by (pair) (netmon:pair_unhealthy)", "{{pair}}"))
            .span(24)
            .height(8)
        )
        .with_row(Row("Failovers and drills"))
        .with_panel(TimeSeries().title("Failovers in the last hour").with_target(q("netmon:pair_failovers:increase1h", "{{pair}}")).span(12))
        .with_panel(TimeSeries().title("On the preferred member").with_target(q("netmon_pair_on_preferred", "{{pair}}")).span(12))
        .with_panel(TimeSeries().title("Last drill switchover (s)").unit("s").with_target(q("netmon_drill_last_switchover_seconds", "{{pair}}")).span(12))
        .with_panel(TimeSeries().title("Last drill passed").with_target(q("netmon_drill_last_success", "{{pair}}")).span(12))
        .with_row(Row("Up but lossy"))
        .with_panel(TimeSeries().title("Link error ratio").unit("percentunit").with_target(q("netmon_interface_error_ratio", "{{device}} {{interface}} {{direction}}")).span(12))
        .with_panel(TimeSeries().title("Probe loss, by packet size").unit("percentunit").with_target(q("netmon_probe_loss_ratio", "{{target}} {{size}} B")).span(12))
        .with_row(Row("netmon itself"))
        .with_panel(TimeSeries().title("Poll lag p99 (s)").unit("s").with_target(q("histogram_quantile(0.99, rate(netmon_poll_lag_seconds_bucket[5m]))", "{{instance}}")).span(12))
        .with_panel(TimeSeries().title("Polls skipped (per 5m)").with_target(q("increase(netmon_polls_missed_total[5m])", "{{instance}}")).span(12))
    )  # fmt: skip


def pair_detail() -> Dashboard:
    pair = '{pair="$pair"}'
    # The pair's devices, one series each: a device can be two members of one pair (a chassis
    # with two supervisors, a cluster read through one address), and joining on it with
    # `group_left (member)` is then a many-to-many match that Prometheus refuses (an empty panel).
    # Links, reachability and probes belong to the device, so the panels name the device.
    pair_devices = f"max by (device) (netmon_member_info{pair})"
    return (
        Dashboard("netmon / Pair detail")
        .uid("netmon-pair")
        .tags(["netmon", "redundancy"])
        .refresh("10s")
        .time("now-1h", "now")
        .with_variable(QueryVariable("pair").label("Pair").query("label_values(netmon_pair_state, pair)").datasource(PROMETHEUS))
        .with_panel(StateTimeline().title("Pair state").with_target(q(f"netmon_pair_state{pair} == 1", "{{state}}")).span(24).height(5))
        .with_panel(StateTimeline().title("Member roles").with_target(q(f"netmon_member_role{pair} == 1", "{{member}}: {{role}}")).span(24).height(6))
        .with_panel(TimeSeries().title("Active members").with_target(q(f"netmon_pair_active_members{pair}")).span(8))
        .with_panel(TimeSeries().title("Failovers").with_target(q(f"netmon_pair_failovers_total{pair}")).span(8))
        .with_panel(TimeSeries().title("Links up").with_target(q(f"netmon_interface_up * on (device) group_left () {pair_devices}", "{{device}} {{interface}}")).span(8))
        .with_panel(TimeSeries().title("Link error ratio").unit("percentunit").with_target(q(f"netmon_interface_error_ratio * on (device) group_left () {pair_devices}", "{{device}} {{interface}} {{direction}}")).span(12))
        .with_panel(
            TimeSeries()
            .title("Probe loss to members, by packet size")
            .unit("percentunit")
            .with_target(q(f'netmon_probe_loss_ratio * on (target) group_left () max by (target) (label_replace(netmon_member_info{pair}, "target", "$1", "address", "(.*)"))', "{{target}} {{size}} B"))
            .span(24)
        )
        .with_panel(TimeSeries().title("Members polled OK").with_target(q(f"netmon_device_up * on (device) group_left () {pair_devices}", "{{device}}")).span(12))
        .with_panel(TimeSeries().title("Drill switchover (s)").unit("s").with_target(q(f"netmon_drill_last_switchover_seconds{pair}")).span(12))
        .with_panel(TimeSeries().title("Drill running").with_target(q(f"netmon_drill_running{pair}")).span(12))
    )  # fmt: skip


DASHBOARDS = {"netmon-overview.json": overview, "netmon-pair.json": pair_detail}


def render() -> dict[str, str]:
    out = {}
    for name, build in DASHBOARDS.items():
        data = json.loads(JSONEncoder(sort_keys=True, indent=2).encode(build().build()))
        # A datasource variable, so the dashboards import into any Grafana.
        data.setdefault("templating", {}).setdefault("list", []).insert(
            0,
            {
                "name": "datasource",
                "type": "datasource",
                "query": "prometheus",
                "label": "Prometheus",
            },
        )
        out[name] = json.dumps(data, indent=2, sort_keys=True) + "\n"
    return out


def main() -> int:
    for name, text in render().items():
        (HERE / name).write_text(text)
        print(f"wrote dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
