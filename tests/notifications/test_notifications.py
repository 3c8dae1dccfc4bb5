"""Reminders and invites that arrive once: the outbox, a real arq worker on a real Redis,
a real SMTP server (aiosmtpd) as the sink. The clock is moved by injection."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
import vobject

from booking.app import create_app
from booking.background.worker import build_worker
from booking.clock import Clock, FixedClock
from booking.notifications.delivery import channels, counts, sweep
from booking.runtime import Runtime
from tests.conftest import REDIS_URL, ROOT, make_settings, running
from tests.factories import couple_parties, create_office, make_actor, outbox_settled, weekday_schedule
from tests.helpers import SmtpSink, calendar_part, remind_at

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The run's own Redis database (BOOKING_TEST_REDIS): the only test module that uses it
    (the chaos tests bring their own Redis server), so it may be flushed."""
    url = REDIS_URL
    client = aioredis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def settings_overrides(sink: SmtpSink, redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url, "smtp_host": "127.0.0.1", "smtp_port": sink.port,
            "smtp_from": "婚姻登记预约 <no-reply@registry.example>", "smtp_timeout_seconds": 3,
            # a realistic job timeout: on a loaded machine a delivery may take seconds, and a
            # job cancelled by its timeout leaves its lease to expire, which a fixed clock
            # never lets happen (the killed-worker test sets its own short one)
            "notification_job_timeout_seconds": 30, "notification_lease_margin_seconds": 1,
            "notification_requeue_seconds": 3}


@pytest.fixture
async def worker(app, runtime: Runtime) -> AsyncIterator[Any]:
    """A real arq worker on the test's runtime (so it shares the injected clock). Its cron
    jobs are off: the tests call the sweep themselves, at the moments they choose."""
    arq = build_worker(runtime.settings, runtime=runtime, cron_jobs=[], handle_signals=False, poll_delay=0.01)
    task = asyncio.create_task(arq.async_run())
    yield arq
    await stop_worker(arq, task)


async def stop_worker(arq: Any, task: asyncio.Task[Any]) -> None:
    """Stop an in-process arq worker without letting its cancellation escape: a
    CancelledError leaking out of a fixture breaks the fixtures after it on the shared
    session loop."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.gather(asyncio.ensure_future(arq.close()), return_exceptions=True)


async def until(predicate: Any, timeout: float = 60.0, sweep_rt: Runtime | None = None) -> None:
    """Wait for ``predicate`` (sweeping meanwhile); the ceiling is generous because a
    loaded machine is slow, and the wait ends as soon as the predicate holds."""
    deadline = time.monotonic() + timeout
    stalled_since = time.monotonic()
    while time.monotonic() < deadline:
        if sweep_rt is not None:
            await sweep(sweep_rt)
        if predicate():
            return
        await asyncio.sleep(0.1)
        if (sweep_rt is not None and isinstance(sweep_rt.clock, FixedClock)
                and time.monotonic() - stalled_since > 2):
            # A job lost on its way (a transient error on a loaded machine) is handed on
            # again once the requeue interval has passed; a frozen clock must let that
            # much time pass, as a real one would.
            sweep_rt.clock.advance(seconds=sweep_rt.settings.notification_requeue_seconds + 1)
            stalled_since = time.monotonic()
    rows = ""
    if sweep_rt is not None:  # say where the outbox stands, for whoever reads the failure
        async with sweep_rt.db.raw() as conn:
            rows = "\n".join(str(dict(r)) for r in await conn.fetch(
                "SELECT kind, channel, state, attempts, last_error, next_attempt_at, leased_until FROM notification "
                "ORDER BY created_at"))
    raise AssertionError(f"timed out waiting; outbox:\n{rows}")


async def _book(client: httpx.AsyncClient, runtime: Runtime, day: str | None = None,
                language: str = "en") -> tuple[dict, Any, list, list]:
    """An office, a schedule, slots for the coming weeks, and one booking (on ``day``, or
    on the first bookable working day after the runtime's now)."""
    today = runtime.clock.now().astimezone(SH).date()
    start, end = today + timedelta(days=2), today + timedelta(days=14)
    admin = await make_actor(runtime, "admin")
    office = await create_office(client, admin, email="tianhe@registry.example")
    clerk = await make_actor(runtime, "clerk", office["id"])
    await client.put(f"/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(), headers=clerk.headers)
    generated = await client.post(f"/api/v1/offices/{office['id']}/slots/generate", headers=clerk.headers,
                                  json={"from": str(start), "to": str(end), "allow_unannounced_years": True})
    assert generated.status_code == 200, generated.text
    slots = (await client.get(f"/api/v1/offices/{office['id']}/slots?from={start}&to={end}",
                              headers=clerk.headers)).json()["data"]
    couple = await make_actor(runtime, "couple")
    parties = couple_parties()
    slot = next(s for s in slots if s["date"] == day) if day else slots[0]
    response = await client.post("/api/v1/appointments", headers={**couple.headers, "Accept-Language": language},
                                 json={"slot_id": slot["id"], "service": "marriage_registration", "parties": parties})
    assert response.status_code == 201, response.text
    return response.json(), couple, [s for s in slots if s["id"] != slot["id"]], parties


def _invite(message: Any) -> Any:
    part = calendar_part(message)
    assert part is not None, "no text/calendar part"
    return part, vobject.readOne(part.get_content())


async def test_confirmation_reschedule_and_cancel_by_mail(client, runtime, sink, worker, clock: FixedClock):
    booked, couple, other_slots, parties = await _book(client, runtime, day="2026-09-15")
    sms = channels(runtime).sms.sent
    await until(lambda: len(sink.messages) == 1 and len(sms) == 1, sweep_rt=runtime)
    mail = sink.messages[0]
    assert mail["To"].addresses[0].addr_spec == couple.email
    assert mail["Subject"].startswith("Appointment booked: Marriage registration")
    assert mail.get_body(("plain",)).get_content().count(booked["code"][:4]) == 1
    assert mail.get_body(("html",)) is not None
    part, invite = _invite(mail)
    assert part.get_param("method") == "REQUEST" and invite.method.value == "REQUEST"
    uid = invite.vevent.uid.value
    assert invite.vevent.dtstart.value == datetime(2026, 9, 15, 9, 0, tzinfo=SH)
    assert int(invite.vevent.sequence.value) == 0
    assert sms[0][0] == "*" * 8 + parties[0]["phone"][-3:]  # logged masked

    moved = await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", headers=couple.headers,
                              json={"slot_id": other_slots[3]["id"]})
    assert moved.status_code == 200
    await until(lambda: len(sink.messages) == 2, sweep_rt=runtime)
    _part, update = _invite(sink.messages[1])
    assert update.method.value == "REQUEST" and update.vevent.uid.value == uid
    assert int(update.vevent.sequence.value) == 1

    cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    assert cancelled.status_code == 200
    await until(lambda: len(sink.messages) == 3, sweep_rt=runtime)
    part, cancel = _invite(sink.messages[2])
    assert part.get_param("method") == "CANCEL" and cancel.method.value == "CANCEL"
    assert cancel.vevent.uid.value == uid and int(cancel.vevent.sequence.value) == 2

    await until(lambda: len(sms) == 3, sweep_rt=runtime)  # confirmed, moved, cancelled
    # the pending reminders never go out, however far the clock moves
    for hours in (12, 24, 48, 24 * 30):
        clock.advance(hours=hours)
        await sweep(runtime)
    await outbox_settled(runtime)  # a reminder still pending would go out, and be counted, first
    assert len(sink.messages) == 3 and len(sms) == 3
    assert len({m["Message-ID"] for m in sink.messages}) == 3
    stats = await counts(runtime)
    assert stats["failed"] == 0 and stats["pending"] == 0


async def test_reminders_when_due_and_dropped_when_late(client, runtime, sink, worker, clock: FixedClock):
    booked, couple, _slots, parties = await _book(client, runtime, day="2026-09-15", language="zh-CN")
    sms = channels(runtime).sms.sent
    await until(lambda: len(sink.messages) == 1 and len(sms) == 1, sweep_rt=runtime)
    clock.set(datetime(2026, 9, 14, 17, 59, tzinfo=SH))
    await sweep(runtime)
    # not yet: the sweep wrote no reminder (the outbox's state, not a wait for nothing to arrive)
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM notification WHERE kind = 'appointment.reminder'") == 0
    assert await remind_at(runtime, booked["id"]) == datetime(2026, 9, 14, 18, 0, tzinfo=SH)
    assert len(sink.messages) == 1
    clock.set(datetime(2026, 9, 14, 18, 0, tzinfo=SH))  # the day before, at the office's hour
    await until(lambda: len(sink.messages) == 2 and len(sms) == 2, sweep_rt=runtime)
    reminder = sink.messages[1]
    # the couple booked in Chinese: the texts are Chinese, the time in the office's timezone
    assert reminder["Subject"] == "预约提醒：结婚登记，2026年9月15日星期二 09:00"
    assert "广州市天河区测试路1号" in reminder.get_body(("plain",)).get_content()
    assert calendar_part(reminder) is None
    deadline = time.monotonic() + 30
    while (await counts(runtime))["sent"] < 4:  # the rows are marked just after the sends
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    # the two-hours-before SMS was missed by far (the worker "slept" through it): dropped
    clock.set(datetime(2026, 9, 15, 8, 50, tzinfo=SH))
    await sweep(runtime)
    await outbox_settled(runtime)
    assert len(sms) == 2 and len(sink.messages) == 2
    stats = await counts(runtime)
    assert stats == {"pending": 0, "sent": 4, "failed": 0, "dropped": 1, "cancelled": 0}


async def test_late_booking_gets_no_day_before_reminder(client, runtime, clock: FixedClock):
    admin = await make_actor(runtime, "admin")
    office = await create_office(client, admin, rules={"cutoff_days_before": 0, "cutoff_time": "23:59"})
    clerk = await make_actor(runtime, "clerk", office["id"])
    await client.put(f"/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{office['id']}/slots/generate", json={"from": "2026-09-14", "to": "2026-09-14"},
                      headers=clerk.headers)
    slot = (await client.get(f"/api/v1/offices/{office['id']}/slots?from=2026-09-14&to=2026-09-14",
                             headers=clerk.headers)).json()["data"][1]  # 14:00
    clock.set(datetime(2026, 9, 14, 13, 0, tzinfo=SH))
    couple = await make_actor(runtime, "couple")
    response = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slot["id"], "service": "marriage_registration", "parties": couple_parties()})
    assert response.status_code == 201
    async with runtime.db.raw() as conn:
        kinds = sorted(tuple(r) for r in await conn.fetch("SELECT kind, payload->>'which' FROM notification"))
    assert ("appointment.reminder", "day_before") not in kinds
    assert kinds.count(("appointment.confirmed", None)) == 2  # e-mail and SMS; no 2-hours SMS either (12:00 passed)
    assert all(k[0] != "appointment.reminder" for k in kinds)


async def test_redis_flushed_with_reminders_pending(client, runtime, sink, redis_url, clock: FixedClock):
    """Jobs sit in Redis with no worker; Redis is flushed; every message still arrives."""
    booked, _couple, _slots, _parties = await _book(client, runtime, day="2026-09-15")
    await sweep(runtime)  # hands the confirmations to Redis; nobody consumes them
    client_redis = aioredis.from_url(redis_url)
    assert await client_redis.dbsize() > 0
    await client_redis.flushdb()
    await client_redis.aclose()
    arq = build_worker(runtime.settings, runtime=runtime, cron_jobs=[], handle_signals=False, poll_delay=0.01)
    task = asyncio.create_task(arq.async_run())
    try:
        clock.advance(seconds=runtime.settings.notification_requeue_seconds + 1)
        await until(lambda: len(sink.messages) == 1, sweep_rt=runtime)
        clock.set(datetime(2026, 9, 14, 18, 0, tzinfo=SH))
        await until(lambda: len(sink.messages) == 2, sweep_rt=runtime)
    finally:
        await stop_worker(arq, task)
    assert len(sink.by_message_id()) == 2 and len(sink.messages) == 2


async def test_smtp_down_then_back(client, runtime, sink, worker, clock: FixedClock):
    sink.stop()
    booked, _couple, _slots, _parties = await _book(client, runtime)
    await sweep(runtime)

    async def failed_once() -> bool:
        async with runtime.db.raw() as conn:
            return bool(await conn.fetchval(
                "SELECT count(*) FROM notification WHERE channel = 'email' AND attempts >= 1 "
                "AND last_error LIKE 'smtp%' AND state = 'pending'"))

    deadline = time.monotonic() + 60
    while not await failed_once():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    for _ in range(2):  # still down at the next attempts
        clock.advance(seconds=200)
        await sweep(runtime)
        await asyncio.sleep(1)
    sink.start()
    clock.advance(seconds=600)
    await until(lambda: len(sink.messages) == 1, sweep_rt=runtime)
    clock.advance(seconds=3600)
    await sweep(runtime)
    await outbox_settled(runtime, ("appointment.confirmed",))
    assert len(sink.messages) == 1
    stats = await counts(runtime)
    assert stats["failed"] == 0


async def test_worker_killed_mid_delivery_mail_arrives_once(clean_db, tmp_path, sink, redis_url):
    """A real ``booking worker`` process is killed while the SMTP server holds its
    delivery; a second worker delivers the message exactly once."""
    settings = make_settings(clean_db, tmp_path, redis_url=redis_url, smtp_host="127.0.0.1", smtp_port=sink.port,
                             notification_job_timeout_seconds=2, notification_lease_margin_seconds=1,
                             notification_requeue_seconds=2)
    rt = Runtime.build(settings, clock=Clock())  # the worker process runs on the real clock too
    async with running(create_app(runtime=rt)) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            booked, _couple, _slots, parties = await _book(client, rt)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update({"BOOKING_DATABASE_URL": clean_db, "BOOKING_REDIS_URL": redis_url, "BOOKING_SMTP_HOST": "127.0.0.1",
                "BOOKING_SMTP_PORT": str(sink.port), "BOOKING_SECRET_KEY": settings.secret_key,
                "BOOKING_DATA_KEY": settings.data_key, "BOOKING_DATA_DIR": str(tmp_path),
                "BOOKING_NOTIFICATION_JOB_TIMEOUT_SECONDS": "2", "BOOKING_NOTIFICATION_LEASE_MARGIN_SECONDS": "1",
                "BOOKING_NOTIFICATION_REQUEUE_SECONDS": "2", "BOOKING_LOG_LEVEL": "DEBUG",
                "BOOKING_QUEUE_NAME": settings.queue_name})
    worker_cmd = [sys.executable, "-m", "booking.cli", "worker"]
    sink.hold_rcpt.set()
    first = subprocess.Popen(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    logs = []
    try:
        if not await asyncio.to_thread(sink.in_rcpt.wait, 30):
            first.kill()
            raise AssertionError("the worker never reached the SMTP server: " + first.communicate()[1].decode()[-3000:])
        first.send_signal(signal.SIGKILL)  # mid-delivery: the server has not accepted anything
        logs.append(first.communicate(timeout=10)[1].decode())
        assert sink.messages == []
    finally:
        sink.hold_rcpt.clear()
        if first.poll() is None:
            first.kill()
    second = subprocess.Popen(worker_cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        from booking.background.queue import connect_redis

        real = Runtime.build(settings, clock=Clock())
        real.redis = await connect_redis(redis_url, settings.queue_name)
        try:
            await until(lambda: len(sink.messages) >= 1, timeout=40, sweep_rt=real)
            await sweep(real)
            # the row is marked after its send: a duplicate would be in by now
            await outbox_settled(real, ("appointment.confirmed",))
        finally:
            await real.close()
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            logs.append(second.communicate(timeout=20)[1].decode())
        except subprocess.TimeoutExpired:
            second.kill()
    assert len(sink.messages) == 1, [m["Subject"] for m in sink.messages]
    # no personal data in the workers' logs or in Redis
    everything = "\n".join(logs)
    for party in parties:
        assert party["id_number"] not in everything and party["phone"] not in everything
    raw = aioredis.from_url(redis_url)
    for key in await raw.keys("*"):
        value = await raw.dump(key) or b""
        for party in parties:
            assert party["id_number"].encode() not in value and party["phone"].encode() not in value
            assert party["id_number"].encode() not in key and party["phone"].encode() not in key
    await raw.aclose()


async def test_no_personal_data_in_redis_or_job_arguments(client, runtime, sink, redis_url, caplog):
    import logging
    import pickle

    caplog.set_level(logging.DEBUG)
    booked, couple, _slots, parties = await _book(client, runtime)
    await sweep(runtime)
    raw = aioredis.from_url(redis_url)
    keys = await raw.keys("*")
    assert keys, "the sweep should have queued jobs"
    for key in keys:
        if await raw.type(key) == b"string":
            value = await raw.get(key)
            job = pickle.loads(value) if value and value[:1] == b"\x80" else None
            if isinstance(job, dict) and "a" in job:  # arq's job record: function and arguments
                assert job["f"] == "deliver_notification" and len(job["a"]) == 1
        dumped = await raw.dump(key) or b""
        for party in parties:
            for secret in (party["id_number"], party["phone"], couple.email):
                assert secret.encode() not in dumped and secret.encode() not in key
    await raw.aclose()
    for party in parties:
        assert party["id_number"] not in caplog.text and party["phone"] not in caplog.text


async def test_admin_counts(client, runtime, sink, worker, admin):
    await _book(client, runtime)
    before = (await client.get("/api/v1/admin/notifications/counts", headers=admin.headers)).json()
    # the confirmation by e-mail and SMS; the reminders are derived when due, not rows yet
    assert before["pending"] == 2 and before["sent"] == 0
    sms = channels(runtime).sms.sent
    await until(lambda: len(sink.messages) == 1 and len(sms) == 1, sweep_rt=runtime)
    deadline = time.monotonic() + 30
    while (after := (await client.get("/api/v1/admin/notifications/counts", headers=admin.headers)).json())[
            "sent"] < 2:  # the SMS row is marked sent just after the provider returns
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert after["sent"] == 2 and after["pending"] == 0
    couple = await make_actor(runtime, "couple")
    assert (await client.get("/api/v1/admin/notifications/counts", headers=couple.headers)).status_code == 403
    ready = (await client.get("/ready")).json()
    assert ready["checks"]["redis"] == "ok" and ready["checks"]["workers"] == 0  # cron off: no heartbeat




@pytest.mark.sqlite
async def test_embedded_default_delivers_in_process(tmp_path, sink):
    """SQLite, no Redis: ``booking serve``'s in-process loop sweeps and delivers."""
    from booking.migrations import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.sqlite3'}"
    await upgrade_async(url)
    settings = make_settings(url, tmp_path, smtp_host="127.0.0.1", smtp_port=sink.port, outbox_poll_seconds=0.2)
    rt = Runtime.build(settings, clock=FixedClock(datetime(2026, 9, 10, 2, 0, tzinfo=UTC)))
    assert rt.settings.redis_url is None
    async with running(create_app(runtime=rt, close_runtime=True)) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            booked, couple, _slots, _parties = await _book(client, rt, day="2026-09-15")
            # both confirmations out before the cancel: one still pending then is rightly
            # dropped (no "booked" text after a cancellation), and the count below would differ
            await until(lambda: len(sink.messages) == 1 and len(channels(rt).sms.sent) == 1)
            _part, invite = _invite(sink.messages[0])
            assert invite.method.value == "REQUEST"
            assert invite.vevent.dtstart.value == datetime(2026, 9, 15, 9, 0, tzinfo=SH)
            cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
            assert cancelled.status_code == 200
            await until(lambda: len(sink.messages) == 2 and len(channels(rt).sms.sent) == 2)
            assert _invite(sink.messages[1])[1].method.value == "CANCEL"


@pytest.mark.sqlite
async def test_in_process_delivery_yields_to_requests_in_flight(tmp_path, sink):
    """The embedded default delivers on the API's own event loop: each message first waits
    for a moment with no request in flight, at most BOOKING_BACKGROUND_YIELD_SECONDS, then
    goes ahead anyway (the outbox still moves under unbroken load)."""
    from booking.migrations import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.sqlite3'}"
    await upgrade_async(url)
    settings = make_settings(url, tmp_path, smtp_host="127.0.0.1", smtp_port=sink.port,
                             background_yield_seconds=0.6)
    rt = Runtime.build(settings, clock=FixedClock(datetime(2026, 9, 10, 2, 0, tzinfo=UTC)))
    rt.run_in_process_jobs = False  # the test sweeps at the moments it chooses
    load = rt.request_load
    async with running(create_app(runtime=rt, close_runtime=True)) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            _booked, couple, _slots, _parties = await _book(client, rt, day="2026-09-15")
            # the API counts its requests in flight: one while a request is being answered
            from booking.appointments import controllers

            seen: list[int] = []
            listed = controllers.list_own

            async def listing(*args: Any, **kwargs: Any) -> Any:
                seen.append(load.in_flight)
                return await listed(*args, **kwargs)

            controllers.list_own = listing  # type: ignore[assignment]
            try:
                assert (await client.get("/api/v1/appointments", headers=couple.headers)).status_code == 200
            finally:
                controllers.list_own = listed  # type: ignore[assignment]
            assert seen == [1] and load.in_flight == 0

            # a request in flight holds the confirmation back; the lull lets it go at once
            load.in_flight += 1
            sweeping = asyncio.create_task(sweep(rt))
            await asyncio.sleep(0.3)
            assert sink.messages == [] and not sweeping.done()
            load.in_flight -= 1
            await asyncio.wait_for(sweeping, 30)
            assert len(sink.messages) == 1 and len(channels(rt).sms.sent) == 1

            # under load that never pauses, each message waits out the bound and then leaves
            other = await make_actor(rt, "couple")
            slot = _slots[0]
            made = await client.post("/api/v1/appointments", headers=other.headers, json={
                "slot_id": slot["id"], "service": "marriage_registration", "parties": couple_parties()})
            assert made.status_code == 201, made.text
            load.in_flight += 1
            started = time.monotonic()
            await asyncio.wait_for(sweep(rt), 30)
            waited = time.monotonic() - started
            load.in_flight -= 1
            assert len(sink.messages) == 2 and len(channels(rt).sms.sent) == 2
            assert waited >= 2 * 0.6  # two messages (e-mail, SMS), each after the bound


async def test_attempts_exhausted_row_is_failed_and_visible(client, runtime, sink, worker, admin, clock):
    sink.stop()
    runtime.settings.notification_max_attempts = 2
    await _book(client, runtime)
    for _ in range(3):
        await sweep(runtime)
        await asyncio.sleep(1.0)
        clock.advance(seconds=400)

    async def failed() -> list[dict]:
        response = await client.get("/api/v1/admin/notifications?state=failed", headers=admin.headers)
        return response.json()["data"]

    deadline = time.monotonic() + 60
    while not await failed():
        assert time.monotonic() < deadline, "the e-mail row never failed"
        clock.advance(seconds=400)
        await sweep(runtime)
        await asyncio.sleep(0.3)
    rows = await failed()
    assert [(r["kind"], r["channel"], r["attempts"]) for r in rows] == [("appointment.confirmed", "email", 2)]
    assert rows[0]["last_error"].startswith("smtp")
    assert "@" not in str(rows)  # no address in what operators see


async def test_sms_rate_limit_per_number(redis_url):
    from booking.notifications.channels import RateLimited, SmsRateLimiter

    client = aioredis.from_url(redis_url)
    for limiter in (SmsRateLimiter(3), SmsRateLimiter(3, client)):
        hour = 1_800_000_000.0
        for _ in range(3):
            await limiter.take("phone-a", now=hour)
        with pytest.raises(RateLimited) as refused:
            await limiter.take("phone-a", now=hour + 60)
        assert 0 < refused.value.retry_after <= 3600
        await limiter.take("phone-b", now=hour + 60)  # another number is not affected
        await limiter.take("phone-a", now=hour + 3600)  # the next hour starts afresh
    await client.aclose()
