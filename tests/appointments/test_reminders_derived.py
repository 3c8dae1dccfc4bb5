"""Reminders derived from the appointment when due: claimed by concurrent sweepers in
batches, each appointment's reminders written exactly once, none for a stale time."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from booking.appointments.services.reminders import derive_due
from tests.factories import couple_parties, make_couples, open_office
from tests.helpers import remind_at
from tests.appointments.test_appointments import SH, body, slot_on

pytestmark = pytest.mark.asyncio


async def test_two_sweepers_claim_each_appointment_once(client, runtime, admin):
    office = await open_office(client, runtime, admin, capacity=40)
    slot_id = await slot_on(client, office, "2026-09-15")
    couples = await make_couples(runtime, 24)
    ids = []
    for couple in couples:
        booked = await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()), headers=couple.headers)
        assert booked.status_code == 201, booked.text
        ids.append(booked.json()["id"])
    moved = ids[0]  # one is cancelled before its moment: nothing derived for it
    assert (await client.post(f"/api/v1/appointments/{moved}/cancel", headers=couples[0].headers)).status_code == 200

    at = datetime(2026, 9, 14, 18, 0, tzinfo=SH)
    claimed: list[int] = []

    async def sweeper() -> None:
        while True:  # small batches, two at once: SKIP LOCKED hands each its own
            async with runtime.db.session() as session:
                derived = await derive_due(session, at, postgres=True, limit=3)
                await asyncio.sleep(0.01)  # hold the claim while the other sweeper runs
                await session.commit()
            claimed.append(derived.claimed)
            if derived.claimed == 0:
                return

    await asyncio.gather(sweeper(), sweeper())
    assert sum(claimed) == 23  # each live appointment claimed once, by one of the two
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT subject_id, channel, state, due_at FROM notification "
                                "WHERE kind = 'appointment.reminder'")
    assert len(rows) == 46 and {(r["state"], r["due_at"]) for r in rows} == {("pending", at)}
    assert str(moved) not in {str(r["subject_id"]) for r in rows}
    for appointment_id in ids[1:3]:
        assert await remind_at(runtime, appointment_id) == datetime(2026, 9, 15, 7, 0, tzinfo=SH)


async def test_a_sweep_hands_on_a_backlog_in_rounds(runtime):
    """More due rows than one round takes: the sweep goes round again while rounds come
    back full (before: 500 rows per 20 s, ~25 messages/s at most)."""
    import uuid as _uuid

    from booking.notifications.delivery import sweep
    from booking.notifications.outbox import OutboxRow, add_rows

    now = runtime.clock.now()
    rows = [OutboxRow(id=_uuid.uuid4(), kind="appointment.confirmed", channel="email", locale="zh_Hans_CN",
                      subject_type="appointment", subject_id=_uuid.uuid4(), sequence=0, due_at=now,
                      account_id=_uuid.uuid4()) for _ in range(250)]
    async with runtime.db.session() as session:
        await add_rows(session, rows, now)
        await session.commit()
    # a budget no machine reaches: how many rounds fit in the real one depends on its speed
    result = await sweep(runtime, limit=100, budget_seconds=600)
    assert result.handed_on == 250  # three rounds in one sweep
    assert (await sweep(runtime, limit=100)).handed_on == 0  # handed on: not again before the requeue time
