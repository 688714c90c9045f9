"""The monitoring kit in deploy/ (Prometheus scrape and alert rules, Grafana's dashboard)
cannot run here; it must at least parse, be wired the way docker-compose mounts it,
keep its alerts in order of business impact, and name only metrics a worker serves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from streams.live_metrics import ConsumerLag
from streams.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def _served() -> set[str]:
    names = {family.name for family in Metrics().registry.collect()}
    stub = SimpleNamespace(app=SimpleNamespace(consumer=None), declared=dict)
    names |= {family.name for family in ConsumerLag(stub).collect()}  # type: ignore[arg-type]
    return names


def _unknown(expr: str, served: set[str]) -> list[str]:
    out = []
    for name in re.findall(r"woosync_[a-z_]+", expr):
        base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)
                     and name[: -len(s)] in served), name)
        if base not in served:
            out.append(name)
    return out


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_prometheus_scrapes_the_worker_and_loads_the_rules_compose_mounts() -> None:
    compose = _yaml(ROOT / "docker-compose.yml")["services"]
    config = _yaml(DEPLOY / "prometheus" / "prometheus.yml")
    job, = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["worker:6066"]
    assert compose["worker"]["environment"]["WOOSYNC_WEB_PORT"] == "6066"
    mounted = {v.split(":")[1] for v in compose["prometheus"]["volumes"]}
    assert set(config["rule_files"]) <= mounted
    grafana = {v.split(":")[1] for v in compose["grafana"]["volumes"]}
    provider = _yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "woosync.yml")
    assert provider["providers"][0]["options"]["path"] in grafana


def test_alerts_come_in_order_of_business_impact_and_name_served_metrics() -> None:
    served = _served()
    rules = _yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"][0]["rules"]
    assert [int(r["labels"]["rank"]) for r in rules] == list(range(1, len(rules) + 1))
    assert [r["alert"] for r in rules][:4] == [
        "WoosyncOversold", "WoosyncOversellRisk", "WoosyncOrdersStuck", "WoosyncErpFeedStale"]
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert _unknown(rule["expr"], served) == [], rule["alert"]


def test_the_grafana_dashboard_names_served_metrics() -> None:
    served = _served()
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "woosync.json").read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    for panel in board["panels"]:
        for target in panel["targets"]:
            assert _unknown(target["expr"], served) == [], panel["title"]
    assert _unknown("woosync_no_such_metric", served) == ["woosync_no_such_metric"]
