"""The SLO rules are valid Prometheus rules, and promtool's own unit tests fire every alert on
the input that should page or file a ticket, and none within the objective."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.deploy.tools import DEPLOY, run, tool

RULES = DEPLOY / "prometheus" / "hugmood-slos.rules.yml"
UNIT_TESTS = DEPLOY / "prometheus" / "hugmood-slos.test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
SLOS = (
    "checkin-availability",
    "checkin-latency",
    "hug-delivery",
    "board-propagation",
    "consumer-lag",
)


def test_promtool_accepts_the_rules() -> None:
    checked = run(tool("promtool"), "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_promtool_unit_tests_fire_each_alert() -> None:
    tested = run(tool("promtool"), "test", "rules", str(UNIT_TESTS), cwd=UNIT_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_slo_has_its_ratios_a_page_and_a_ticket_each_tested() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    recorded = {(r["record"], r.get("labels", {}).get("slo")) for r in rules if "record" in r}
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    for slo in SLOS:
        for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
            assert (f"hugmood:slo_errors:ratio_rate{window}", slo) in recorded
        severities = {
            a["labels"]["severity"] for a in alerts.values() if a["labels"].get("slo") == slo
        }
        assert severities == {"page", "ticket"}, slo
    assert set(alerts) <= fired, f"alerts no unit test fires: {set(alerts) - fired}"


def test_promtool_accepts_the_regions_prometheus_config(tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes discovery, so the check swaps each
    job's `kubernetes_sd_configs` for a static target and checks everything else (rule
    files, relabelling) as written."""
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == [RULES.name]
    assert {job["job_name"] for job in config["scrape_configs"]} == {"hugmood", "nats"}
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs")[0]["role"] == "pod"
        job["static_configs"] = [{"targets": ["127.0.0.1:8000"]}]
    (tmp_path / RULES.name).write_text(RULES.read_text())
    checked_config = tmp_path / "prometheus.yml"
    checked_config.write_text(yaml.safe_dump(config))
    checked = run(tool("promtool"), "check", "config", str(checked_config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
