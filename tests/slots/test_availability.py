"""Availability: release time, booking window and cut-off, in the office's timezone."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.clock import FixedClock
from tests.factories import Actor, create_office, make_actor, weekday_schedule

pytestmark = pytest.mark.asyncio

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


async def _prepared_office(client, runtime, admin, **office):
    created = await create_office(client, admin, **office)
    clerk = await make_actor(runtime, "clerk", created["id"])
    oid = created["id"]
    await client.put(f"/api/v1/offices/{oid}/schedule", json=weekday_schedule(capacity=5), headers=clerk.headers)
    response = await client.post(f"/api/v1/offices/{oid}/slots/generate",
                                 json={"from": "2026-09-10", "to": "2026-10-31"}, headers=clerk.headers)
    assert response.status_code == 200
    return oid, clerk


async def _days(client, oid, **params):
    query = "&".join(f"{k}={v}" for k, v in {"service": "marriage_registration", **params}.items())
    response = await client.get(f"/api/v1/offices/{oid}/availability?{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_release_time_and_window(client, runtime, admin: Actor, clock: FixedClock):
    oid, _ = await _prepared_office(client, runtime, admin)
    # rules: 15 days ahead, released at 08:30 Shanghai time
    clock.set(at(SHANGHAI, 2026, 9, 14, 8, 29, 59))
    body = await _days(client, oid)
    last = max(s["starts_at"][:10] for s in body["data"])
    assert last == "2026-09-28"
    clock.set(at(SHANGHAI, 2026, 9, 14, 8, 30))
    body = await _days(client, oid)
    assert max(s["starts_at"][:10] for s in body["data"]) == "2026-09-29"
    # times carry the office's offset; nothing outside the window even when asked for
    assert body["data"][0]["starts_at"].endswith("+08:00")
    body = await _days(client, oid, **{"from": "2026-09-20", "to": "2026-10-31"})
    assert min(s["starts_at"][:10] for s in body["data"]) == "2026-09-20"  # a make-up working Sunday
    assert max(s["starts_at"][:10] for s in body["data"]) == "2026-09-29"


async def test_cutoff_the_day_before_at_15(client, runtime, admin: Actor, clock: FixedClock):
    oid, _ = await _prepared_office(client, runtime, admin)
    clock.set(at(SHANGHAI, 2026, 9, 14, 14, 59))
    days = {s["starts_at"][:10] for s in (await _days(client, oid))["data"]}
    assert "2026-09-15" in days and "2026-09-14" not in days
    clock.set(at(SHANGHAI, 2026, 9, 14, 15, 0))
    days = {s["starts_at"][:10] for s in (await _days(client, oid))["data"]}
    assert "2026-09-15" not in days and "2026-09-16" in days


async def test_same_day_cutoff_hides_started_slots(client, runtime, admin: Actor, clock: FixedClock):
    rules = {"cutoff_days_before": 0, "cutoff_time": "23:59"}
    oid, _ = await _prepared_office(client, runtime, admin, rules=rules)
    clock.set(at(SHANGHAI, 2026, 9, 14, 9, 0))  # the 09:00 slot has started, 14:00 has not
    today = [s for s in (await _days(client, oid))["data"] if s["starts_at"].startswith("2026-09-14")]
    assert [s["starts_at"] for s in today] == ["2026-09-14T14:00:00+08:00"]


async def test_closed_and_full_slots(client, runtime, admin: Actor, clock: FixedClock):
    oid, clerk = await _prepared_office(client, runtime, admin)
    clock.set(at(SHANGHAI, 2026, 9, 14, 9, 0))
    slots = (await _days(client, oid, **{"from": "2026-09-16", "to": "2026-09-16"}))["data"]
    assert [s["remaining"] for s in slots] == [5, 5]
    await client.patch(f"/api/v1/slots/{slots[0]['slot_id']}", json={"status": "closed"}, headers=clerk.headers)
    async with runtime.db.raw() as conn:
        await conn.execute("UPDATE slot SET booked = 5 WHERE id = $1", slots[1]["slot_id"])
    after = (await _days(client, oid, **{"from": "2026-09-16", "to": "2026-09-16"}))["data"]
    assert [(s["slot_id"], s["capacity"], s["remaining"]) for s in after] == [(slots[1]["slot_id"], 5, 0)]


async def test_office_timezone_not_server_timezone(client, runtime, admin: Actor, clock: FixedClock, monkeypatch):
    """An office in UTC+6 releases at 08:30 its own time; the server's TZ changes nothing."""
    urumqi = ZoneInfo("Asia/Urumqi")
    oid_sh, _ = await _prepared_office(client, runtime, admin, code="SH-TZ")
    oid_xj, _ = await _prepared_office(client, runtime, admin, code="XJ-TZ", province_code="65",
                                       division_code=None, timezone="Asia/Urumqi")
    moment = at(urumqi, 2026, 9, 14, 8, 0)  # 10:00 in Shanghai: released there, not yet in Urumqi
    clock.set(moment)

    async def last_days():
        return (max(s["starts_at"][:10] for s in (await _days(client, oid_sh))["data"]),
                max(s["starts_at"][:10] for s in (await _days(client, oid_xj))["data"]))

    baseline = await last_days()
    assert baseline == ("2026-09-29", "2026-09-28")
    xj_first = (await _days(client, oid_xj))["data"][0]["starts_at"]
    assert xj_first.endswith("+06:00")
    for server_tz in ("America/New_York", "Pacific/Kiritimati", "UTC"):
        monkeypatch.setenv("TZ", server_tz)
        time.tzset()
        assert await last_days() == baseline
    monkeypatch.undo()
    time.tzset()


async def test_availability_errors(client, runtime, admin: Actor):
    oid, _ = await _prepared_office(client, runtime, admin, services=["marriage_registration"])
    missing = await client.get("/api/v1/offices/999/availability?service=marriage_registration")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    not_offered = await client.get(f"/api/v1/offices/{oid}/availability?service=certificate_reissue",
                                   headers={"Accept-Language": "en"})
    assert not_offered.status_code == 422
    assert not_offered.json()["errors"] == [{"field": "service",
                                             "message": "The office does not offer this service."}]
    for query in ("service=nonsense", "", "service=marriage_registration&from=2026-02-30",
                  "service=marriage_registration&from=2026-09-20&to=2026-09-10"):
        response = await client.get(f"/api/v1/offices/{oid}/availability?{query}")
        assert response.status_code == 422, query
        assert response.json()["title"] == "输入无效。"
