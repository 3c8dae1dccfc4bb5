"""Booking, reading, cancelling and rescheduling through the HTTP API, on PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
import vobject

from booking.appointments.schemas import AppointmentOut
from booking.clock import FixedClock
from tests.factories import (
    GD_OFFICE,
    Office,
    couple_parties,
    make_actor,
    open_office,
    resident_id,
    weekday_schedule,
)
from tests.helpers import derive_reminders, remind_at

pytestmark = pytest.mark.asyncio
SH = ZoneInfo("Asia/Shanghai")


async def slot_on(client: httpx.AsyncClient, office: Office, day: str, index: int = 0) -> int:
    response = await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}",
                                headers=office.clerk.headers)
    return response.json()["data"][index]["id"]


async def remaining(client: httpx.AsyncClient, office: Office, slot_id: int) -> int:
    response = await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-10&to=2026-10-31",
                                headers=office.clerk.headers)
    slot = next(s for s in response.json()["data"] if s["id"] == slot_id)
    return slot["capacity"] - slot["booked"]


def body(slot_id: int, parties: list[dict[str, Any]] | None = None, service: str = "marriage_registration"):
    return {"slot_id": slot_id, "service": service, "parties": parties or couple_parties()}


def no_full_numbers(text: str, parties: list[dict[str, Any]]) -> bool:
    # a number too short to be anyone's ("123", a bad phone) would also be found in any
    # UUID the answer carries: only numbers of a real length count
    numbers = [v for p in parties for v in (p["id_number"], p["phone"]) if len(v) >= 7]
    return all(n not in text for n in numbers)


async def test_book_read_and_list(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    parties = couple_parties()
    response = await client.post("/api/v1/appointments", json=body(slot_id, parties), headers=couple.headers)
    assert response.status_code == 201, response.text
    booked = response.json()
    assert booked["status"] == "confirmed" and booked["slot_id"] == slot_id
    assert booked["starts_at"] == "2026-09-15T09:00:00+08:00"
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", booked["code"])
    groom = booked["parties"][0]
    # masked as stored: what a dump or a cached answer holds must not narrow the number
    assert groom["id_number"] == "*" * 17 + parties[0]["id_number"][-1]
    assert groom["phone"] == "*" * 8 + parties[0]["phone"][-3:]
    assert "sex" not in groom
    assert no_full_numbers(response.text, parties)
    assert msgspec.json.decode(response.content, type=AppointmentOut).code == booked["code"]  # the documented schema holds
    assert await remaining(client, office, slot_id) == 4

    one = await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)
    assert one.status_code == 200 and one.json() == booked
    mine = await client.get("/api/v1/appointments", headers=couple.headers)
    assert [a["id"] for a in mine.json()["data"]] == [booked["id"]]
    # nobody else sees it: another couple, a clerk of another office (404, not 403)
    stranger = await make_actor(runtime, "couple")
    other = await open_office(client, runtime, admin, code="OTHER")
    for actor in (stranger, other.clerk):
        assert (await client.get(f"/api/v1/appointments/{booked['id']}", headers=actor.headers)).status_code == 404
    assert (await client.get(f"/api/v1/appointments/{booked['id']}", headers=office.clerk.headers)).status_code == 200

    async with runtime.db.raw() as conn:
        stored = await conn.fetch("SELECT id_enc, id_masked, phone_enc, id_hash FROM appointment_party")
        outbox = await conn.fetch("SELECT kind, channel, due_at FROM notification ORDER BY due_at, kind, channel")
    for row in stored:  # encrypted at rest: the database never holds the number in clear
        assert all(p["id_number"] not in str(list(row.values())) for p in parties)
        assert row["id_enc"].startswith("v1:") and len(row["id_hash"]) == 64
    kinds = [(r["kind"], r["channel"]) for r in outbox]
    # e-mail to the account, SMS to the contact party: the only rows a booking writes
    assert sorted(kinds) == [("appointment.confirmed", "email"), ("appointment.confirmed", "sms")]
    # the reminders are derived when due: the day before at the office's hour (both
    # channels), then two hours before (SMS), each written once by the sweep
    assert await remind_at(runtime, booked["id"]) == datetime(2026, 9, 14, 18, 0, tzinfo=SH)
    assert await derive_reminders(runtime, datetime(2026, 9, 14, 17, 59, tzinfo=SH)) == 0
    assert await derive_reminders(runtime, datetime(2026, 9, 14, 18, 0, tzinfo=SH)) == 1
    assert await remind_at(runtime, booked["id"]) == datetime(2026, 9, 15, 7, 0, tzinfo=SH)
    assert await derive_reminders(runtime, datetime(2026, 9, 14, 18, 5, tzinfo=SH)) == 0  # once
    assert await derive_reminders(runtime, datetime(2026, 9, 15, 7, 0, tzinfo=SH)) == 1
    assert await remind_at(runtime, booked["id"]) is None
    async with runtime.db.raw() as conn:
        outbox = await conn.fetch("SELECT kind, channel, due_at, state FROM notification "
                                  "WHERE kind = 'appointment.reminder' ORDER BY due_at, channel")
    assert [(r["channel"], r["due_at"], r["state"]) for r in outbox] == [
        ("email", datetime(2026, 9, 14, 18, 0, tzinfo=SH), "pending"),
        ("sms", datetime(2026, 9, 14, 18, 0, tzinfo=SH), "pending"),
        ("sms", datetime(2026, 9, 15, 7, 0, tzinfo=SH), "pending")]


async def test_invalid_bookings_change_nothing(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    groom, bride = couple_parties()
    bad_id = {**groom, "id_number": groom["id_number"][:-1] + ("0" if groom["id_number"][-1] != "0" else "1")}
    cases = [
        ([bad_id, bride], "parties.0.id_number"),
        ([groom, {**bride, "id_number": groom["id_number"]}], "parties.1.id_number"),
        ([groom, {**bride, "id_number": resident_id(date(1996, 7, 1), "M")}], "parties"),
        ([{**groom, "id_number": resident_id(date(2005, 1, 1), "M")}, bride], "parties.0.id_number"),
        ([groom, {**bride, "phone": "12345"}], "parties.1.phone"),
        ([groom, {**bride, "hukou_province": "99"}], "parties.1.hukou_province"),
        ([groom], "parties"),
    ]
    for parties, field in cases:
        for language, title in (("zh-CN", "输入无效。"), ("en", "The input is not valid.")):
            response = await client.post("/api/v1/appointments", json=body(slot_id, parties),
                                         headers={**couple.headers, "Accept-Language": language})
            assert response.status_code == 422, (field, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["title"] == title
            assert field in [e["field"] for e in response.json()["errors"]], response.json()
            assert no_full_numbers(response.text, parties)
    response = await client.post("/api/v1/appointments", json=body(999999), headers=couple.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "slot_id"
    response = await client.post("/api/v1/appointments", json=body(slot_id, service="certificate_reissue"),
                                 headers=couple.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "service"
    assert await remaining(client, office, slot_id) == 5
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM appointment") == 0
        assert await conn.fetchval("SELECT count(*) FROM notification") == 0


async def test_release_window_and_cutoff(client, runtime, admin, couple, clock: FixedClock):
    office = await open_office(client, runtime, admin)
    clock.set(datetime(2026, 9, 14, 8, 0, tzinfo=SH))
    later = await slot_on(client, office, "2026-09-29")
    response = await client.post("/api/v1/appointments", json=body(later), headers={
        **couple.headers, "Accept-Language": "en"})
    assert response.status_code == 409 and response.json()["code"] == "slot-not-bookable"
    assert response.json()["opens_at"] == "2026-09-14T08:30:00+08:00"
    clock.set(datetime(2026, 9, 14, 8, 30, tzinfo=SH))
    assert (await client.post("/api/v1/appointments", json=body(later), headers=couple.headers)).status_code == 201
    tomorrow = await slot_on(client, office, "2026-09-15")
    clock.set(datetime(2026, 9, 14, 15, 0, tzinfo=SH))  # cut-off: 15:00 the day before
    other_couple = await make_actor(runtime, "couple")
    response = await client.post("/api/v1/appointments", json=body(tomorrow), headers=other_couple.headers)
    assert response.status_code == 409 and response.json()["code"] == "slot-not-bookable"
    closed = await slot_on(client, office, "2026-09-17")
    await client.patch(f"/api/v1/slots/{closed}", json={"status": "closed"}, headers=office.clerk.headers)
    response = await client.post("/api/v1/appointments", json=body(closed), headers=other_couple.headers)
    assert response.status_code == 409 and response.json()["code"] == "slot-not-bookable"


async def test_one_active_booking_per_person_and_service(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    first, second = await slot_on(client, office, "2026-09-15"), await slot_on(client, office, "2026-09-16")
    parties = couple_parties()
    assert (await client.post("/api/v1/appointments", json=body(first, parties),
                              headers=couple.headers)).status_code == 201
    # the bride again, with another groom, on another day, from the groom's account: she is
    # the other party, and the answer says she cannot be booked, not why nor where
    other = await make_actor(runtime, "couple")
    again = [couple_parties()[0], {**parties[1], "id_number": parties[1]["id_number"].lower()}]
    response = await client.post("/api/v1/appointments", json=body(second, again), headers=other.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "party-unavailable" and response.json()["party"] == 2
    assert set(response.json()) == {"type", "title", "status", "code", "instance", "party"}
    # from her own account (she is the holder), she is told it is her booking
    hers = await make_actor(runtime, "couple")
    response = await client.post("/api/v1/appointments", json={**body(second, again), "holder": 2},
                                 headers=hers.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "party-already-booked" and response.json()["party"] == 2
    assert await remaining(client, office, second) == 5
    # the same bride with her birth year in Arabic-Indic digits is not another person
    spoofed = {**parties[1], "id_number": parties[1]["id_number"][:6]
               + parties[1]["id_number"][6:10].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
               + parties[1]["id_number"][10:]}
    response = await client.post("/api/v1/appointments", json=body(second, [couple_parties()[0], spoofed]),
                                 headers=other.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "parties.1.id_number"
    # a certificate reissue is another service: allowed
    reissue_office = await open_office(client, runtime, admin, code="REISSUE", services=["certificate_reissue"])
    response = await client.get(f"/api/v1/offices/{reissue_office.id}/slots?from=2026-09-15&to=2026-09-15",
                                headers=reissue_office.clerk.headers)
    assert response.json()["data"] == []  # its schedule only had marriage windows
    await client.put(f"/api/v1/offices/{reissue_office.id}/schedule", headers=reissue_office.clerk.headers,
                     json=weekday_schedule(services=("certificate_reissue",)))
    await client.post(f"/api/v1/offices/{reissue_office.id}/slots/generate",
                      json={"from": "2026-09-15", "to": "2026-09-15"}, headers=reissue_office.clerk.headers)
    reissue_slot = await slot_on(client, reissue_office, "2026-09-15")
    response = await client.post("/api/v1/appointments", headers=couple.headers,
                                 json=body(reissue_slot, parties, service="certificate_reissue"))
    assert response.status_code == 201, response.text


async def test_cross_province_couple_goes_to_pre_review(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    parties = couple_parties(region="510104", hukou="51")  # both from Sichuan, booking in Guangdong
    response = await client.post("/api/v1/appointments", json=body(slot_id, parties), headers=couple.headers)
    assert response.status_code == 201
    assert response.json()["status"] == "pending_review" and response.json()["review_reason"] == "nonlocal"
    assert await remaining(client, office, slot_id) == 4  # the seat is held while the clerk reviews
    one_local = couple_parties(region="510104", hukou="51")
    one_local[1]["hukou_province"] = "44"
    other = await make_actor(runtime, "couple")
    response = await client.post("/api/v1/appointments", json=body(slot_id, one_local), headers=other.headers)
    assert response.json()["status"] == "confirmed"


async def test_cancel_returns_the_seat_and_respects_the_deadline(client, runtime, admin, couple, clock):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")  # 09:00 Shanghai
    parties = couple_parties()
    booked = (await client.post("/api/v1/appointments", json=body(slot_id, parties), headers=couple.headers)).json()
    assert await remaining(client, office, slot_id) == 4
    # the day-before reminders handed to the outbox already (as if the sweep ran at 18:00)
    assert await derive_reminders(runtime, datetime(2026, 9, 14, 18, 0, tzinfo=SH)) == 1
    cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["sequence"] == 1
    # no more reminders are derived for it, and those handed on never go out
    assert await remind_at(runtime, booked["id"]) is None
    assert await derive_reminders(runtime, datetime(2026, 9, 15, 7, 0, tzinfo=SH)) == 0
    assert await remaining(client, office, slot_id) == 5
    again = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    assert again.status_code == 409 and again.json()["code"] == "invalid-status"
    async with runtime.db.raw() as conn:
        states = dict(await conn.fetch(
            "SELECT kind || ':' || channel || ':' || coalesce(payload->>'which', ''), state FROM notification"))
    assert states["appointment.reminder:email:day_before"] == "cancelled"
    assert states["appointment.cancelled:email:"] == "pending"

    # the same couple books again (the cancelled booking no longer counts), then misses the deadline
    booked = (await client.post("/api/v1/appointments", json=body(slot_id, parties), headers=couple.headers)).json()
    clock.set(datetime(2026, 9, 15, 7, 0, 1, tzinfo=SH))  # deadline: 2 hours before 09:00
    late = await client.post(f"/api/v1/appointments/{booked['id']}/cancel",
                             headers={**couple.headers, "Accept-Language": "en"})
    assert late.status_code == 409 and late.json()["code"] == "cancel-deadline-passed"
    assert late.json()["deadline"] == "2026-09-15T07:00:00+08:00"
    # the office may still cancel, and it is audited
    by_office = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=office.clerk.headers)
    assert by_office.status_code == 200
    audit = await client.get(f"/api/v1/audit?office_id={office.id}&action=appointment.cancel",
                             headers=admin.headers)
    assert [(e["actor_id"], e["target_id"], e["outcome"]) for e in audit.json()["data"]] == [
        (str(office.clerk.id), booked["id"], "ok")]


async def test_reschedule_moves_seat_and_reminders(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    old, new = await slot_on(client, office, "2026-09-15"), await slot_on(client, office, "2026-09-16", 1)
    booked = (await client.post("/api/v1/appointments", json=body(old), headers=couple.headers)).json()
    # the old time's day-before reminder handed on already (the sweep ran at its moment)
    assert await derive_reminders(runtime, datetime(2026, 9, 14, 18, 0, tzinfo=SH)) == 1
    moved = await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"slot_id": new},
                              headers=couple.headers)
    assert moved.status_code == 200, moved.text
    # the new time's reminders: derived at their moment, at the new sequence
    assert await remind_at(runtime, booked["id"]) == datetime(2026, 9, 15, 18, 0, tzinfo=SH)
    assert await derive_reminders(runtime, datetime(2026, 9, 15, 18, 0, tzinfo=SH)) == 1
    assert moved.json()["slot_id"] == new and moved.json()["starts_at"] == "2026-09-16T14:00:00+08:00"
    assert moved.json()["sequence"] == 1 and moved.json()["code"] == booked["code"]
    assert await remaining(client, office, old) == 5 and await remaining(client, office, new) == 4
    async with runtime.db.raw() as conn:
        reminders = await conn.fetch(
            "SELECT sequence, state, due_at FROM notification WHERE kind = 'appointment.reminder' "
            "AND channel = 'email' ORDER BY sequence")
    assert [(r["sequence"], r["state"]) for r in reminders] == [(0, "cancelled"), (1, "pending")]
    assert reminders[1]["due_at"] == datetime(2026, 9, 15, 18, 0, tzinfo=SH)
    # into a full slot: refused, nothing moves
    full = await slot_on(client, office, "2026-09-17")
    await client.patch(f"/api/v1/slots/{full}", json={"capacity": 0}, headers=office.clerk.headers)
    refused = await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"slot_id": full},
                                headers=couple.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"
    assert (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).json()["slot_id"] == new


async def test_no_show_ban_refuses_with_the_end_date(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    parties = couple_parties()
    couple = await make_actor(runtime, "couple")
    for day in ("2026-09-14", "2026-09-15"):
        clock.set(datetime(2026, 9, 10, 10, 0, tzinfo=SH))
        booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, day), parties),
                                    headers=couple.headers)).json()
        clock.set(datetime.fromisoformat(booked["starts_at"]) + timedelta(minutes=30))
        response = await client.post(f"/api/v1/appointments/{booked['id']}/no-show", headers=office.clerk.headers)
        assert response.status_code == 200 and response.json()["status"] == "no_show"
    clock.set(datetime(2026, 9, 16, 10, 0, tzinfo=SH))
    response = await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-21"),
                                                                   parties),
                                 headers={**couple.headers, "Accept-Language": "en"})
    assert response.status_code == 409 and response.json()["code"] == "no-show-ban"
    assert response.json()["ban_ends_on"] == "2026-09-30"  # 15 days after the second miss (09-15)
    assert "2026-09-30" in response.json()["detail"]
    clock.set(datetime(2026, 9, 30, 9, 0, tzinfo=SH))
    response = await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-10-12"),
                                                                   parties), headers=couple.headers)
    assert response.status_code == 201, response.text


async def test_invite_request_then_cancel(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    invite = await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics",
                              headers={**couple.headers, "Accept-Language": "en"})
    assert invite.status_code == 200
    assert invite.headers["content-type"].startswith("text/calendar")
    cal = vobject.readOne(invite.text)
    event = cal.vevent
    assert cal.method.value == "REQUEST"
    assert event.dtstart.value == datetime(2026, 9, 15, 9, 0, tzinfo=SH)
    assert event.dtstart.value.tzinfo is not None and "TZID=Asia/Shanghai" in invite.text
    assert "BEGIN:VTIMEZONE" in invite.text and "BEGIN:VALARM" in invite.text
    assert event.summary.value.startswith("Marriage registration")
    assert event.location.value == "1 Test Road, Guangzhou"
    assert couple.email in event.attendee.value
    uid = event.uid.value
    chinese = await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics", headers=couple.headers)
    assert vobject.readOne(chinese.text).vevent.summary.value.startswith("结婚登记")
    await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    cancel = vobject.readOne((await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics",
                                               headers=couple.headers)).text)
    assert cancel.method.value == "CANCEL" and cancel.vevent.uid.value == uid
    assert int(cancel.vevent.sequence.value) > int(event.sequence.value)
    assert cancel.vevent.status.value == "CANCELLED"
    qr = await client.get(f"/api/v1/appointments/{booked['id']}/qr.svg", headers=couple.headers)
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    staff = await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics", headers=office.clerk.headers)
    assert couple.email not in staff.text  # clerks get no couple's address
    staff_copy = vobject.readOne(staff.text)
    # a CANCEL names an ATTENDEE (RFC 5546): the office's own calendar, the one a clerk's copy is for
    assert staff_copy.method.value == "CANCEL" and staff_copy.vevent.attendee.value == "mailto:no-reply@booking.invalid"
    missing = await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics",
                               headers=(await make_actor(runtime, "couple")).headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


async def test_text_cannot_inject_calendar_properties(client, runtime, admin, couple):
    # a name is one line (it becomes the e-mail sender's name too); an address may span lines
    refused = await client.post("/api/v1/offices", headers=admin.headers, json={
        **GD_OFFICE, "code": "EVIL", "name_en": "Evil\r\nATTENDEE:mailto:x@evil.example"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "name_en"
    office = await open_office(client, runtime, admin, name_en="Evil; ATTENDEE:mailto:x@evil.example, ;",
                               address_en="Line\r\nATTENDEE:mailto:x@evil.example\nDTSTART:19700101T000000Z")
    slot_id = await slot_on(client, office, "2026-09-15")
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    text = (await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics",
                             headers={**couple.headers, "Accept-Language": "en"})).text
    event = vobject.readOne(text).vevent
    assert len(event.contents.get("attendee", [])) == 1
    assert len(event.contents["dtstart"]) == 1 and event.dtstart.value.year == 2026
    assert not any(line.startswith("ATTENDEE:mailto:x@evil") for line in text.splitlines())


async def test_no_response_carries_full_numbers_unless_revealed(client, runtime, admin, couple, clock):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    parties = couple_parties()
    booked = (await client.post("/api/v1/appointments", json=body(slot_id, parties), headers=couple.headers)).json()
    clock.set(datetime(2026, 9, 15, 8, 50, tzinfo=SH))
    texts = [
        (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).text,
        (await client.get("/api/v1/appointments", headers=couple.headers)).text,
        (await client.get(f"/api/v1/offices/{office.id}/roster?date=2026-09-15", headers=office.clerk.headers)).text,
        (await client.get(f"/api/v1/appointments/{booked['id']}", headers=office.clerk.headers)).text,
        (await client.post(f"/api/v1/offices/{office.id}/check-in", json={"code": booked["code"].lower()},
                           headers=office.clerk.headers)).text,
        (await client.get(f"/api/v1/appointments/{booked['id']}/invite.ics", headers=couple.headers)).text,
        (await client.get(f"/api/v1/audit?office_id={office.id}", headers=admin.headers)).text,
    ]
    for text in texts:
        assert no_full_numbers(text, parties)
    # the couple cannot reveal; a clerk of another office cannot; the office's clerk can, audited
    assert (await client.post(f"/api/v1/appointments/{booked['id']}/reveal",
                              headers=couple.headers)).status_code == 403
    other = await open_office(client, runtime, admin, code="OTHER")
    assert (await client.post(f"/api/v1/appointments/{booked['id']}/reveal",
                              headers=other.clerk.headers)).status_code == 404
    revealed = await client.post(f"/api/v1/appointments/{booked['id']}/reveal", headers=office.clerk.headers)
    assert [p["id_number"] for p in revealed.json()["parties"]] == [p["id_number"] for p in parties]
    assert [p["phone"] for p in revealed.json()["parties"]] == [p["phone"] for p in parties]
    audit = await client.get(f"/api/v1/audit?office_id={office.id}&action=party.reveal", headers=admin.headers)
    assert len(audit.json()["data"]) == 1 and audit.json()["data"][0]["actor_id"] == str(office.clerk.id)
    assert no_full_numbers(audit.text, parties)


async def test_clerk_desk_roster_check_in_complete_and_walk_in(client, runtime, admin, couple, clock):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    early = await client.post(f"/api/v1/offices/{office.id}/check-in", json={"code": booked["code"]},
                              headers=office.clerk.headers)
    assert early.status_code == 409  # not the day of the appointment
    clock.set(datetime(2026, 9, 15, 8, 40, tzinfo=SH))
    roster = await client.get(f"/api/v1/offices/{office.id}/roster?date=2026-09-15", headers=office.clerk.headers)
    assert [e["code"] for e in roster.json()["data"]] == [booked["code"]]
    assert roster.json()["counts"] == {"confirmed": 1}
    code = booked["code"][:4].lower() + "-" + booked["code"][4:]
    checked = await client.post(f"/api/v1/offices/{office.id}/check-in", json={"code": code},
                                headers=office.clerk.headers)
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    done = await client.post(f"/api/v1/appointments/{booked['id']}/complete", headers=office.clerk.headers)
    assert done.json()["status"] == "completed"
    other = await open_office(client, runtime, admin, code="OTHER")
    assert (await client.post(f"/api/v1/offices/{other.id}/check-in", json={"code": booked["code"]},
                              headers=other.clerk.headers)).status_code == 404
    assert (await client.get(f"/api/v1/offices/{office.id}/roster?date=2026-09-15",
                             headers=other.clerk.headers)).status_code == 404

    # a walk-in couple booked by the clerk: same rules, no account, audited
    walk_in_slot = await slot_on(client, office, "2026-09-16")
    response = await client.post(f"/api/v1/offices/{office.id}/appointments", json=body(walk_in_slot),
                                 headers=office.clerk.headers)
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "counter"
    underage = body(walk_in_slot, couple_parties(groom_birth=date(2006, 1, 1)))
    assert (await client.post(f"/api/v1/offices/{office.id}/appointments", json=underage,
                              headers=office.clerk.headers)).status_code == 422
    wrong_office = await client.post(f"/api/v1/offices/{other.id}/appointments", json=body(walk_in_slot),
                                     headers=other.clerk.headers)
    assert wrong_office.status_code == 422  # that slot is not one of its office's
    audit = (await client.get(f"/api/v1/audit?office_id={office.id}", headers=admin.headers)).json()["data"]
    actions = [(e["action"], e["outcome"]) for e in audit]
    assert ("appointment.book_counter", "ok") in actions
    assert ("appointment.check_in", "ok") in actions and ("appointment.complete", "ok") in actions
    assert ("appointment.check_in", "refused:invalid-status") in actions


async def test_unchecked_appointments_become_no_shows(client, runtime, admin, couple, clock):
    from booking.appointments.services.desk import sweep_no_shows

    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")  # 09:00-10:00
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    clock.set(datetime(2026, 9, 15, 10, 59, tzinfo=SH))
    assert await sweep_no_shows(runtime) == 0
    clock.set(datetime(2026, 9, 15, 11, 1, tzinfo=SH))
    assert await sweep_no_shows(runtime) == 1
    assert await sweep_no_shows(runtime) == 0
    one = await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)
    assert one.json()["status"] == "no_show"
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM appointment_party WHERE active") == 0
        assert await conn.fetchval(
            "SELECT count(*) FROM audit_entry WHERE action = 'appointment.no_show' AND actor_role = 'admin'") == 1


async def test_idempotent_replay_and_reuse(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    request = body(slot_id)
    headers = {**couple.headers, "Idempotency-Key": "abc-123"}
    first = await client.post("/api/v1/appointments", json=request, headers=headers)
    second = await client.post("/api/v1/appointments", json=request, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    other_body = body(slot_id, couple_parties())
    reused = await client.post("/api/v1/appointments", json=other_body, headers=headers)
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency-key-reused"
    # another account may use the same key for its own request
    other = await make_actor(runtime, "couple")
    assert (await client.post("/api/v1/appointments", json=other_body, headers={
        **other.headers, "Idempotency-Key": "abc-123"})).status_code == 201
    assert await remaining(client, office, slot_id) == 3
    assert (await client.post("/api/v1/appointments", json=request, headers={
        **couple.headers, "Idempotency-Key": "bad key with spaces"})).status_code == 422


async def test_only_couples_book_online(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-15")
    assert (await client.post("/api/v1/appointments", json=body(slot_id))).status_code == 401
    assert (await client.post("/api/v1/appointments", json=body(slot_id),
                              headers=office.clerk.headers)).status_code == 403




async def test_closing_a_date_cancels_its_appointments_and_tells_the_couples(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    slot_id = await slot_on(client, office, "2026-09-16")
    booked = (await client.post("/api/v1/appointments", json=body(slot_id), headers=couple.headers)).json()
    other_day = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-17")),
                                   headers=(await make_actor(runtime, "couple")).headers)).json()
    # the day-before reminders of the closed day handed on already
    assert await derive_reminders(runtime, datetime(2026, 9, 15, 18, 0, tzinfo=SH)) == 1
    closed = await client.post(f"/api/v1/offices/{office.id}/closures",
                               json={"date": "2026-09-16", "note": "停电"}, headers=office.clerk.headers)
    assert closed.status_code == 201 and closed.json()["cancelled_appointments"] == 1
    after = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).json()
    assert after["status"] == "cancelled" and after["sequence"] == 1
    assert (await client.get(f"/api/v1/appointments/{other_day['id']}",
                             headers=office.clerk.headers)).json()["status"] == "confirmed"
    async with runtime.db.raw() as conn:
        states = {(r["kind"], r["state"]) for r in await conn.fetch(
            "SELECT kind, state FROM notification WHERE subject_id = $1", uuid.UUID(booked["id"]))}
        by = await conn.fetchval("SELECT payload->>'by' FROM notification WHERE subject_id = $1 "
                                 "AND kind = 'appointment.cancelled' LIMIT 1", uuid.UUID(booked["id"]))
        active = await conn.fetchval("SELECT count(*) FROM appointment_party WHERE active")
    assert ("appointment.cancelled", "pending") in states and ("appointment.reminder", "cancelled") in states
    assert await remind_at(runtime, booked["id"]) is None
    assert await remind_at(runtime, other_day["id"]) == datetime(2026, 9, 16, 18, 0, tzinfo=SH)
    assert by == "office" and active == 2  # only the other day's couple still holds a booking
    late = await client.post("/api/v1/appointments", json=body(slot_id), headers={
        **(await make_actor(runtime, "couple")).headers, "Accept-Language": "en"})
    assert late.status_code == 409 and late.json()["code"] == "slot-not-bookable"  # closed, not "full"


async def test_removing_a_special_opening_with_a_cancelled_booking(client, runtime, admin, couple, clock):
    office = await open_office(client, runtime, admin)
    response = await client.post(f"/api/v1/offices/{office.id}/special-openings", json={"date": "2026-09-19"},
                                 headers=office.clerk.headers)
    assert response.status_code == 201
    await client.post(f"/api/v1/offices/{office.id}/slots/generate", json={"from": "2026-09-19", "to": "2026-09-19"},
                      headers=office.clerk.headers)
    saturday = await slot_on(client, office, "2026-09-19")
    booked = (await client.post("/api/v1/appointments", json=body(saturday), headers=couple.headers)).json()
    await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    removed = await client.delete(f"/api/v1/offices/{office.id}/special-openings/2026-09-19",
                                  headers=office.clerk.headers)
    assert removed.status_code == 204
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-19&to=2026-09-19",
                              headers=office.clerk.headers)).json()["data"]
    # kept (a booking refers to it), closed for good: its opening is gone
    assert [(s["id"], s["status"], s["closed_reason"]) for s in slots] == [(saturday, "closed", "opening_removed")]


async def test_reschedule_follows_the_policy_of_the_new_date(client, runtime, admin, couple):
    """A move across the start of a stricter policy period is refused, and nothing changes."""
    office = await open_office(client, runtime, admin)
    nonlocal_couple = couple_parties(region="510104", hukou="51")
    booked = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-15"),
                                                                  nonlocal_couple), headers=couple.headers)).json()
    assert booked["status"] == "pending_review"
    period = {"code": "local-only-2026q4", "title_zh": "仅限本地户籍", "title_en": "Local hukou only",
              "effective_from": "2026-09-18", "rule": "local_hukou", "prereview": False,
              "areas": {"marriage_registration": ["44"]}}
    assert (await client.post("/api/v1/jurisdiction/periods", json=period, headers=admin.headers)).status_code == 201
    later = await slot_on(client, office, "2026-09-21")
    refused = await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"slot_id": later},
                                headers={**couple.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "not-in-jurisdiction"
    assert await remaining(client, office, later) == 5
    still = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=couple.headers)).json()
    assert still["slot_id"] == booked["slot_id"]
    # before the new period, a move is fine
    sooner = await slot_on(client, office, "2026-09-16")
    assert (await client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"slot_id": sooner},
                              headers=couple.headers)).status_code == 200
