"""The deploy files give a worker more time to stop than it takes: a rollout's SIGTERM ends
in the worker's graceful stop (no delivery cut, none repeated), never in the SIGKILL that
follows an exhausted grace period."""

from __future__ import annotations

import re

import yaml

from booking.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
# what the worker needs after its own grace: closing its pools and exiting
EXIT_MARGIN_SECONDS = 5


def _seconds(duration: str) -> float:
    """A compose duration such as ``40s``, ``1m30s`` or ``1m``."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, f"unexpected duration {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def _default(name: str) -> float:
    return float(Settings.model_fields[name].default)


def test_the_deploy_files_grace_exceeds_the_workers_stop():
    worker_grace = _default("worker_stop_grace_seconds")
    delivery = _default("notification_job_timeout_seconds") + _default("notification_lease_margin_seconds")
    assert worker_grace >= delivery, "a delivery started just before SIGTERM must fit the worker's grace"

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    compose_grace = _seconds(compose["services"]["worker"]["stop_grace_period"])
    deployment = yaml.safe_load((DEPLOY / "k8s" / "40-worker-deployment.yaml").read_text())
    k8s_grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert compose_grace == k8s_grace
    assert compose_grace >= worker_grace + EXIT_MARGIN_SECONDS

    # neither deployment changes the worker's grace from its default
    config = yaml.safe_load((DEPLOY / "k8s" / "10-configmap.yaml").read_text())["data"]
    assert "BOOKING_WORKER_STOP_GRACE_SECONDS" not in config
    assert "BOOKING_WORKER_STOP_GRACE_SECONDS" not in str(compose["services"]["worker"].get("environment", {}))
    # and the env reference shows that default
    example = (DEPLOY / "booking.env.example").read_text()
    shown = re.search(r"^# BOOKING_WORKER_STOP_GRACE_SECONDS=(\S+)$", example, re.MULTILINE)
    assert shown and float(shown[1]) == worker_grace
    assert not re.search(r"^BOOKING_WORKER_STOP_GRACE_SECONDS=", example, re.MULTILINE)
