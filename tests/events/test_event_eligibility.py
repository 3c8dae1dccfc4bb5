"""Eligibility per kind of event, as tables: the rule, the couple, the outcome (HTTP, PostgreSQL).

The event is on Saturday 2026-10-10 (Shanghai); the clock stands at 2026-09-10."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from booking.events.eligibility import add_months
from tests.events_helpers import create_event, golden_couple, signup_body
from tests.factories import couple_parties, make_actor, office_with_clerk, weekday_schedule

SH = ZoneInfo("Asia/Shanghai")


async def _attempt(client, runtime, admin, kind: str, event: dict[str, Any], body: dict[str, Any]):
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    created = await create_event(client, clerk, office_id, kind, **event)
    couple = await make_actor(runtime, "couple")
    return await client.post(f"/api/v1/events/{created['id']}/signups", json=body,
                             headers={**couple.headers, "Accept-Language": "en"})


def _outcome(response) -> str:
    if response.status_code == 201:
        return response.json()["status"]
    assert response.status_code == 422, response.text
    problem = response.json()
    return f"{problem['code']}:{problem.get('rule', '')}:{problem['errors'][0]['field']}"


MEMORIAL = [
    # (years, marriage date, outcome)
    (50, "1976-10-10", "confirmed"),  # 50 years on the very day
    (50, "1976-10-11", "not-eligible:memorial.min_years_married:marriage_date"),  # 49 years and 364 days
    (50, "1958-05-01", "confirmed"),
    (50, None, "not-eligible:memorial.min_years_married:marriage_date"),
    (25, "2001-10-10", "confirmed"),  # a silver wedding
    (25, "2001-10-11", "not-eligible:memorial.min_years_married:marriage_date"),
    (50, "2027-01-01", "not-eligible:marriage_date:marriage_date"),  # in the future
    (50, "1949-12-31", "not-eligible:marriage_date:marriage_date"),  # before the groom was born
]


@pytest.mark.parametrize(("years", "married", "expected"), MEMORIAL)
async def test_memorial(client, runtime, admin, years, married, expected):
    response = await _attempt(client, runtime, admin, "memorial", {"eligibility": {"min_years_married": years}},
                              signup_body(golden_couple(), marriage_date=married))
    assert _outcome(response) == expected
    if response.status_code == 201:
        assert response.json()["eligible_by"] == "marriage_date" and response.json()["marriage_date"] == married
    else:
        assert response.json()["title"] == "The couple does not meet this event's conditions."


COLLECTIVE = [
    # (rules, groom born, marriage date, outcome)
    ({}, date(1995, 3, 8), "2025-10-10", "confirmed"),  # 12 months before, to the day
    ({}, date(1995, 3, 8), "2025-10-09", "not-eligible:collective.registered_within:marriage_date"),
    ({}, date(1995, 3, 8), "2026-09-10", "confirmed"),  # registered today
    ({}, date(1995, 3, 8), None, "not-eligible:collective.registered_within:marriage_date"),
    ({"registered_within_months": 3}, date(1995, 3, 8), "2026-07-10", "confirmed"),
    ({"registered_within_months": 3}, date(1995, 3, 8), "2026-07-09",
     "not-eligible:collective.registered_within:marriage_date"),
    ({"max_age": 45}, date(1980, 10, 11), "2026-05-20", "confirmed"),  # 45 on the day
    ({"max_age": 45}, date(1980, 10, 10), "2026-05-20", "not-eligible:collective.max_age:parties.0.id_number"),
]


@pytest.mark.parametrize(("rules", "born", "married", "expected"), COLLECTIVE)
async def test_collective(client, runtime, admin, rules, born, married, expected):
    response = await _attempt(client, runtime, admin, "collective", {"eligibility": rules},
                              signup_body(couple_parties(groom_birth=born), marriage_date=married))
    assert _outcome(response) == expected


CHARITY = [
    # (rules, extra body, outcome)
    ({}, {}, "pending_approval"),  # always approved by the organiser
    ({}, {"pledge": {"amount": "8800", "cause": "乡村教育"}}, "pending_approval"),
    ({"pledge_or_sponsor_required": True}, {}, "not-eligible:charity.pledge_or_sponsor:pledge"),
    ({"pledge_or_sponsor_required": True}, {"sponsor": {"name": "社区基金会"}}, "pending_approval"),
]


@pytest.mark.parametrize(("rules", "extra", "expected"), CHARITY)
async def test_charity(client, runtime, admin, rules, extra, expected):
    response = await _attempt(client, runtime, admin, "charity", {"eligibility": rules},
                              signup_body(marriage_date=None, **extra))
    assert _outcome(response) == expected


async def test_collective_by_booked_or_registered_appointment(client, runtime, admin, clock):
    """A couple booked here qualifies without a marriage date when their registration is
    before the event; once registered here, the service's record gives the marriage date."""
    office_id, clerk = await office_with_clerk(client, runtime, admin)
    await client.put(f"/api/v1/offices/{office_id}/schedule", json=weekday_schedule(), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{office_id}/slots/generate", json={"from": "2026-09-14", "to": "2026-09-25"},
                      headers=clerk.headers)
    slots = (await client.get(f"/api/v1/offices/{office_id}/slots?from=2026-09-15&to=2026-09-15",
                              headers=clerk.headers)).json()["data"]
    couple, parties = await make_actor(runtime, "couple"), couple_parties()
    booked = await client.post("/api/v1/appointments", headers=couple.headers, json={
        "slot_id": slots[0]["id"], "service": "marriage_registration", "parties": parties})
    assert booked.status_code == 201, booked.text
    before = await create_event(client, clerk, office_id)
    after_event = await create_event(client, clerk, office_id, starts_at="2026-09-14T10:00:00+08:00",
                                     ends_at="2026-09-14T12:00:00+08:00")
    ok = await client.post(f"/api/v1/events/{before['id']}/signups", json=signup_body(parties, marriage_date=None),
                           headers=couple.headers)
    assert ok.status_code == 201 and ok.json()["eligible_by"] == "appointment"
    assert ok.json()["marriage_date"] is None
    # the registration comes after that event: it does not count
    late = await client.post(f"/api/v1/events/{after_event['id']}/signups",
                             json=signup_body(parties, marriage_date=None), headers=couple.headers)
    assert late.status_code == 422 and late.json()["rule"] == "collective.registered_within"
    # one of them with someone else: not this couple's booking
    mixed = [parties[0], couple_parties()[1]]
    other = await client.post(f"/api/v1/events/{before['id']}/signups", json=signup_body(mixed, marriage_date=None),
                              headers=(await make_actor(runtime, "couple")).headers)
    assert other.status_code == 422

    clock.set(datetime(2026, 9, 15, 8, 50, tzinfo=SH))
    await client.post(f"/api/v1/offices/{office_id}/check-in", json={"code": booked.json()["code"]},
                      headers=clerk.headers)
    done = await client.post(f"/api/v1/appointments/{booked.json()['id']}/complete", headers=clerk.headers)
    assert done.json()["status"] == "completed"
    third = await create_event(client, clerk, office_id, title_en="Third")
    registered = await client.post(f"/api/v1/events/{third['id']}/signups",
                                   json=signup_body(parties, marriage_date="2020-01-01"), headers=couple.headers)
    assert registered.status_code == 201, registered.text
    # the record wins over the date the couple typed
    assert registered.json()["eligible_by"] == "record" and registered.json()["marriage_date"] == "2026-09-15"


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2026, 10, 10), -12) == date(2025, 10, 10)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
