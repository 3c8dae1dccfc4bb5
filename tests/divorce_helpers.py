"""An office that registers divorces, two spouses with accounts of their own, and the steps
of a case through the API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from booking.clock import FixedClock
from booking.runtime import Runtime
from tests.factories import (
    Actor,
    Office,
    make_actor,
    open_office,
    phone,
    resident_id,
)

SH = ZoneInfo("Asia/Shanghai")
DIVORCE = "divorce_registration"
CASES = "/api/v1/divorce-cases"


def at(day: str, hhmm: str = "10:00") -> datetime:
    """A moment in Shanghai."""
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=SH)


@dataclass
class Spouse:
    actor: Actor
    party: dict[str, Any]  # as they give it themselves (with their own phone)
    language: str

    @property
    def headers(self) -> dict[str, str]:
        return {**self.actor.headers, "Accept-Language": self.language}

    def named(self) -> dict[str, Any]:
        """As the other spouse names them: who, not how to reach them."""
        return {k: self.party[k] for k in ("name", "id_type", "id_number")}


_spouse_phones = itertools.count(1)


def spouse_phone() -> str:
    """A phone of its own (137..., apart from the factories' 139...) whose last four digits
    are 9000-9999: they never read as a year, a date or a time in what the other spouse is
    shown, where the privacy checks look for them standing alone ("2026" would be found in
    every date)."""
    n = next(_spouse_phones)
    return f"137{n:04d}{9000 + n % 1000:04d}"


async def spouses(runtime: Runtime) -> tuple[Spouse, Spouse]:
    """He applies in English, she answers in Chinese; each has an account and a phone."""
    him = Spouse(await make_actor(runtime, "couple", email=f"he-{phone()}@example.com"),
                 {"name": "张伟", "id_type": "resident_id", "id_number": resident_id(date(1990, 3, 8), "M"),
                  "phone": spouse_phone(), "hukou_province": "44"}, "en")
    her = Spouse(await make_actor(runtime, "couple", email=f"she-{phone()}@example.com"),
                 {"name": "李娜", "id_type": "resident_id", "id_number": resident_id(date(1992, 7, 1), "F"),
                  "phone": spouse_phone(), "hukou_province": "44"}, "zh-CN")
    return him, her


async def divorce_office(client: httpx.AsyncClient, runtime: Runtime, admin: Actor,
                         dates: tuple[str, str] = ("2026-08-01", "2026-11-30"), code: str = "GZ-DIV") -> Office:
    """An office in Guangzhou registering divorces Monday to Friday, 09:00-10:00 and
    14:00-15:00, with slots over the given dates."""
    return await open_office(client, runtime, admin, capacity=3, dates=dates, code=code,
                             services=["marriage_registration", DIVORCE],
                             schedule_services=("marriage_registration", DIVORCE))


async def slot_on(client: httpx.AsyncClient, office: Office, day: str, hhmm: str = "09:00",
                  service: str = DIVORCE) -> int:
    listed = (await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}&service={service}",
                               headers=office.headers())).json()["data"]
    return next(s["id"] for s in listed if s["service"] == service
                and datetime.fromisoformat(s["starts_at"]).astimezone(SH).strftime("%H:%M") == hhmm)


async def apply(client: httpx.AsyncClient, applicant: Spouse, other: Spouse, slot_id: int) -> dict[str, Any]:
    response = await client.post(CASES, headers=applicant.headers, json={
        "slot_id": slot_id, "applicant": applicant.party, "other": other.named()})
    assert response.status_code == 201, response.text
    return response.json()


async def confirm(client: httpx.AsyncClient, who: Spouse, code: str) -> httpx.Response:
    return await client.post(f"{CASES}/confirm", headers=who.headers, json={"code": code, "party": who.party})


async def received_case(client: httpx.AsyncClient, clock: FixedClock, office: Office, him: Spouse,
                        her: Spouse, received_on: str, booked_on: str) -> dict[str, Any]:
    """A case applied for on ``booked_on``, confirmed, and received at its visit on
    ``received_on`` (the clerk checked the marriage certificate: no record here)."""
    clock.set(at(booked_on))
    case = await apply(client, him, her, await slot_on(client, office, received_on))
    assert (await confirm(client, her, case["visits"][0]["code"])).status_code == 200
    clock.set(at(received_on, "09:20"))
    receipt = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                                json={"marriage_certificate_checked": True})
    assert receipt.status_code == 200, receipt.text
    return receipt.json()
