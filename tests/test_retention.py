"""Retention: old idempotency records and delivered outbox rows go; failed rows stay."""

from __future__ import annotations

import pytest

from booking.clock import FixedClock
from booking.ops.retention import purge_expired
from tests.conftest import open_office
from tests.test_appointments import body, slot_on

pytestmark = pytest.mark.asyncio


async def test_purge_expired(client, runtime, admin, couple, clock: FixedClock):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    response = await client.post("/api/v1/appointments", json=body(slot_id),
                                 headers={**couple.headers, "Idempotency-Key": "k-1"})
    assert response.status_code == 201
    async with runtime.db.raw() as conn:
        await conn.execute("UPDATE notification SET state = 'sent' WHERE kind = 'appointment.confirmed'")
        await conn.execute("UPDATE notification SET state = 'failed' WHERE kind = 'appointment.reminder' "
                           "AND channel = 'email'")
    assert (await purge_expired(runtime)).idempotency_records == 0
    clock.advance(days=3)
    purged = await purge_expired(runtime)
    assert purged.idempotency_records == 1 and purged.notifications == 0
    clock.advance(days=90)
    purged = await purge_expired(runtime)
    assert purged.notifications == 2  # the two sent confirmations
    async with runtime.db.raw() as conn:
        states = sorted(r[0] for r in await conn.fetch("SELECT state FROM notification"))
    assert states == ["failed", "pending", "pending"]
