"""Shared set-up of the ballot tests: an office with slots on 2027-05-20 (5·20, a Thursday)
and a ballot for it, at a clock before its entry window."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tests.factories import (
    Actor,
    Office,
    open_office,
    phone,
    resident_id,
)

PEAK_DAY = "2027-05-20"
# 2027-04-20 10:00 in Shanghai: a month before 5·20, before the ballot's window opens
BEFORE_WINDOW = datetime(2027, 4, 20, 2, 0, tzinfo=UTC)
IN_WINDOW = datetime(2027, 4, 25, 2, 0, tzinfo=UTC)
AFTER_DRAW = datetime(2027, 5, 2, 2, 0, 1, tzinfo=UTC)  # 10:00:01 in Shanghai
BALLOT = {
    "date": PEAK_DAY, "service": "marriage_registration",
    "entry_opens_at": "2027-04-21T09:00:00+08:00", "entry_closes_at": "2027-05-01T18:00:00+08:00",
    "draw_at": "2027-05-02T10:00:00+08:00",
}


def couple_of(i: int, region: str = "440106", hukou: str | None = "44") -> list[dict[str, Any]]:
    """The i-th couple: ID numbers unique per i (the birth dates carry i)."""
    groom = {"name": "张伟", "id_type": "resident_id", "phone": phone(),
             "id_number": resident_id(date(1980, 1, 1) + timedelta(days=i), "M", region, sequence=11)}
    bride = {"name": "李娜", "id_type": "resident_id", "phone": phone(),
             "id_number": resident_id(date(1985, 1, 1) + timedelta(days=i), "F", region, sequence=12)}
    if hukou is not None:
        groom["hukou_province"] = bride["hukou_province"] = hukou
    return [groom, bride]


async def peak_office(client: httpx.AsyncClient, runtime: Any, admin: Actor, capacity: int = 50) -> Office:
    """An office open Monday to Friday, 09:00 and 14:00, ``capacity`` seats each, with slots
    from late April to 5·20 (2027's 调休 is not announced yet: generated with the override)."""
    return await open_office(client, runtime, admin, capacity=capacity, dates=("2027-04-26", "2027-05-21"))


async def set_up_ballot(client: httpx.AsyncClient, office: Office, **changes: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/offices/{office.id}/ballots", json={**BALLOT, **changes},
                                 headers=office.clerk.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def enter_all(client: httpx.AsyncClient, ballot_id: str, couples: list[Actor], first: int = 0,
                    times: dict[int, list[str]] | None = None) -> list[dict[str, Any]]:
    """Each account enters with its own couple, 16 requests at a time."""
    gate = asyncio.Semaphore(16)

    async def one(i: int, actor: Actor) -> dict[str, Any]:
        body: dict[str, Any] = {"parties": couple_of(first + i)}
        if times and i in times:
            body["times"] = times[i]
        async with gate:
            response = await client.post(f"/api/v1/ballots/{ballot_id}/entries", json=body, headers=actor.headers)
        assert response.status_code == 201, response.text
        return response.json()

    return list(await asyncio.gather(*(one(i, a) for i, a in enumerate(couples))))


def recompute_winners(seed_hex: str, entry_ids: list[str], seats: list[dict[str, Any]],
                      entry_times: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """The published recipe, written out again here without the service's code: (the draw
    order, the winners in draw order)."""
    seed = bytes.fromhex(seed_hex)
    ordered = sorted(entry_ids, key=lambda e: (hmac.new(seed, e.encode("ascii"), hashlib.sha256).hexdigest(), e))
    left = {s["time"]: s["seats"] for s in seats}
    winners = []
    for entry_id in ordered:
        if sum(left.values()) == 0:
            break
        for start in sorted(left):
            if left[start] > 0 and (entry_id not in entry_times or start in entry_times[entry_id]):
                left[start] -= 1
                winners.append(entry_id)
                break
    return ordered, winners

