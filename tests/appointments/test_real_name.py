"""Real-name (实名) couples' accounts: an online booking names the account holder as a party,
the account is bound to that person at its first booking (by the keyed hash), one active
booking per account and service is enforced by the database; walk-ins are exempt (and
audited); the other party's refusals say no more than that they cannot be booked."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.factories import couple_parties, make_actor, open_office
from tests.appointments.test_appointments import body, slot_on

pytestmark = pytest.mark.asyncio


async def test_an_account_books_for_its_holder_only(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    first, second = await slot_on(client, office, "2026-09-15"), await slot_on(client, office, "2026-09-16")
    groom, bride = couple_parties()
    booked = await client.post("/api/v1/appointments", json={**body(first, [groom, bride]), "holder": 2},
                               headers=couple.headers)
    assert booked.status_code == 201
    async with runtime.db.raw() as conn:
        bound = await conn.fetchval("SELECT id_hash FROM user_account WHERE id = $1", couple.id)
        bride_hash = await conn.fetchval("SELECT id_hash FROM appointment_party WHERE position = 2")
    assert bound == bride_hash and bride["id_number"] not in bound  # the keyed hash, never the number
    # a second booking for other people: refused, and nothing is taken
    other_couple = couple_parties()
    refused = await client.post("/api/v1/appointments", json=body(second, other_couple), headers=couple.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not-the-account-holder"
    # the holder again, while her booking stands: one active booking per account and service
    again = await client.post("/api/v1/appointments", json={**body(second, [couple_parties()[0], bride]),
                                                              "holder": 2}, headers=couple.headers)
    assert again.status_code == 409 and again.json()["code"] in ("account-already-booked", "party-already-booked")
    # after a cancel she books again (the binding stays hers)
    await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=couple.headers)
    rebooked = await client.post("/api/v1/appointments", json={**body(second, [couple_parties()[0], bride]),
                                                                 "holder": 2}, headers=couple.headers)
    assert rebooked.status_code == 201
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-15&to=2026-09-16",
                              headers=office.clerk.headers)).json()["data"]
    assert sum(s["booked"] for s in slots) == 1


async def test_the_database_holds_one_active_booking_per_account(client, runtime, admin, couple):
    """The index itself, not only the service: a second active row for the account and
    service is refused by PostgreSQL."""
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    async with runtime.db.raw() as conn:
        with pytest.raises(asyncpg.UniqueViolationError) as refused:
            await conn.execute(
                "INSERT INTO appointment (id, code, office_id, slot_id, service, account_id, booked_by, channel, "
                "status, starts_at, ends_at, locale, sequence, created_at, updated_at) "
                "SELECT gen_random_uuid(), 'ZZZZZZZZ', office_id, slot_id, service, account_id, booked_by, channel, "
                "'confirmed', starts_at, ends_at, locale, 0, now(), now() FROM appointment WHERE id = $1",
                uuid.UUID(booked["id"]))
        assert refused.value.constraint_name == "uq_appointment_account_active"


async def test_walk_ins_are_exempt_and_audited(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    for _ in range(2):  # a clerk books for several couples: no account, no binding
        walk_in = await client.post(f"/api/v1/offices/{office.id}/appointments", json=body(slot_id),
                                    headers=office.clerk.headers)
        assert walk_in.status_code == 201
    audit = (await client.get(f"/api/v1/audit?office_id={office.id}&action=appointment.book_counter",
                              headers=admin.headers)).json()["data"]
    assert len(audit) == 2 and all(e["actor_id"] == str(office.clerk.id) for e in audit)


async def test_the_other_party_is_unavailable_without_reasons(client, runtime, admin, couple, clock):
    """A ban or a booking elsewhere of the other party: the same answer, no date or place;
    the holder is told their own."""
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    groom, bride = couple_parties()
    # the bride holds a booking elsewhere (through another account of hers)
    hers = await make_actor(runtime, "couple")
    assert (await client.post("/api/v1/appointments", json={**body(slot_id, [couple_parties()[0], bride]),
                                                             "holder": 2}, headers=hers.headers)).status_code == 201
    later = await slot_on(client, office, "2026-09-16")
    answer = await client.post("/api/v1/appointments", json=body(later, [groom, bride]), headers=couple.headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "party-unavailable" and answer.json()["party"] == 2
    assert "ban_ends_on" not in answer.json() and "detail" not in answer.json()


async def test_the_other_partys_ban_is_not_told(client, runtime, admin, clock):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    office = await open_office(client, runtime, admin)
    groom, bride = couple_parties()
    theirs = await make_actor(runtime, "couple")
    for day in ("2026-09-14", "2026-09-15"):  # two missed appointments: both are banned
        clock.set(datetime(2026, 9, 10, 10, 0, tzinfo=sh))
        booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, day),
                                                                      [groom, bride]),
                                    headers=theirs.headers)).json()
        clock.set(datetime.fromisoformat(booked["starts_at"]) + timedelta(minutes=30))
        await client.post(f"/api/v1/appointments/{booked['id']}/no-show", headers=office.clerk.headers)
    clock.set(datetime(2026, 9, 16, 10, 0, tzinfo=sh))
    later = await slot_on(client, office, "2026-09-21")
    # someone else's account, naming the banned bride as the other party
    stranger = await make_actor(runtime, "couple")
    answer = await client.post("/api/v1/appointments", json=body(later, [couple_parties()[0], bride]),
                               headers=stranger.headers)
    assert answer.status_code == 409 and answer.json()["code"] == "party-unavailable"
    assert "ban_ends_on" not in answer.json() and "2026-09-30" not in answer.text
    # her own account is told the end of her ban
    own = await client.post("/api/v1/appointments", json={**body(later, [couple_parties()[0], bride]),
                                                           "holder": 2}, headers=(await make_actor(
                                                               runtime, "couple")).headers)
    assert own.json()["code"] == "no-show-ban" and own.json()["ban_ends_on"] == "2026-09-30"
