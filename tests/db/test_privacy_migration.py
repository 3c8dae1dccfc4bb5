"""The revision that stops keeping sex and birth dates in plain text, run on a database with
parties in it: their facts are encrypted, their masks recomputed from the encrypted numbers,
and a downgrade writes the facts back (the data key comes from the environment, as for
`booking migrate`)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import asyncpg
import pytest
from alembic.command import downgrade

from booking.migrations import alembic_config, upgrade
from booking.security.pii import PersonalDataVault
from tests.conftest import scratch_database

BEFORE = "b4a11075e7d2"  # the ballots revision, the last before the privacy ones
KEY = b"m" * 32


def _run(url: str, sql: str, *args: Any, fetch: bool = False) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            return await (conn.fetch(sql, *args) if fetch else conn.execute(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def test_existing_parties_are_rewritten_and_can_go_back(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BOOKING_DATA_KEY", base64.b64encode(KEY).decode())
    monkeypatch.setenv("BOOKING_SECRET_KEY", "s" * 40)
    vault = PersonalDataVault(KEY)
    number, phone = "11010519900203001X", "13912345678"
    with scratch_database(BEFORE, prefix="booking_privacy") as url:
        appointment = uuid.uuid4()
        _run(url, """
            INSERT INTO office (id, code, name_zh, name_en, province_code, city, address_zh, address_en, timezone,
                                services, rules, is_active, created_at, updated_at)
            VALUES (1, 'X', '处', 'X', '44', '广州', '址', '', 'Asia/Shanghai', '[]', '{}', true, now(), now());
            INSERT INTO slot (id, office_id, service, local_date, starts_at, ends_at, capacity, booked, status,
                              created_at)
            VALUES (1, 1, 'marriage_registration', '2026-10-15', '2026-10-15T01:00Z', '2026-10-15T02:00Z', 5, 1,
                    'open', now())""")
        _run(url, """
            INSERT INTO appointment (id, code, office_id, slot_id, service, booked_by, channel, status, starts_at,
                                     ends_at, locale, sequence, created_at, updated_at)
            VALUES ($1, 'ABCDEFGH', 1, 1, 'marriage_registration', $1, 'online', 'confirmed',
                    '2026-10-15T01:00Z', '2026-10-15T02:00Z', 'en', 0, now(), now())""", appointment)
        _run(url, """
            INSERT INTO appointment_party (id, appointment_id, position, name, id_type, id_hash, id_enc, id_masked,
                                           phone_enc, phone_hash, phone_masked, sex, birth_date, service, active)
            VALUES ($1, $2, 1, '张伟', 'resident_id', 'h', $3, '1101**********001X', $4, 'p', '139****5678', 'M',
                    '1990-02-03', 'marriage_registration', true)""",
             uuid.uuid4(), appointment, vault.encrypt(number, context="party.id_number"),
             vault.encrypt(phone, context="party.phone"))
        upgrade(url, "head")
        row = _run(url, "SELECT * FROM appointment_party", fetch=True)[0]
        assert "sex" not in row.keys() and "birth_date" not in row.keys()
        assert vault.decrypt(row["facts_enc"], context="party.facts") == "M|1990-02-03"
        assert (row["id_masked"], row["phone_masked"]) == ("*****************X", "********678")
        downgrade(alembic_config(url), BEFORE)
        back = _run(url, "SELECT sex, birth_date::text AS born FROM appointment_party", fetch=True)[0]
        assert (back["sex"], back["born"]) == ("M", "1990-02-03")
