"""No full ID number or phone where it does not belong: after a scenario through every area
(tests/privacy_scenario.py), with a real Redis of the test's own, a real arq worker and a real
SMTP sink, the logs (as written, JSON with their extra fields), every Redis key and value
(job arguments included, read before and after the worker ran) and every e-mail are searched
for each full number. E-mails go to the account's own address and show parties masked only."""

from __future__ import annotations

import asyncio
import io
import logging
import pickle
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from booking.logs import JsonFormatter
from booking.notifications.delivery import sweep
from tests.helpers import SmtpSink
from tests.notifications.test_notifications import worker  # noqa: F401  (a fixture: an arq worker; the SMTP sink is conftest's)
from tests.privacy_scenario import Secrets, run_scenario
from tests.servers import OwnRedis

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides(own_redis: OwnRedis, sink: SmtpSink) -> dict[str, Any]:
    return {"redis_url": own_redis.url, "smtp_host": "127.0.0.1", "smtp_port": sink.port,
            "rate_limits_enabled": True, "notification_job_timeout_seconds": 30}


@pytest.fixture
def written_logs() -> Iterator[io.StringIO]:
    """Every log record of the test, formatted as booking serve writes it (JSON lines with
    their extra fields), at DEBUG."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _redis_contents(url: str) -> tuple[bytes, list[Any]]:
    """All keys and values (DUMP, whatever their type), and arq's job records."""
    client = aioredis.from_url(url)
    found, jobs = b"", []
    try:
        for key in await client.keys("*"):
            found += key + b"\n" + (await client.dump(key) or b"") + b"\n"
            if await client.type(key) == b"string":
                value = await client.get(key)
                if value and value[:1] == b"\x80":
                    jobs.append(pickle.loads(value))
    finally:
        await client.aclose()
    return found, jobs


def _absent(secrets: Secrets, text: bytes, where: str) -> None:
    for number in secrets.id_numbers:
        assert number.encode() not in text and number.lower().encode() not in text, (where, "ID number")
    for number in secrets.phones:
        assert number.encode() not in text, (where, "phone")


async def test_no_full_numbers_in_logs_redis_jobs_or_mail(client, runtime, own_redis, sink, written_logs,
                                                           worker):
    secrets = await run_scenario(client, runtime)
    assert len(secrets.id_numbers) >= 9 and len(secrets.phones) >= 10

    # the sweep hands due messages to the queue: job arguments are in Redis now
    await sweep(runtime)
    contents, jobs = await _redis_contents(own_redis.url)
    assert jobs and any(key in contents for key in (b"booking:rl:", b"arq:job:"))
    for job in jobs:
        if isinstance(job, dict) and "f" in job:
            assert job["f"] == "deliver_notification" and len(job["a"]) == 1  # an id, nothing else
    _absent(secrets, contents, "redis, jobs queued")

    # the worker delivers; the messages reach the SMTP sink
    deadline = time.monotonic() + 60
    while len(sink.messages) < 3 and time.monotonic() < deadline:
        await sweep(runtime)
        await asyncio.sleep(0.2)
    assert len(sink.messages) >= 3, [m["Subject"] for m in sink.messages]  # booking, application, sign-up
    for message in sink.messages:
        _absent(secrets, message.as_bytes(), f"mail {message['Subject']}")
    contents, _jobs = await _redis_contents(own_redis.url)
    _absent(secrets, contents, "redis, after delivery")
    logs = written_logs.getvalue()
    assert '"logger": "booking.access"' in logs and "sms" in logs  # the logs were captured
    _absent(secrets, logs.encode(), "logs")
