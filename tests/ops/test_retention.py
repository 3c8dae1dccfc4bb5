"""Retention: old idempotency records and delivered outbox rows go; failed rows stay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from booking.clock import FixedClock
from booking.ops.retention import purge_expired
from tests.factories import open_office
from tests.appointments.test_appointments import body, slot_on

pytestmark = pytest.mark.asyncio


async def test_purge_expired(client, runtime, admin, couple, clock: FixedClock):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    response = await client.post("/api/v1/appointments", json=body(slot_id),
                                 headers={**couple.headers, "Idempotency-Key": "k-1"})
    assert response.status_code == 201
    # its three reminders, as the sweep writes them at their moments
    from datetime import datetime

    from tests.helpers import derive_reminders
    from tests.appointments.test_appointments import SH

    await derive_reminders(runtime, datetime(2026, 9, 14, 18, 0, tzinfo=SH))
    await derive_reminders(runtime, datetime(2026, 9, 15, 7, 0, tzinfo=SH))
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


async def _parties_of(runtime, table: str, key: str, owner) -> list[dict]:
    async with runtime.db.raw() as conn:
        return [dict(r) for r in await conn.fetch(
            f"SELECT name, id_enc, id_hash, id_masked, phone_enc, phone_hash, phone_masked FROM {table} "
            f"WHERE {key} = $1 ORDER BY position", owner)]


async def test_scans_and_personal_data_go_after_their_time(client, runtime, admin, clock: FixedClock):
    from booking.ops.retention import SWEEP_EVERY
    from tests.events_helpers import create_event, signup_body
    from tests.factories import make_actor
    from tests.applications.test_applications import APPS, apply, pdf_with_metadata, upload

    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    cancelled, standing, applicant, signer = [await make_actor(runtime, "couple") for _ in range(4)]
    gone = (await client.post("/api/v1/appointments", json=body(slot_id), headers=cancelled.headers)).json()
    await client.post(f"/api/v1/appointments/{gone['id']}/cancel", headers=cancelled.headers)
    kept = (await client.post("/api/v1/appointments", json=body(slot_id), headers=standing.headers)).json()
    app = await apply(client, applicant, await slot_on(client, office, "2026-09-16"))
    doc = (await upload(client, applicant, app["id"], "id_card", 1, pdf_with_metadata())).json()
    decided = await client.post(f"{APPS}/{app['id']}/decision", headers=office.clerk.headers,
                                json={"decision": "reject", "reason": "居住证不在本市"})
    assert decided.status_code == 200
    event = await create_event(client, office.clerk, office.id)
    signup = await client.post(f"/api/v1/events/{event['id']}/signups", headers=signer.headers,
                               json=signup_body(contact={"name": "张小明", "phone": "13911112222"}))
    assert signup.status_code == 201, signup.text
    scan = runtime.settings.upload_dir / "documents" / doc["id"].replace("-", "")
    assert scan.exists()

    # within the periods nothing personal goes
    clock.advance(days=runtime.settings.retention_scan_days - 1)
    purged = await purge_expired(runtime)
    assert (purged.documents, purged.appointments_anonymised, purged.signups_anonymised) == (0, 0, 0)
    # the scan goes once the decision is retention_scan_days old (the next hourly sweep)
    clock.advance(days=2)
    assert (await purge_expired(runtime)).documents == 1
    assert not scan.exists()
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM application_document") == 0

    clock.advance(days=runtime.settings.retention_personal_data_days)
    purged = await purge_expired(runtime)
    # the cancelled booking, the rejected application's booking, and the sign-up of an event now over
    assert (purged.appointments_anonymised, purged.signups_anonymised) == (2, 1)
    async with runtime.db.raw() as conn:
        held = await conn.fetchval("SELECT appointment_id FROM cross_province_application WHERE id = $1",
                                   uuid.UUID(app["id"]))
    for owner in (uuid.UUID(gone["id"]), held):
        parties = await _parties_of(runtime, "appointment_party", "appointment_id", owner)
        assert len(parties) == 2
        for party in parties:
            assert party["name"] == party["id_enc"] == party["phone_enc"] == party["id_masked"] == ""
            assert party["id_hash"].startswith("removed:") and party["phone_hash"].startswith("removed:")
    # a standing appointment keeps its data (the no-show sweep, not retention, ends it)
    assert all(p["id_enc"] for p in await _parties_of(runtime, "appointment_party", "appointment_id",
                                                      uuid.UUID(kept["id"])))
    async with runtime.db.raw() as conn:
        row = await conn.fetchrow("SELECT contact_name, contact_phone_enc, marriage_date, anonymised_at, status "
                                  "FROM signup WHERE id = $1", signup.json()["id"])
        appointment = await conn.fetchrow("SELECT status, office_id, starts_at, anonymised_at FROM appointment "
                                          "WHERE id = $1", gone["id"])
        audit = await conn.fetch("SELECT action, detail FROM audit_entry WHERE action = 'retention.purge'")
    assert row["contact_name"] is None and row["contact_phone_enc"] is None and row["marriage_date"] is None
    assert row["anonymised_at"] is not None and row["status"] == "confirmed"
    # the appointment's own facts stay for the office's statistics
    assert appointment["status"] == "cancelled" and appointment["office_id"] == office.id
    assert appointment["anonymised_at"] is not None
    assert len(audit) == 2
    # running again changes nothing
    clock.advance(seconds=SWEEP_EVERY.total_seconds())
    again = await purge_expired(runtime)
    assert (again.documents, again.appointments_anonymised, again.signups_anonymised) == (0, 0, 0)


@pytest.mark.sqlite
async def test_the_retention_sweep_runs_on_the_embedded_default(sqlite_client, sqlite_runtime):
    purged = await purge_expired(sqlite_runtime)
    assert (purged.documents, purged.appointments_anonymised, purged.signups_anonymised) == (0, 0, 0)


async def test_ballot_entries_and_ended_divorce_cases_lose_their_parties_data_after_their_time(
        client, runtime, admin, clock: FixedClock):
    """A ballot's entries keep their parties until the ballot's day is past the period (the
    draw stays checkable: its seed and entry ids are not personal); a divorce case that
    ended keeps its parties until the period has passed since its end. An open case keeps
    them whatever its age."""
    from datetime import timedelta

    from tests.ballot_helpers import IN_WINDOW, PEAK_DAY, enter_all, peak_office, set_up_ballot
    from tests.divorce_helpers import CASES, at, divorce_office, received_case, spouses
    from tests.factories import make_actor

    divorce = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    ended = await received_case(client, clock, divorce, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    clock.set(at("2026-09-15"))
    assert (await client.post(f"{CASES}/{ended['id']}/withdraw", headers=her.headers)).status_code == 200
    them, us = await spouses(runtime)
    still_open = await received_case(client, clock, divorce, them, us, received_on="2026-09-16",
                                     booked_on="2026-09-15")

    peak = await peak_office(client, runtime, admin)
    ballot = await set_up_ballot(client, peak)
    clock.set(IN_WINDOW)
    entry = (await enter_all(client, ballot["id"], [await make_actor(runtime, "couple")]))[0]

    # 2027-05-20 plus the period: the ballot's day and the withdrawn case are both past it
    clock.set(datetime.fromisoformat(PEAK_DAY).replace(tzinfo=UTC)
              + timedelta(days=runtime.settings.retention_personal_data_days + 1))
    purged = await purge_expired(runtime)
    assert (purged.ballot_entries_anonymised, purged.divorce_cases_anonymised) == (1, 1)
    for table, key, owner in (("ballot_entry_party", "entry_id", uuid.UUID(entry["id"])),
                              ("divorce_party", "case_id", uuid.UUID(ended["id"]))):
        parties = await _parties_of(runtime, table, key, owner)
        assert len(parties) == 2
        for party in parties:
            assert party["name"] == party["id_enc"] == party["phone_enc"] == party["id_masked"] == ""
            assert party["id_hash"].startswith("removed:") and party["phone_hash"].startswith("removed:")
    async with runtime.db.raw() as conn:
        facts = await conn.fetch("SELECT facts_enc FROM ballot_entry_party WHERE entry_id = $1",
                                 uuid.UUID(entry["id"]))
        audit = await conn.fetchval("SELECT detail FROM audit_entry WHERE action = 'retention.purge' "
                                    "ORDER BY at DESC LIMIT 1")
    assert [r["facts_enc"] for r in facts] == ["", ""]
    assert (json.loads(audit)["ballot_entries"], json.loads(audit)["divorce_cases"]) == (1, 1)
    assert all(p["id_enc"] for p in await _parties_of(runtime, "divorce_party", "case_id",
                                                      uuid.UUID(still_open["id"])))
    # the ballot itself stays public (its entry ids are not personal)
    assert (await client.get(f"/api/v1/ballots/{ballot['id']}")).status_code == 200
    again = await purge_expired(runtime)
    assert (again.ballot_entries_anonymised, again.divorce_cases_anonymised) == (0, 0)
