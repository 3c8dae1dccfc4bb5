"""/metrics as production runs it: two real API server processes (``booking serve``)
sharing one PROMETHEUS_MULTIPROC_DIR, a real ``booking worker`` with its own endpoint,
PostgreSQL, Redis and an SMTP sink. A booking on one process, a refused booking on the
other and one delivered notification each move their counter by exactly one, whichever
process answers the scrape."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from booking.background.queue import connect_redis
from booking.clock import Clock
from booking.notifications.delivery import sweep
from booking.runtime import Runtime
from tests.conftest import REDIS_URL, ROOT, make_settings
from tests.factories import couple_parties, make_actor, weekday_schedule
from tests.helpers import SmtpSink, free_port
from tests.metrics_helpers import personal_labels, value

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")
TOKEN = secrets.token_urlsafe(24)
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], logs: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-m", "booking.cli", *command], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            logs.append(child.communicate(timeout=20)[1].decode(errors="replace"))
        except subprocess.TimeoutExpired:
            child.kill()
            logs.append(child.communicate()[1].decode(errors="replace"))


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            found = await check()
            if found:
                return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def stack(clean_db: str, tmp_path: Path, sink: SmtpSink) -> AsyncIterator[dict[str, Any]]:
    settings = make_settings(clean_db, tmp_path, redis_url=REDIS_URL, smtp_host="127.0.0.1", smtp_port=sink.port,
                             queue_name=f"booking:test:metrics:{secrets.token_hex(4)}")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKING_", "OTEL_"))}
    env.update({
        "BOOKING_DATABASE_URL": clean_db, "BOOKING_REDIS_URL": REDIS_URL, "BOOKING_QUEUE_NAME": settings.queue_name,
        "BOOKING_SECRET_KEY": settings.secret_key, "BOOKING_DATA_KEY": settings.data_key,
        "BOOKING_DATA_DIR": str(tmp_path), "BOOKING_SMTP_HOST": "127.0.0.1", "BOOKING_SMTP_PORT": str(sink.port),
        "BOOKING_METRICS_TOKEN": TOKEN, "BOOKING_METRICS_SNAPSHOT_SECONDS": "0", "BOOKING_LOG_LEVEL": "WARNING",
        "BOOKING_DB_POOL_SIZE": "3", "BOOKING_DB_MAX_OVERFLOW": "2", "BOOKING_DB_FAST_POOL_SIZE": "4",
        # the worker is given the API's directory too, and must keep out of it
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    })
    ports = [free_port(), free_port()]
    worker_port = free_port()
    logs: list[str] = []
    with (process(["serve", "--port", str(ports[0])], env, logs) as first,
          process(["serve", "--port", str(ports[1])], env, logs) as second,
          process(["worker"], {**env, "BOOKING_WORKER_METRICS_PORT": str(worker_port)}, logs)):
        async with httpx.AsyncClient(timeout=30) as http:
            for port in ports:
                await wait_for(lambda port=port: _ok(http.get(f"http://127.0.0.1:{port}/health")), "the API")
            await wait_for(lambda: _ok(http.get(f"http://127.0.0.1:{worker_port}/metrics", headers=SCRAPE)),
                           "the worker's metrics endpoint")
            rt = Runtime.build(settings, clock=Clock())  # the processes run on the real clock
            rt.redis = await connect_redis(REDIS_URL, settings.queue_name)
            try:
                yield {"http": http, "apis": [f"http://127.0.0.1:{p}" for p in ports], "processes": [first, second],
                       "worker": f"http://127.0.0.1:{worker_port}", "runtime": rt, "sink": sink,
                       "multiproc": multiproc, "logs": logs}
            finally:
                await rt.close()


async def _ok(request: Any) -> bool:
    return (await request).status_code == 200


async def scrape(http: httpx.AsyncClient, base: str) -> str:
    response = await http.get(f"{base}/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    return response.text


async def open_office(http: httpx.AsyncClient, api: str, rt: Runtime) -> tuple[list[dict[str, Any]], Any]:
    """An office whose slots each seat one couple, for the coming two weeks."""
    admin = await make_actor(rt, "admin")
    office = (await http.post(f"{api}/api/v1/offices", headers=admin.headers, json={
        "code": "GZ-METRICS", "name_zh": "广州市测试区婚姻登记处", "name_en": "Metrics Registry", "province_code": "44",
        "division_code": "440106", "city": "广州", "address_zh": "广州市天河区测试路1号", "address_en": "1 Test Road",
        "services": ["marriage_registration"]})).json()
    clerk = await make_actor(rt, "clerk", office["id"])
    await http.put(f"{api}/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(capacity=1),
                   headers=clerk.headers)
    today = rt.clock.now().astimezone(SH).date()
    start, end = today + timedelta(days=2), today + timedelta(days=14)
    generated = await http.post(f"{api}/api/v1/offices/{office['id']}/slots/generate", headers=clerk.headers,
                                json={"from": str(start), "to": str(end), "allow_unannounced_years": True})
    assert generated.status_code == 200, generated.text
    slots = (await http.get(f"{api}/api/v1/offices/{office['id']}/slots?from={start}&to={end}",
                            headers=clerk.headers)).json()["data"]
    return slots, office


def outcome(text: str, name: str) -> float:
    return value(text, "booking_outcomes_total", kind="appointment", outcome=name)


async def test_two_api_processes_and_a_worker_count_each_event_once(stack):
    http, (api_a, api_b), worker = stack["http"], stack["apis"], stack["worker"]
    rt: Runtime = stack["runtime"]
    slots, _office = await open_office(http, api_a, rt)
    first, second = await make_actor(rt, "couple"), await make_actor(rt, "couple")
    before = await scrape(http, api_a)
    assert outcome(before, "booked") == outcome(before, "slot_full") == 0

    body = {"slot_id": slots[0]["id"], "service": "marriage_registration"}
    parties = couple_parties()
    booked = await http.post(f"{api_a}/api/v1/appointments", json={**body, "parties": parties},
                             headers=first.headers)
    assert booked.status_code == 201, booked.text
    refused = await http.post(f"{api_b}/api/v1/appointments", json={**body, "parties": couple_parties()},
                              headers=second.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"

    # the confirmation goes out through the worker (e-mail to the account, SMS to the party)
    await sweep(rt)
    await wait_for(lambda: _delivered(http, worker), "the worker to count the delivery")
    assert len(stack["sink"].messages) == 1

    for base in (api_a, api_b):
        await scrape(http, base)  # a scrape samples its own process's pools
    texts = {base: await scrape(http, base) for base in (api_a, api_b)}
    for base, text in texts.items():  # either process answers with the sum of both
        assert outcome(text, "booked") == 1, base
        assert outcome(text, "slot_full") == 1, base
        for status in ("201", "409"):
            assert value(text, "booking_http_requests_total", route="/api/v1/appointments", method="POST",
                         status=status) == 1, (base, status)
        # the API processes deliver nothing: the worker does, and keeps out of their sums
        assert value(text, "booking_notification_deliveries_total", channel="email", result="sent") == 0
        assert value(text, "booking_worker_heartbeats") >= 1
    # per-process gauges add up over the live processes: two pools of 3 + 2
    assert value(texts[api_a], "booking_db_pool_limit", pool="sqlalchemy") == 10

    worker_text = await scrape(http, worker)
    assert value(worker_text, "booking_notification_deliveries_total", channel="email", result="sent") == 1
    assert value(worker_text, "booking_notification_deliveries_total", channel="sms", result="sent") == 1
    assert value(worker_text, "booking_outcomes_total", kind="appointment", outcome="booked") == 0
    assert value(worker_text, "booking_job_queue_latency_seconds_count", function="deliver_notification") == 2
    assert value(worker_text, "booking_jobs_total", function="deliver_notification", result="ok") == 2
    assert value(worker_text, "booking_jobs_total", function="heartbeat", result="ok") >= 1

    # no personal data in any label, on either side
    known = [p[k] for p in parties for k in ("id_number", "phone")] + [
        first.email, second.email, booked.json()["code"], booked.json()["id"], str(first.id)]
    for text in (*texts.values(), worker_text):
        assert personal_labels(text, known) == []

    # the scrape is not public: no token, no metrics
    for base in (api_a, worker):
        assert (await http.get(f"{base}/metrics")).status_code == 401

    # one API process ends: its counts stay in the sums, its pool gauges leave them
    stopped = stack["processes"][1]
    stopped.send_signal(signal.SIGTERM)
    await asyncio.to_thread(stopped.wait, 20)
    after = await scrape(http, api_a)
    assert outcome(after, "slot_full") == 1
    assert value(after, "booking_db_pool_limit", pool="sqlalchemy") == 5


async def _delivered(http: httpx.AsyncClient, worker: str) -> bool:
    text = await scrape(http, worker)
    return all(value(text, "booking_notification_deliveries_total", channel=c, result="sent") >= 1
               for c in ("email", "sms"))
