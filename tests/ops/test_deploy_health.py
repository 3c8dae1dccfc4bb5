"""The worker health check of deploy/ (Dockerfile, compose, Kubernetes): one command in all
three, run as written against a real ``booking worker`` process on a Redis of the test's own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, make_settings
from tests.servers import OwnRedis

DEPLOY = ROOT / "deploy"


def deploy_health_commands() -> dict[str, list[str]]:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    worker_stage = dockerfile.split("AS worker", 1)[1].split("\nFROM ", 1)[0]
    docker = json.loads(re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", worker_stage).group(1))
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["worker"]["healthcheck"]["test"]
    assert compose[0] == "CMD"
    k8s = yaml.safe_load((DEPLOY / "k8s" / "40-worker-deployment.yaml").read_text())
    container = k8s["spec"]["template"]["spec"]["containers"][0]
    return {"Dockerfile": docker, "compose": compose[1:], "k8s": container["livenessProbe"]["exec"]["command"]}


def _probe(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_the_deploy_health_check_sees_a_running_worker(pg_database: str, tmp_path: Path):
    commands = deploy_health_commands()
    assert len({tuple(c) for c in commands.values()}) == 1, commands
    command = commands["Dockerfile"]
    redis_server = OwnRedis()
    redis_server.start()
    settings = make_settings(pg_database, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update({"BOOKING_DATABASE_URL": pg_database, "BOOKING_REDIS_URL": redis_server.url,
                "BOOKING_SECRET_KEY": settings.secret_key, "BOOKING_DATA_KEY": settings.data_key,
                "BOOKING_DATA_DIR": str(tmp_path), "BOOKING_QUEUE_NAME": "booking:probe-test"})
    worker = None
    try:
        before = _probe(command, env)
        assert before.returncode == 1, before  # no worker yet: unhealthy
        worker = subprocess.Popen([sys.executable, "-m", "booking.cli", "worker"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 40
        while (result := _probe(command, env)).returncode != 0 and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            time.sleep(0.5)
        assert result.returncode == 0, result.stderr
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        redis_server.stop()
    # with Redis gone the check fails rather than hangs
    assert _probe(command, env).returncode == 1


@pytest.mark.parametrize("argv", [[], ["api"]])
def test_the_probe_refuses_unknown_arguments(argv: list[str]):
    result = subprocess.run([sys.executable, "-m", "booking.ops.probe", *argv], capture_output=True, text=True,
                            cwd=ROOT, timeout=30)
    assert result.returncode == 2 and "usage" in result.stderr
