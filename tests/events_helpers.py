"""Shared set-up of the events tests: an office with its clerk, an event, a sign-up body."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from tests.factories import Actor, couple_parties

# The default event: Saturday 2026-10-10, 10:00-12:00 in Shanghai; the tests' clock stands
# at 2026-09-10 10:00 Shanghai, sign-ups open from then until the start.
EVENT_START = "2026-10-10T10:00:00+08:00"
EVENT_END = "2026-10-10T12:00:00+08:00"


def event_body(office_id: int, kind: str = "collective", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "office_id": office_id, "kind": kind,
        "title_zh": "天河区国庆集体婚礼", "title_en": "Tianhe National Day Collective Wedding",
        "description_zh": "简朴、庄重的集体婚礼。", "description_en": "A simple, dignified collective wedding.",
        "venue_zh": "天河公园", "venue_en": "Tianhe Park",
        "address_zh": "广州市天河区天府路1号", "address_en": "1 Tianfu Road, Guangzhou",
        "starts_at": EVENT_START, "ends_at": EVENT_END, "capacity": 10,
    }
    if kind == "memorial":
        body["eligibility"] = {"min_years_married": 50}
    body.update(overrides)
    return body


async def create_event(client: httpx.AsyncClient, clerk: Actor, office_id: int, kind: str = "collective",
                       **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/events", json=event_body(office_id, kind, **overrides),
                                 headers=clerk.headers)
    assert response.status_code == 201, response.text
    return response.json()


def signup_body(parties: list[dict[str, Any]] | None = None, marriage_date: str | None = "2026-05-20",
                **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"parties": parties or couple_parties()}
    if marriage_date is not None:
        body["marriage_date"] = marriage_date
    body.update(extra)
    return body


def golden_couple() -> list[dict[str, Any]]:
    """A couple born in 1950 (for memorial weddings)."""
    return couple_parties(groom_birth=date(1950, 4, 2), bride_birth=date(1951, 6, 9))


def distinct_couples(count: int) -> list[list[dict[str, Any]]]:
    """``count`` couples, no person twice (the ID helper's sequence numbers repeat every 495,
    so each couple gets its own birth dates)."""
    return [couple_parties(groom_birth=date(1990, 1, 1) + timedelta(days=i),
                           bride_birth=date(1992, 1, 1) + timedelta(days=i)) for i in range(count)]
