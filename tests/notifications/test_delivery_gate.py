"""A delivery is never cut between send and mark: neither by the cancellation of the job
that started it nor by a stopping process, which takes no new delivery and lets the one on
the wire finish. A real SMTP server holds the message mid-conversation."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from booking.clock import FixedClock
from booking.notifications.delivery import deliver
from booking.runtime import Runtime
from tests.factories import Actor, couple_parties, open_office
from tests.helpers import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.hold_rcpt.clear()
    server.stop()


@pytest.fixture
def settings_overrides(sink: SmtpSink) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_timeout_seconds": 20}


async def _confirmation_rows(client, runtime: Runtime, admin: Actor, couple: Actor) -> dict[str, uuid.UUID]:
    office = await open_office(client, runtime, admin)
    slot = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-14&to=2026-09-14",
                             headers=office.clerk.headers)).json()["data"][0]
    booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slot["id"], "service": "marriage_registration", "parties": couple_parties()})
    assert booked.status_code == 201, booked.text
    async with runtime.db.raw() as conn:
        return {r["channel"]: r["id"] for r in await conn.fetch(
            "SELECT id, channel FROM notification WHERE kind = 'appointment.confirmed'")}


async def _row(runtime: Runtime, row_id: uuid.UUID) -> dict[str, Any]:
    async with runtime.db.raw() as conn:
        return dict(await conn.fetchrow(
            "SELECT state, attempts, leased_until, next_attempt_at FROM notification WHERE id = $1", row_id))


async def _held(sink: SmtpSink) -> None:
    assert await asyncio.to_thread(sink.in_rcpt.wait, 30), "the delivery never reached the SMTP server"


async def test_a_cancelled_job_does_not_cut_its_delivery(client, runtime, admin, couple, sink):
    rows = await _confirmation_rows(client, runtime, admin, couple)
    sink.hold_rcpt.set()
    job = asyncio.create_task(deliver(runtime, rows["email"]))
    await _held(sink)
    job.cancel()  # as arq's timeout or arq's own SIGTERM handler would
    with pytest.raises(asyncio.CancelledError):
        await job
    sink.hold_rcpt.clear()
    deadline = time.monotonic() + 30
    while (await _row(runtime, rows["email"]))["state"] != "sent":  # marked all the same
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert len(sink.messages) == 1
    assert (await _row(runtime, rows["email"]))["leased_until"] is None
    assert runtime.delivery_gate.in_flight == 0


async def test_a_stopping_process_finishes_what_is_on_the_wire_and_starts_nothing(client, runtime, admin, couple,
                                                                                 sink, clock: FixedClock):
    rows = await _confirmation_rows(client, runtime, admin, couple)
    sink.hold_rcpt.set()
    on_the_wire = asyncio.create_task(deliver(runtime, rows["email"]))
    await _held(sink)
    stopping = asyncio.create_task(runtime.delivery_gate.close(timeout=30))
    await asyncio.sleep(0)  # the stop has begun: the gate is closed
    assert await deliver(runtime, rows["sms"]) == "deferred"
    sms = await _row(runtime, rows["sms"])
    # not started, not leased: due again now, for the next sweep of any worker
    assert (sms["state"], sms["attempts"], sms["leased_until"]) == ("pending", 0, None)
    assert sms["next_attempt_at"] == clock.now()
    assert not stopping.done()  # it waits for the mail on the wire
    sink.hold_rcpt.clear()
    assert await on_the_wire == "sent"
    assert await stopping == 0  # nothing was left running
    assert len(sink.messages) == 1 and (await _row(runtime, rows["email"]))["state"] == "sent"
