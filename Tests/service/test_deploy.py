"""deploy/ and docker-compose.yml stay true to the binary: every metric the
Grafana dashboard and the Prometheus alerts query is one /metrics exports,
and every compose service that others wait on has a healthcheck."""
import json
import os
import re
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def exported_metrics(service):
    text = urllib.request.urlopen(service.url + "/metrics", timeout=10).read().decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)  # _bucket, _sum, _count, _total
    return names


def queried_metrics(expressions):
    return {name for expr in expressions for name in re.findall(r"\bhacksync_[a-z0-9_]+", expr)}


def test_grafana_and_alerts_query_only_exported_metrics(service):
    dashboard = json.load(open(os.path.join(ROOT, "deploy/grafana/dashboards/hacksync.json")))
    panel_exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    alerts = yaml.safe_load(open(os.path.join(ROOT, "deploy/prometheus/alerts.yml")))
    alert_exprs = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    queried = queried_metrics(panel_exprs + alert_exprs)
    assert len(queried) >= 13, queried
    # Replication series exist per slot; test_replication.py checks them with a slot in place.
    missing = {name for name in queried if not name.startswith("hacksync_replication_")} - exported_metrics(service)
    assert not missing, f"queried but not exported: {sorted(missing)}"


def test_compose_wires_the_stack_with_healthchecks():
    compose = yaml.safe_load(open(os.path.join(ROOT, "docker-compose.yml")))["services"]
    assert {"postgres", "elasticsearch", "kibana", "hacksync", "prometheus", "grafana"} <= set(compose)
    waited_on = {name for service in compose.values()
                 for name, condition in (service.get("depends_on") or {}).items()
                 if condition.get("condition") == "service_healthy"}
    for name in waited_on | {"hacksync"}:
        assert "healthcheck" in compose[name], f"{name} has no healthcheck"
    assert "/readyz" in " ".join(compose["hacksync"]["healthcheck"]["test"])
    env = compose["hacksync"]["environment"]
    assert env["ELASTICSEARCH_URL"].startswith("http://elasticsearch:") and "@postgres:" in env["DATABASE_URL"]
    scrape = yaml.safe_load(open(os.path.join(ROOT, "deploy/prometheus/prometheus.yml")))
    targets = [t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert "hacksync:8080" in targets
