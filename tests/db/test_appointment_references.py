"""An appointment references its slot and the slot's office in one key
(``fk_appointment_slot_office``), not the office row: a booking in flight holds no lock on
its office (every booking of an office had taken FOR KEY SHARE on the same row, which
concurrent bookings then rewrote one at a time), and an appointment cannot name an office
other than its slot's."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.appointments.test_appointments import slot_on
from tests.factories import open_office

pytestmark = pytest.mark.asyncio

_INSERT = """
INSERT INTO appointment (id, code, office_id, slot_id, service, booked_by, channel, status, starts_at, ends_at,
                         locale, sequence, created_at, updated_at)
SELECT $1, $2, $3, s.id, s.service, $1, 'online', 'confirmed', s.starts_at, s.ends_at, 'zh_Hans_CN', 0, now(), now()
FROM slot s WHERE s.id = $4
"""


class _Undo(Exception):
    """Rolls the writer's transaction back: the test leaves nothing behind."""


async def test_an_appointment_being_written_holds_no_lock_on_its_office(client, runtime, admin):
    office = await open_office(client, runtime, admin, capacity=2)
    slot_id = await slot_on(client, office, "2026-09-15")
    async with runtime.db.raw() as writer, runtime.db.raw() as other:
        with pytest.raises(_Undo):
            async with writer.transaction():
                await writer.execute(_INSERT, uuid.uuid4(), "REFCHECK1", office.id, slot_id)
                # FOR UPDATE conflicts with the FOR KEY SHARE that a reference to the office
                # row would hold until the writer commits (LockNotAvailableError before)
                locked = await other.fetchval("SELECT id FROM office WHERE id = $1 FOR UPDATE NOWAIT", office.id)
                assert locked == office.id
                raise _Undo


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
