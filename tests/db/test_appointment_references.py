"""An appointment references its slot and the slot's office in one key
(``fk_appointment_slot_office``), not the office row: a booking in flight holds no lock on
its office (every booking of an office had taken FOR KEY SHARE on the same row, which
concurrent bookings then rewrote one at a time), and an appointment cannot name an office
other than its slot's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from booking.appointments.store import _PG_BOOK
from tests.appointments.test_appointments import body, slot_on
from tests.factories import open_office

pytestmark = pytest.mark.asyncio

_INSERT = """
INSERT INTO appointment (id, code, office_id, slot_id, service, booked_by, channel, status, starts_at, ends_at,
                         locale, sequence, created_at, updated_at)
SELECT $1, $2, $3, s.id, s.service, $1, 'online', 'confirmed', s.starts_at, s.ends_at, 'zh_Hans_CN', 0, now(), now()
FROM slot s WHERE s.id = $4
"""


class _HeldOpen:
    """A hot-pool connection that runs the booking statement inside a transaction and,
    before committing it, asks ``probe`` (on another connection) what the booking holds."""

    def __init__(self, connection: Any, probe: Any) -> None:
        self._connection, self._probe = connection, probe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if sql != _PG_BOOK:
            return await self._connection.fetchval(sql, *args)
        async with self._connection.transaction():
            value = await self._connection.fetchval(sql, *args)
            await self._probe()
        return value


async def test_an_online_booking_in_flight_holds_no_lock_on_its_office(client, runtime, admin, couple,
                                                                       monkeypatch):
    """The real statement, through the API: between its write and its commit, the office row
    can be locked FOR UPDATE by anyone else (a reference to the office row would hold FOR
    KEY SHARE on it until the commit). A booking routed to pre-review still does: its
    cross-province application references the office (README, sixth pass)."""
    office = await open_office(client, runtime, admin, capacity=2)
    slot_id = await slot_on(client, office, "2026-09-15")
    raw = runtime.db.raw
    probed: list[Any] = []

    async def probe() -> None:
        async with raw() as other:
            try:
                probed.append(await other.fetchval("SELECT id FROM office WHERE id = $1 FOR UPDATE NOWAIT", office.id))
            except asyncpg.LockNotAvailableError as exc:
                probed.append(exc)

    @asynccontextmanager
    async def held_open() -> AsyncIterator[Any]:
        async with raw() as connection:
            yield _HeldOpen(connection, probe)

    monkeypatch.setattr(runtime.db, "raw", held_open)
    booked = await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)
    assert booked.status_code == 201, booked.text
    assert probed == [office.id]  # probed once, in flight, and the office row was free


async def test_an_appointment_cannot_name_another_office_than_its_slots(client, runtime, admin):
    office = await open_office(client, runtime, admin, capacity=2)
    other = await open_office(client, runtime, admin, capacity=2, code="GZ-OTHER", name_zh="广州市另一区婚姻登记处")
    slot_id = await slot_on(client, office, "2026-09-15")
    async with runtime.db.raw() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError) as refused:
            await conn.execute(_INSERT, uuid.uuid4(), "REFCHECK3", other.id, slot_id)
        assert refused.value.constraint_name == "fk_appointment_slot_office"
        # the same row naming the slot's own office goes in
        await conn.execute(_INSERT, uuid.uuid4(), "REFCHECK4", office.id, slot_id)
