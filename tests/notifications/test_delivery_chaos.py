"""Rollouts and crashes, for real: a few hundred messages drain through real ``booking worker``
processes (on the test database and a Redis server of the test's own, which it flushes) to
a real SMTP server and the Alibaba Cloud SMS stand-in, while the worker is stopped a dozen
times mid-delivery and started again. Both receivers are slow to answer a message they have
accepted, so a worker stopped then has messages on the wire. Counted at the receivers, by
Message-ID and by OutId.

The test process sweeps every half second besides the workers (as the other replicas'
sweeps would), so rows whose job or lease was lost come back without waiting for the
20-second cron.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from booking.app import create_app
from booking.background.queue import connect_redis
from booking.clock import Clock
from booking.notifications.delivery import sweep
from booking.notifications.registry import message_id
from booking.runtime import Runtime
from tests.aliyun_sms_gateway import AliyunSmsGateway
from tests.conftest import ROOT, make_settings, running
from tests.factories import couple_parties, make_actor, open_office
from tests.helpers import SmtpSink, free_port

EMAILS, SMS = 240, 60  # messages to drain
STOPS = 12
FLUSH_AT = {3, 7, 11}  # stops at which Redis is flushed too, just before the signal
CONCURRENCY = 4  # deliveries on the wire per worker
GRACE_SECONDS = 10.0
TEMPLATE = "SMS_500001"
KEY_ID, SECRET, SIGN_NAME = "LTAI-chaos", "chaos-secret", "婚姻登记预约"
WORKER = ("import sys\n"
          "import booking.cli, booking.background.jobs, booking.background.wiring, booking.background.worker\n"
          "sys.stdin.readline()\n"
          "sys.exit(booking.cli.main(['worker']))\n")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test's own: it is flushed mid-run, which no shared one may be."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.reply_delay = 0.05
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway() -> Iterator[AliyunSmsGateway]:
    server = AliyunSmsGateway(KEY_ID, SECRET, SIGN_NAME, {TEMPLATE: "您已预约${when}在${office}办理${service}，预约号${code}。"})
    server.reply_delay = 0.05
    server.start()
    yield server
    server.stop()


@dataclass
class Drain:
    """One scenario's outbox, receivers and workers."""

    env: dict[str, str]
    logs: Path
    sink: SmtpSink
    gateway: AliyunSmsGateway
    rt: Runtime  # the test's own: reads the outbox and sweeps (real clock)
    expected_mails: set[str] = field(default_factory=set)
    expected_sms: set[str] = field(default_factory=set)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    spare: subprocess.Popen[bytes] | None = None

    def received(self) -> int:
        return len(self.sink.messages) + len(self.gateway.sent)

    def start_worker(self) -> subprocess.Popen[bytes]:
        """``booking worker`` in a process of its own. The next one is already waiting with
        its modules imported (the slow part of a start), as a new pod would be up before
        the old one is stopped; it runs ``booking.cli.main(["worker"])`` when told to."""
        worker = self.spare or self._spawn()
        assert worker.stdin is not None
        worker.stdin.write(b"start\n")
        worker.stdin.close()
        self.spare = self._spawn()
        return worker

    def _spawn(self) -> subprocess.Popen[bytes]:
        with (self.logs / f"worker-{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen([sys.executable, "-c", WORKER], env=self.env, cwd=ROOT,
                                       stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def log_tail(self) -> str:
        last = self.logs / f"worker-{len(self.processes) - 2}.log"  # the last started (the spare is after it)
        return last.read_text(errors="replace")[-3000:] if last.exists() else ""

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                async with self.rt.db.raw() as conn:
                    rows = await conn.fetch("SELECT state, attempts, last_error, next_attempt_at, leased_until, now() "
                                            "FROM notification WHERE state <> 'sent' LIMIT 5")
                queued = await self.rt.redis.zcard(self.env["BOOKING_QUEUE_NAME"])
                raise AssertionError(f"timed out waiting for {what}: {self.received()} received, outbox "
                                     f"{dict(await self.states())}, {queued} jobs queued, e.g. {[dict(r) for r in rows]}; "
                                     f"last worker's log:\n{self.log_tail()}")
            await asyncio.sleep(0.005)

    async def leased(self) -> list[tuple[str, Any]]:
        """Rows leased and not marked: the deliveries on the wire of a worker that is gone.
        Read once the gone worker's transactions have ended in PostgreSQL: a COMMIT it sent
        just before it died may still be on its way."""
        async with self.rt.db.raw() as conn:
            deadline = time.monotonic() + 30
            while await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"):
                assert time.monotonic() < deadline, "a transaction never ended"
                await asyncio.sleep(0.01)
            return [(str(r["id"]), r["leased_until"]) for r in await conn.fetch(
                "SELECT id, leased_until FROM notification WHERE state = 'pending' AND leased_until IS NOT NULL")]

    async def states(self) -> Counter[str]:
        async with self.rt.db.raw() as conn:
            return Counter({r["state"]: r["n"] for r in await conn.fetch(
                "SELECT state, count(*) AS n FROM notification GROUP BY state")})


@pytest.fixture
async def drain(clean_db: str, tmp_path: Path, sink: SmtpSink, gateway: AliyunSmsGateway,
                redis_server: str) -> AsyncIterator[Drain]:
    await _fill_outbox(clean_db, tmp_path)
    # short, so that a killed worker's leases run out, and rows whose job was lost are handed
    # on again, within the test (the test's sweeps and the workers' use the same)
    timing = {"notification_job_timeout_seconds": 5, "notification_lease_margin_seconds": 2,
              "notification_requeue_seconds": 5}
    settings = make_settings(clean_db, tmp_path, redis_url=redis_server, **timing)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update({
        "BOOKING_ENV": "test", "BOOKING_DATABASE_URL": clean_db, "BOOKING_REDIS_URL": redis_server,
        "BOOKING_QUEUE_NAME": settings.queue_name, "BOOKING_DATA_DIR": str(tmp_path),
        "BOOKING_SECRET_KEY": settings.secret_key, "BOOKING_DATA_KEY": settings.data_key,
        "BOOKING_SMTP_HOST": "127.0.0.1", "BOOKING_SMTP_PORT": str(sink.port),
        "BOOKING_SMS_PROVIDER": "aliyun", "BOOKING_SMS_ENDPOINT": gateway.url, "BOOKING_SMS_ACCESS_KEY_ID": KEY_ID,
        "BOOKING_SMS_ACCESS_KEY_SECRET": SECRET, "BOOKING_SMS_SIGN_NAME": SIGN_NAME,
        "BOOKING_SMS_TEMPLATES": json.dumps({"appointment.confirmed": TEMPLATE}),
        "BOOKING_SMS_PER_NUMBER_PER_HOUR": "100000",
        "BOOKING_NOTIFICATION_CONCURRENCY": str(CONCURRENCY), "BOOKING_WORKER_STOP_GRACE_SECONDS": str(GRACE_SECONDS),
        **{f"BOOKING_{name.upper()}": str(value) for name, value in timing.items()},
        "BOOKING_DB_POOL_SIZE": "4", "BOOKING_DB_MAX_OVERFLOW": "4", "BOOKING_DB_FAST_POOL_SIZE": "2",
        "BOOKING_LOG_LEVEL": "INFO",
    })
    rt = Runtime.build(settings, clock=Clock())
    rt.redis = await connect_redis(redis_server, settings.queue_name)
    run = Drain(env, tmp_path, sink, gateway, rt)
    async with rt.db.raw() as conn:
        for row in await conn.fetch("SELECT id, channel FROM notification"):
            (run.expected_mails if row["channel"] == "email" else run.expected_sms).add(str(row["id"]))

    async def sweeping() -> None:
        while True:
            try:
                await sweep(rt)
            except Exception as exc:  # noqa: BLE001 - e.g. Redis mid-flush: the next round goes on
                print(f"sweep failed: {exc!r}", file=sys.stderr)
            await asyncio.sleep(0.5)

    sweeper = asyncio.create_task(sweeping())
    try:
        yield run
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        for process in run.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        await rt.close()


async def _fill_outbox(database_url: str, tmp_path: Path) -> None:
    """Three real bookings, then their confirmations many times over: each copy is a row
    of its own (its own id, so its own Message-ID or OutId) that renders like the original.
    Only confirmations are kept (the reminders are not due for days)."""
    rt = Runtime.build(make_settings(database_url, tmp_path), clock=Clock())
    rt.run_in_process_jobs = False
    today = rt.clock.now().date()
    first, last = str(today + timedelta(days=3)), str(today + timedelta(days=20))
    async with running(create_app(runtime=rt, close_runtime=True)) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            office = await open_office(client, rt, await make_actor(rt, "admin"), dates=(first, last))
            slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from={first}&to={last}",
                                      headers=office.clerk.headers)).json()["data"]
            for slot in slots[:3]:
                couple = await make_actor(rt, "couple")
                booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
                    "slot_id": slot["id"], "service": "marriage_registration", "parties": couple_parties()})
                assert booked.status_code == 201, booked.text
            async with rt.db.raw() as conn:
                await conn.execute("DELETE FROM notification WHERE kind <> 'appointment.confirmed'")
                for channel, total in (("email", EMAILS), ("sms", SMS)):
                    await conn.execute(  # total - 3 copies, spread over the three originals
                        "INSERT INTO notification (id, kind, channel, account_id, party_id, locale, subject_type, "
                        "subject_id, sequence, due_at, not_after, state, attempts, next_attempt_at, payload, "
                        "created_at) SELECT gen_random_uuid(), kind, channel, account_id, party_id, locale, "
                        "subject_type, subject_id, sequence, due_at, not_after, state, 0, next_attempt_at, payload, "
                        "created_at FROM (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM notification "
                        "WHERE channel = $1) AS original JOIN generate_series(0, $2 - 4) AS n ON n % 3 = original.k",
                        channel, total)
                counts = {r["channel"]: r["n"] for r in await conn.fetch(
                    "SELECT channel, count(*) AS n FROM notification GROUP BY channel")}
    assert counts == {"email": EMAILS, "sms": SMS}


async def _stop_mid_delivery(run: Drain, how: signal.Signals, flush: bool, redis_url: str) -> tuple[int, float]:
    """Start a worker, let it deliver its share, signal it while the receivers hold
    messages they accepted but have not answered yet; returns its exit code and how long
    it took to exit."""
    worker = run.start_worker()
    share = (EMAILS + SMS) // (STOPS + 1)
    before = run.received()
    await run.until(lambda: run.received() >= before + share, "the worker to deliver its share")
    await run.until(lambda: run.sink.replying + run.gateway.replying > 0, "a message on the wire")
    if flush:
        client = aioredis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()
    signalled = time.monotonic()
    worker.send_signal(how)
    code = await asyncio.to_thread(worker.wait, 60)
    return code, time.monotonic() - signalled


async def _drain_the_rest(run: Drain) -> None:
    worker = run.start_worker()
    await run.until(lambda: {m["Message-ID"] for m in run.sink.messages} >= {message_id(i) for i in run.expected_mails}
                    and set(run.gateway.by_out_id()) >= run.expected_sms, "every message", timeout=90)
    deadline = time.monotonic() + 30
    while (await run.states())["pending"]:  # the last marks
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 60) == 0


def _copies(run: Drain) -> Counter[str]:
    """How many times each row's message arrived, by Message-ID (mail) and OutId (SMS),
    keyed by row id; a message under any other id fails the test."""
    mails = Counter(m["Message-ID"] for m in run.sink.messages)
    by_message_id = {message_id(i): i for i in run.expected_mails}
    assert set(mails) == set(by_message_id), "a mail under an id of no row, or a row's mail missing"
    texts = run.gateway.by_out_id()
    assert set(texts) == run.expected_sms, "an SMS under an OutId of no row, or a row's SMS missing"
    return Counter({by_message_id[m]: n for m, n in mails.items()}) + Counter(texts)


async def test_rollouts_lose_nothing_and_repeat_nothing(drain: Drain, redis_server: str):
    """SIGTERM a dozen times mid-delivery (three times right after a Redis flush)."""
    exits: list[float] = []
    for stop in range(STOPS):
        code, took = await _stop_mid_delivery(drain, signal.SIGTERM, stop in FLUSH_AT, redis_server)
        assert code == 0, drain.log_tail()
        assert took < GRACE_SECONDS, f"the worker took {took:.1f}s to stop"
        # every delivery it had started was finished and marked before it exited
        assert await drain.leased() == [], drain.log_tail()
        exits.append(took)
    await _drain_the_rest(drain)
    copies = _copies(drain)
    repeated = {row: n - 1 for row, n in copies.items() if n > 1}
    print(f"\nrollouts: {len(copies)} messages, {STOPS} SIGTERMs ({len(FLUSH_AT)} after a Redis flush): "
          f"0 lost, {sum(repeated.values())} repeated; stops took {min(exits):.2f}-{max(exits):.2f}s")
    assert repeated == {}
    assert await drain.states() == Counter({"sent": EMAILS + SMS})


async def test_crashes_repeat_only_what_was_on_the_wire(drain: Drain, redis_server: str):
    """SIGKILL a dozen times mid-delivery (three times right after a Redis flush)."""
    on_the_wire: Counter[str] = Counter()  # row id -> kills it was leased and unmarked at
    seen: set[tuple[str, Any]] = set()
    for stop in range(STOPS):
        code, _took = await _stop_mid_delivery(drain, signal.SIGKILL, stop in FLUSH_AT, redis_server)
        assert code == -signal.SIGKILL
        leases = set(await drain.leased())
        new = leases - seen  # the leases this worker took (older ones may not be taken again yet)
        assert 1 <= len(new) <= CONCURRENCY, new
        on_the_wire.update(row for row, _until in new)
        seen |= leases
    await _drain_the_rest(drain)
    copies = _copies(drain)
    repeated = {row: n - 1 for row, n in copies.items() if n > 1}
    print(f"\ncrashes: {len(copies)} messages, {STOPS} SIGKILLs ({len(FLUSH_AT)} after a Redis flush): 0 lost, "
          f"{sum(repeated.values())} repeated, {sum(on_the_wire.values())} on the wire at the kills")
    # a message arrives again only if it was on the wire at a kill, at most once per kill
    assert all(n <= on_the_wire[row] for row, n in repeated.items()), (repeated, on_the_wire)
    assert await drain.states() == Counter({"sent": EMAILS + SMS})
