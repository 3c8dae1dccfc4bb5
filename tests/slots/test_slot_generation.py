"""Schedules → slots, with China's public holidays and make-up working days (调休)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import Actor, office_with_clerk, weekday_schedule

pytestmark = pytest.mark.asyncio


async def _slot_dates(client, office_id, clerk, start, end):
    response = await client.get(f"/api/v1/offices/{office_id}/slots?from={start}&to={end}", headers=clerk.headers)
    assert response.status_code == 200, response.text
    return {date.fromisoformat(s["date"]) for s in response.json()["data"]}, response.json()["data"]


async def test_october_2026_in_guangdong(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    response = await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5),
                                headers=clerk.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["windows"]) == 10

    response = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                                 json={"from": "2026-09-14", "to": "2026-10-31"}, headers=clerk.headers)
    assert response.status_code == 200, response.text
    result = response.json()
    days = {d["date"]: d for d in result["days"]}

    dates, slots = await _slot_dates(client, oid, clerk, "2026-09-14", "2026-10-31")
    # National Day and Mid-Autumn: 2026-10-01 to 10-07 closed, whatever the weekday
    for day in range(1, 8):
        assert date(2026, 10, day) not in dates
        assert days[f"2026-10-0{day}"]["status"] == "holiday"
    assert date(2026, 9, 25) not in dates  # Mid-Autumn Festival (Friday)
    # make-up working days open as on a normal working day
    assert date(2026, 9, 20) in dates and days["2026-09-20"]["status"] == "makeup_workday"  # Sunday
    assert date(2026, 10, 10) in dates and days["2026-10-10"]["status"] == "makeup_workday"  # Saturday
    # ordinary weekends stay closed, ordinary weekdays open
    assert date(2026, 9, 19) not in dates and date(2026, 10, 11) not in dates
    assert date(2026, 10, 8) in dates and date(2026, 10, 9) in dates
    # two windows a day, capacity from the schedule, times in the office's timezone
    on_sunday = [s for s in slots if s["date"] == "2026-09-20"]
    assert [s["starts_at"] for s in on_sunday] == ["2026-09-20T01:00:00Z", "2026-09-20T06:00:00Z"]
    assert all(s["capacity"] == 5 and s["booked"] == 0 for s in slots)
    # workdays between 09-14 and 10-31: 35 ordinary weekdays minus 09-25 and 10-01..10-07 (5 weekdays)
    # = 29, plus two make-up days = 31 days with 2 slots each
    assert len(dates) == 31 and result["created"] == 62 and result["existing"] == 0

    again = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                              json={"from": "2026-09-14", "to": "2026-10-31"}, headers=clerk.headers)
    assert again.json()["created"] == 0 and again.json()["existing"] == 62
    _, slots_after = await _slot_dates(client, oid, clerk, "2026-09-14", "2026-10-31")
    assert sorted(s["id"] for s in slots_after) == sorted(s["id"] for s in slots)


async def test_regeneration_never_touches_booked_slots(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{oid}/slots/generate", json={"from": "2026-09-14", "to": "2026-09-18"},
                      headers=clerk.headers)
    async with runtime.db.raw() as conn:
        await conn.execute("UPDATE slot SET booked = 3 WHERE office_id = $1", oid)
    # a new schedule with other capacities and an extra window
    await client.put(f"/api/v1/offices/{oid}/schedule", headers=clerk.headers, json=weekday_schedule(
        capacity=9, hours=(("09:00", "10:00"), ("14:00", "15:00"), ("16:00", "17:00"))))
    response = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                                 json={"from": "2026-09-14", "to": "2026-09-18"}, headers=clerk.headers)
    assert response.json()["created"] == 5  # only the new 16:00 windows
    _, slots = await _slot_dates(client, oid, clerk, "2026-09-14", "2026-09-18")
    old = [s for s in slots if s["booked"] == 3]
    assert len(old) == 10 and all(s["capacity"] == 5 for s in old)


async def test_unannounced_year_is_refused_unless_overridden(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(), headers=clerk.headers)
    body = {"from": "2026-12-28", "to": "2027-01-08"}
    refused = await client.post(f"/api/v1/offices/{oid}/slots/generate", json=body,
                                headers={**clerk.headers, "Accept-Language": "en"})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "holiday-calendar-unannounced" and problem["years"] == [2027]
    assert "2027" in problem["detail"]
    dates, _ = await _slot_dates(client, oid, clerk, "2026-12-28", "2027-01-08")
    assert dates == set()  # nothing was generated, not even 2026's days

    zh = await client.post(f"/api/v1/offices/{oid}/slots/generate", json=body, headers=clerk.headers)
    assert zh.json()["title"] == "该年度的法定节假日及调休安排尚未公布。"

    forced = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                               json={**body, "allow_unannounced_years": True}, headers=clerk.headers)
    assert forced.status_code == 200 and forced.json()["assumed_years"] == [2027]
    days = {d["date"]: d for d in forced.json()["days"]}
    assert days["2027-01-01"]["status"] == "holiday" and days["2027-01-01"]["announced"] is False
    assert days["2026-12-31"]["announced"] is True
    dates, _ = await _slot_dates(client, oid, clerk, "2026-12-28", "2027-01-08")
    assert date(2027, 1, 1) not in dates and date(2027, 1, 4) in dates and date(2026, 12, 31) in dates


async def test_closures_and_special_openings(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(), headers=clerk.headers)
    # closed on a Tuesday; open on Saturday 2026-10-17 with its own windows; open on Sunday
    # 2026-10-18 with the usual working-day windows
    assert (await client.post(f"/api/v1/offices/{oid}/closures", json={"date": "2026-10-13", "note": "装修"},
                              headers=clerk.headers)).status_code == 201
    response = await client.post(f"/api/v1/offices/{oid}/special-openings", headers=clerk.headers, json={
        "date": "2026-10-17", "note": "七夕", "windows": [
            {"start": "08:30", "end": "12:00", "capacities": {"marriage_registration": 40}}]})
    assert response.status_code == 201, response.text
    assert (await client.post(f"/api/v1/offices/{oid}/special-openings", json={"date": "2026-10-18"},
                              headers=clerk.headers)).status_code == 201
    duplicate = await client.post(f"/api/v1/offices/{oid}/closures", json={"date": "2026-10-17"},
                                  headers=clerk.headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "office-day-exists"

    await client.post(f"/api/v1/offices/{oid}/slots/generate", json={"from": "2026-10-12", "to": "2026-10-18"},
                      headers=clerk.headers)
    dates, slots = await _slot_dates(client, oid, clerk, "2026-10-12", "2026-10-18")
    assert date(2026, 10, 13) not in dates
    saturday = [s for s in slots if s["date"] == "2026-10-17"]
    assert [(s["starts_at"], s["capacity"]) for s in saturday] == [("2026-10-17T00:30:00Z", 40)]
    assert len([s for s in slots if s["date"] == "2026-10-18"]) == 2

    # a closure added after generation closes that day's slots at once
    assert (await client.post(f"/api/v1/offices/{oid}/closures", json={"date": "2026-10-14"},
                              headers=clerk.headers)).status_code == 201
    _, slots = await _slot_dates(client, oid, clerk, "2026-10-14", "2026-10-14")
    assert {(s["status"], s["closed_reason"]) for s in slots} == {("closed", "closure")}
    # removing it reopens them
    assert (await client.delete(f"/api/v1/offices/{oid}/closures/2026-10-14",
                                headers=clerk.headers)).status_code == 204
    _, slots = await _slot_dates(client, oid, clerk, "2026-10-14", "2026-10-14")
    assert {s["status"] for s in slots} == {"open"}
    listed = await client.get(f"/api/v1/offices/{oid}/closures", headers=clerk.headers)
    assert [d["date"] for d in listed.json()["data"]] == ["2026-10-13"]


async def test_slot_capacity_never_below_booked(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{oid}/slots/generate", json={"from": "2026-09-14", "to": "2026-09-14"},
                      headers=clerk.headers)
    _, slots = await _slot_dates(client, oid, clerk, "2026-09-14", "2026-09-14")
    slot_id = slots[0]["id"]
    async with runtime.db.raw() as conn:
        await conn.execute("UPDATE slot SET booked = 3 WHERE id = $1", slot_id)
    refused = await client.patch(f"/api/v1/slots/{slot_id}", json={"capacity": 2},
                                 headers={**clerk.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "capacity-below-booked"
    ok = await client.patch(f"/api/v1/slots/{slot_id}", json={"capacity": 3}, headers=clerk.headers)
    assert ok.status_code == 200 and ok.json()["capacity"] == 3
    closed = await client.patch(f"/api/v1/slots/{slot_id}", json={"status": "closed"}, headers=clerk.headers)
    assert closed.json()["status"] == "closed"
    # the database itself refuses what the service would: capacity below booked
    async with runtime.db.raw() as conn:
        with pytest.raises(Exception, match="ck_slot_capacity"):
            await conn.execute("UPDATE slot SET capacity = 1 WHERE id = $1", slot_id)
    audit = await client.get(f"/api/v1/audit?office_id={oid}&action=slot.update", headers=admin.headers)
    entries = audit.json()["data"]  # newest first, refusals included
    assert [e["outcome"] for e in entries] == ["ok", "ok", "refused:capacity-below-booked"]
    assert entries[-1]["actor_id"] == str(clerk.id) and entries[-1]["target_id"] == str(slot_id)
    assert entries[-1]["detail"] == {"capacity": 2}


async def test_schedule_validation(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin, services=["marriage_registration"])
    bad = [
        {"windows": [{"weekday": 8, "start": "09:00", "end": "10:00", "capacities": {"marriage_registration": 1}}]},
        {"windows": [{"weekday": 1, "start": "10:00", "end": "09:00", "capacities": {"marriage_registration": 1}}]},
        {"windows": [{"weekday": 1, "start": "09:00", "end": "10:00", "capacities": {"marriage_registration": 1}},
                     {"weekday": 1, "start": "09:30", "end": "11:00", "capacities": {"marriage_registration": 1}}]},
        {"windows": [{"weekday": 1, "start": "09:00", "end": "10:00", "capacities": {"marriage_registration": 0}}]},
        {"windows": [{"weekday": 1, "start": "09:00", "end": "10:00", "capacities": {"divorce": 1}}]},
    ]
    for body in bad:
        response = await client.put(f"/api/v1/offices/{oid}/schedule", json=body, headers=clerk.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"], body
    # a service the office does not offer
    response = await client.put(f"/api/v1/offices/{oid}/schedule", headers=clerk.headers, json={"windows": [
        {"weekday": 1, "start": "09:00", "end": "10:00", "capacities": {"certificate_reissue": 1}}]})
    assert response.status_code == 422
    assert (await client.get(f"/api/v1/offices/{oid}/schedule", headers=clerk.headers)).json()["windows"] == []


async def test_closure_reopens_only_what_it_closed(client, runtime, admin: Actor):
    oid, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{oid}/slots/generate", json={"from": "2026-10-14", "to": "2026-10-14"},
                      headers=clerk.headers)
    _, slots = await _slot_dates(client, oid, clerk, "2026-10-14", "2026-10-14")
    by_hand = slots[0]["id"]
    await client.patch(f"/api/v1/slots/{by_hand}", json={"status": "closed"}, headers=clerk.headers)
    await client.post(f"/api/v1/offices/{oid}/closures", json={"date": "2026-10-14"}, headers=clerk.headers)
    await client.delete(f"/api/v1/offices/{oid}/closures/2026-10-14", headers=clerk.headers)
    _, slots = await _slot_dates(client, oid, clerk, "2026-10-14", "2026-10-14")
    assert {s["id"]: (s["status"], s["closed_reason"]) for s in slots} == {
        by_hand: ("closed", "clerk"), slots[1]["id"]: ("open", None)}
