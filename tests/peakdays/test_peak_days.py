"""Peak days: 七夕 from the lunar calendar checked against a second calendar, the public
listing, an office's own dates, and what a clerk is told at slot generation."""

from __future__ import annotations

from datetime import date

import pytest
from lunar_python import Lunar

from booking.clock import FixedClock
from booking.peakdays.calendar import national_peak_days, qixi
from tests.ballot_helpers import BEFORE_WINDOW, peak_office, set_up_ballot
from tests.factories import make_actor


def test_qixi_2024_to_2030_agrees_with_an_independent_calendar():
    """``lunardate`` (tables) against ``lunar-python`` (6tail's lunar, computed from
    astronomical new moons and solar terms), a package with no code in common; and the
    dates PITFALLS.md records from lunardate on this machine."""
    for year in range(2024, 2031):
        other = Lunar.fromYmd(year, 7, 7).getSolar()
        assert qixi(year) == date(other.getYear(), other.getMonth(), other.getDay()), year
    assert [qixi(y) for y in (2026, 2027, 2028)] == [date(2026, 8, 19), date(2027, 8, 8), date(2028, 8, 26)]


def test_the_national_peak_days_of_a_year():
    found = national_peak_days(date(2027, 1, 1), date(2027, 12, 31))
    assert [(p.day, p.kind) for p in found] == [
        (date(2027, 2, 14), "valentine"), (date(2027, 5, 20), "520"), (date(2027, 8, 8), "qixi")]
    assert found[2].name("zh_Hans_CN") == "七夕（农历七月初七）"
    assert qixi(2100) is None  # past the lunar tables: no guess


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BEFORE_WINDOW)


async def test_the_public_listing(client, runtime, admin):
    office = await peak_office(client, runtime, admin)
    listed = (await client.get("/api/v1/peak-days", headers={"Accept-Language": "en"})).json()["data"]
    # from today (2027-04-20) for a year
    assert [(d["date"], d["kinds"]) for d in listed] == [
        ("2027-05-20", ["520"]), ("2027-08-08", ["qixi"]), ("2028-02-14", ["valentine"])]
    assert listed[0]["names"] == ['20 May (520, "I love you")']

    clerk = office.clerk.headers
    added = await client.post(f"/api/v1/offices/{office.id}/peak-days", headers=clerk,
                              json={"date": "2027-09-09", "name_zh": "九九 长长久久", "name_en": "Nine-nine"})
    assert added.status_code == 201
    assert added.json() | {"ballots": []} == {"date": "2027-09-09", "names": ["九九 长长久久"], "kinds": ["office"],
                                              "office_ids": [office.id], "ballots": [], "booking": "first_come"}
    same_day = await client.post(f"/api/v1/offices/{office.id}/peak-days", headers=clerk,
                                 json={"date": "2027-05-20", "name_zh": "我爱你"})
    assert same_day.status_code == 201 and same_day.json()["kinds"] == ["520", "office"]
    twice = await client.post(f"/api/v1/offices/{office.id}/peak-days", headers=clerk,
                              json={"date": "2027-09-09", "name_zh": "again"})
    assert twice.status_code == 409 and twice.json()["code"] == "peak-day-exists"
    couple = await make_actor(runtime, "couple")
    assert (await client.post(f"/api/v1/offices/{office.id}/peak-days", headers=couple.headers,
                              json={"date": "2027-09-10", "name_zh": "x"})).status_code == 403

    ballot = await set_up_ballot(client, office)
    mine = (await client.get(f"/api/v1/peak-days?from=2027-05-01&to=2027-09-30&office_id={office.id}",
                             headers={"Accept-Language": "en"})).json()["data"]
    assert [(d["date"], d["booking"]) for d in mine] == [
        ("2027-05-20", "ballot"), ("2027-08-08", "first_come"), ("2027-09-09", "first_come")]
    assert mine[0]["ballots"][0]["ballot_id"] == ballot["id"]
    assert mine[2]["names"] == ["Nine-nine"]

    removed = await client.delete(f"/api/v1/offices/{office.id}/peak-days/2027-09-09", headers=clerk)
    assert removed.status_code == 204
    assert (await client.delete(f"/api/v1/offices/{office.id}/peak-days/2027-09-09", headers=clerk)).status_code == 404
    for query in ("from=2027-01-01&to=2030-01-01", "from=2027-05-02&to=2027-05-01", "from=nope",
                  "from=9999-01-01", "office_id=0"):
        refused = await client.get(f"/api/v1/peak-days?{query}")
        assert refused.status_code in (400, 422) and refused.headers["content-type"].startswith(
            "application/problem+json"), query


async def test_slot_generation_tells_the_clerk_which_days_are_peak_days(client, runtime, admin):
    office = await peak_office(client, runtime, admin)
    generated = await client.post(f"/api/v1/offices/{office.id}/slots/generate", headers=office.clerk.headers,
                                  json={"from": "2027-05-18", "to": "2027-05-21", "allow_unannounced_years": True})
    body = generated.json()
    assert [(d["date"], d["peak"]) for d in body["days"]] == [
        ("2027-05-18", None), ("2027-05-19", None), ("2027-05-20", ["5月20日（“520”，我爱你）"]), ("2027-05-21", None)]
    assert [(p["date"], p["booking"]) for p in body["peak_days"]] == [("2027-05-20", "first_come")]
