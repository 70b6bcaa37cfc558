"""The Grafana dashboard is well-formed and shows only what HugMood exports or the SLO rules
record; and the rules themselves read only exported metrics."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.deploy.promql import BUILT_IN, exported_metric_names, metric_names, recorded_names
from tests.deploy.tools import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "hugmood.json"
RULES = DEPLOY / "prometheus" / "hugmood-slos.rules.yml"


def test_metric_names_are_found_in_promql() -> None:
    expr = (
        'sum by (job, le) (rate(hugmood_a_bucket{route="/graphql",le="0.25"}[5m])) '
        '/ on (slo) group_left () hugmood:b:ratio{slo="x"} > bool 3 or up'
    )
    assert metric_names(expr) == {"hugmood_a_bucket", "hugmood:b:ratio", "up"}


def test_every_rule_reads_metrics_hugmood_exports() -> None:
    known = exported_metric_names() | recorded_names(RULES) | BUILT_IN
    assert {"hugmood_hug_delivery_seconds_bucket", "hugmood_bus_consumer_lag"} <= known
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            names = metric_names(rule["expr"])
            if rule["expr"].strip().startswith("vector("):
                continue
            assert names, rule
            assert names <= known, (rule.get("record") or rule.get("alert"), names - known)


def test_the_dashboard_is_well_formed_and_every_panel_reads_known_metrics() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    known = exported_metric_names() | recorded_names(RULES) | BUILT_IN
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    shown: set[str] = set()
    for panel in panels:
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            assert names <= known, (panel["title"], names - known)
            shown |= names
    for slo in ("checkin-availability", "hug-delivery", "board-propagation", "consumer-lag"):
        assert any(slo in t["expr"] for p in panels for t in p["targets"]), slo
    assert {
        "hugmood:checkin_latency_seconds:p99_5m",
        "hugmood:hug_delivery_seconds:p99_5m",
        "hugmood:board_propagation_seconds:p99_5m",
        "hugmood:consumer_lag:max",
    } <= shown
