"""The hot paths' pool is open when the API has started, with every hot statement already
prepared on each of its connections: a release rush that starts right after a restart
opens no connection and parses no statement."""

from __future__ import annotations

import pytest

from booking.appointments.store import _PG_BOOK
from booking.db.engine import _HOT_STATEMENTS
from booking.events.store import _SIGN_UP

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"db_fast_pool_size": 3, "db_fast_pool_min_size": 3}


async def test_hot_pool_open_at_start_with_statements_prepared(app, runtime):
    pool = runtime.db.fast_pool
    assert pool is not None, "the pool opens at start-up, not at the first booking"
    assert pool.get_size() == 3
    assert _PG_BOOK in _HOT_STATEMENTS and _SIGN_UP in _HOT_STATEMENTS
    connections = [await pool.acquire() for _ in range(3)]
    try:
        for connection in connections:
            prepared = {r["statement"] for r in await connection.fetch("SELECT statement FROM pg_prepared_statements")}
            assert set(_HOT_STATEMENTS) <= prepared
    finally:
        for connection in connections:
            await pool.release(connection)


async def test_a_booking_uses_the_prepared_statement(app, runtime, client, admin):
    """The booking's own statement is the one prepared (no second parse): the pool's
    connections hold exactly one prepared copy of it after a booking."""
    from tests.appointments.test_appointments import body, slot_on
    from tests.factories import couple_parties, make_actor, open_office

    office = await open_office(client, runtime, admin, capacity=2)
    slot_id = await slot_on(client, office, "2026-09-15")
    couple = await make_actor(runtime, "couple")
    assert (await client.post("/api/v1/appointments", json=body(slot_id, couple_parties()),
                              headers=couple.headers)).status_code == 201
    pool = runtime.db.fast_pool
    connections = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        for connection in connections:
            copies = await connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", _PG_BOOK)
            assert copies == 1
    finally:
        for connection in connections:
            await pool.release(connection)
