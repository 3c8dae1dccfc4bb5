"""deploy/prometheus and deploy/grafana: Prometheus's own tool accepts the scrape config and
the alert rules, the alerts fire on the trouble they name (promtool's rule unit tests), and
every metric the alerts and the dashboard use is one the service exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from booking.observability.snapshot import Snapshot, SnapshotCollector
from tests.conftest import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "booking-rush.json"
METRIC = re.compile(r"\bbooking_[a-z_]+\b")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: apt-get install prometheus (.ci/run installs it)")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_scrape_config(tmp_path):
    # the scrape token is a file next to the config, never committed: give it a stand-in
    config = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, config)
    (config / "booking-metrics-token").write_text("stand-in-token\n")
    result = promtool("check", "config", "prometheus.yml", cwd=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    checked = promtool("check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml", cwd=PROMETHEUS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    names = set(re.findall(r"- alert: (\w+)", (PROMETHEUS / "alerts.yml").read_text()))
    assert names >= {"BookingOutboxFallingBehind", "BookingDeliveriesFailed", "BookingHighErrorRate", "BookingSlow",
                     "BookingNoWorkerHeartbeat"}
    for name in names:  # each alert has a unit test that expects it to fire
        assert f"alertname: {name}" in (PROMETHEUS / "alerts.test.yml").read_text(), name


def exported_series() -> set[str]:
    """The names of every series the service can export (declared metrics and the
    scrape-time gauges), with the suffixes Prometheus sees."""
    families = {f.name for f in REGISTRY.collect()}
    families |= {f.name for f in SnapshotCollector(Snapshot(ok=True, workers=1)).collect()}
    return {name + suffix for name in families for suffix in ("", "_total", "_bucket", "_count", "_sum")}


def test_the_dashboard_and_the_alerts_use_only_exported_metrics():
    import booking.observability.metrics  # noqa: F401 - declares the metrics

    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    titles = " / ".join(p["title"] for p in panels).lower()
    for wanted in ("requests per second", "outcomes per second", "p50 / p99", "seats left per office", "outbox depth",
                   "oldest due"):
        assert wanted in titles, wanted
    expressions = [t["expr"] for p in panels for t in p["targets"]]
    assert all(p["targets"] for p in panels)
    used = {m for e in expressions for m in METRIC.findall(e)}
    used |= set(METRIC.findall((PROMETHEUS / "alerts.yml").read_text()))
    assert used and used <= exported_series(), used - exported_series()
