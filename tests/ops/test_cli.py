"""The command line on the embedded default, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.sqlite

BOOKING = [sys.executable, "-m", "booking.cli"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["BOOKING_DATA_DIR"] = str(tmp_path / "var")
    env["BOOKING_PASSWORD_TIME_COST"] = "1"
    env["BOOKING_PASSWORD_MEMORY_COST_KIB"] = "1024"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_twice_then_serve(tmp_path: Path):
    env = _env(tmp_path)
    first = subprocess.run([*BOOKING, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "admin@demo.invalid" in first.stdout and "password" in first.stdout
    assert "pages  http://127.0.0.1:8000/" in first.stdout  # where the couples' pages are
    assert "desk   http://127.0.0.1:8000/desk" in first.stdout  # and the staff's
    second = subprocess.run([*BOOKING, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert " 0 new slots" in second.stdout
    # the passwords are generated, and a second run prints the same logins (nothing changed)
    logins = _logins(first.stdout)
    assert len(logins) == 6 and logins == _logins(second.stdout)
    assert len(set(logins.values())) == 6 and all(len(p) >= 16 for p in logins.values())
    assert (tmp_path / "var" / "demo-logins.json").stat().st_mode & 0o077 == 0
    assert first.stdout.count("event  ") == 12 and second.stdout.count(": exists") == 12  # one of each kind per office

    created = subprocess.run([*BOOKING, "users", "create", "--email", "clerk9@example.com", "--password",
                              "password-123", "--role", "clerk", "--office", "GZ-TIANHE"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0 and "created clerk clerk9@example.com" in created.stdout
    refused = subprocess.run([*BOOKING, "users", "create", "--email", "c@example.com", "--password",
                              "password-123", "--role", "clerk"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--office" in refused.stderr

    port = _free_port()
    server = subprocess.Popen([*BOOKING, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/ready").json()["status"] == "ok"
        schema = httpx.get(f"{base}/schema/openapi.json").json()
        assert "/api/v1/offices/{office_id}/availability" in schema["paths"]
        offices = httpx.get(f"{base}/api/v1/offices").json()["data"]
        assert len(offices) == 4
        availability = httpx.get(f"{base}/api/v1/offices/{offices[0]['id']}/availability",
                                 params={"service": "marriage_registration"})
        assert availability.status_code == 200 and "data" in availability.json()
        events = httpx.get(f"{base}/api/v1/events").json()
        assert events["total"] == 12 and {e["kind"] for e in events["data"]} == {"collective", "charity", "memorial"}
        # the pages on the embedded default show the demo data
        front = httpx.get(f"{base}/")
        assert front.status_code == 200 and "广州市天河区婚姻登记处" in front.text and "集体婚礼" in front.text
        office_page = httpx.get(f"{base}/offices/{offices[0]['id']}")
        assert office_page.status_code == 200 and "/book?slot=" in office_page.text
        login = httpx.post(f"{base}/api/v1/auth/login",
                           json={"email": "clerk9@example.com", "password": "password-123"})
        assert login.status_code == 200
        admin = httpx.post(f"{base}/api/v1/auth/login",
                           json={"email": "admin@demo.invalid", "password": logins["admin@demo.invalid"]})
        assert admin.status_code == 200
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=20)
    # the logs are JSON lines and carry no personal data (no emails, no passwords)
    assert "clerk9@example.com" not in err and "password-123" not in err
    assert '"logger": "booking.access"' in err
    # each request's access line names its route's full template, as the metrics do
    assert {"/api/v1/offices", "/api/v1/offices/{office_id}/availability", "/api/v1/auth/login"} <= _routes(err)


def _routes(log: str) -> set[str]:
    """The routes named by the access lines among the JSON log lines."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return {line["route"] for line in lines if line.get("logger") == "booking.access"}


def test_every_worker_process_of_serve_writes_the_access_lines(tmp_path: Path):
    """``serve --workers 2``: uvicorn spawns each process afresh; each configures its logs."""
    port = _free_port()
    server = subprocess.Popen([*BOOKING, "serve", "--port", str(port), "--workers", "2"], env=_env(tmp_path),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        answered = 0
        for _ in range(200):
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/api/v1/offices", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.1)
            if answered >= 6:
                break
        assert answered >= 6
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    assert "/api/v1/offices" in _routes(err), err[-2000:]


def _logins(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        if "  password: " in line:
            who, password = line.split("  password: ")
            found[who.split()[-1]] = password.strip()
    return found


def test_demo_refuses_in_production(tmp_path: Path):
    env = {**_env(tmp_path), "BOOKING_ENV": "production", "BOOKING_SECRET_KEY": "s" * 40,
           "BOOKING_DATA_KEY": "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=",
           "BOOKING_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1:1/none"}
    result = subprocess.run([*BOOKING, "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "production" in result.stderr
    assert result.stdout == "" and not (tmp_path / "var" / "demo-logins.json").exists()


def test_production_refuses_to_start_without_secrets(tmp_path: Path):
    env = {**_env(tmp_path), "BOOKING_ENV": "production",
           "BOOKING_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1:1/none"}
    result = subprocess.run([*BOOKING, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "BOOKING_SECRET_KEY" in result.stderr
