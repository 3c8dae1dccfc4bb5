"""Test data, made one way: accounts with tokens, an office with its clerk (and a schedule
and slots when the test needs them), valid resident ID numbers and couples, and a wait on
the outbox's state for "nothing more was sent" (instead of a sleep and a hope)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from booking.accounts.principal import Principal
from booking.accounts.tokens import build_jwt_auth, issue_token
from booking.db.models import UserAccount
from booking.kernel.idnumbers import check_character
from booking.runtime import Runtime

# --- people --------------------------------------------------------------------------------

_sequence = itertools.count(11)


def resident_id(birth: date, sex: str, region: str = "440106", sequence: int | None = None) -> str:
    """A valid 18-character resident ID number (GB 11643-1999) for tests."""
    # 10..999: the three-digit sequence code is never 000 (invalid), however many are drawn
    seq = sequence if sequence is not None else next(_sequence) % 495 * 2 + 10
    if (seq % 2 == 1) != (sex == "M"):
        seq += 1
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_character(first17)


_phones = itertools.count(10000000)


def phone() -> str:
    return f"139{next(_phones) % 100000000:08d}"


def couple_parties(groom_birth: date = date(1995, 3, 8), bride_birth: date = date(1996, 7, 1),
                   region: str = "440106", hukou: str | None = "44", **extra: Any) -> list[dict[str, Any]]:
    groom = {"name": "张伟", "id_type": "resident_id", "id_number": resident_id(groom_birth, "M", region),
             "phone": phone()}
    bride = {"name": "李娜", "id_type": "resident_id", "id_number": resident_id(bride_birth, "F", region),
             "phone": phone()}
    if hukou is not None:
        groom["hukou_province"] = bride["hukou_province"] = hukou
    groom.update(extra)
    return [groom, bride]


# --- accounts and tokens -----------------------------------------------------------------


@dataclass
class Actor:
    id: uuid.UUID
    role: str
    office_id: int | None
    token: str
    email: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def principal(self) -> Principal:
        return Principal(self.id, self.role, self.office_id)


async def make_actor(runtime: Runtime, role: str, office_id: int | None = None, email: str | None = None) -> Actor:
    """An account in the database plus a valid token for it."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    async with runtime.db.session() as session:
        account = UserAccount(email=email, password_hash=await runtime.passwords.hash("password-123"),
                              name=f"{role} test", role=role, office_id=office_id, locale="zh_Hans_CN")
        session.add(account)
        await session.commit()
        account_id = account.id
    token = issue_token(build_jwt_auth(runtime.settings), runtime.settings, subject=account_id, role=role,
                        office_id=office_id)
    return Actor(account_id, role, office_id, token, email)


GD_OFFICE = {
    "code": "GZ-TEST",
    "name_zh": "广州市测试区婚姻登记处",
    "name_en": "Test District Marriage Registry, Guangzhou",
    "province_code": "44",
    "division_code": "440106",
    "city": "广州",
    "address_zh": "广州市天河区测试路1号",
    "address_en": "1 Test Road, Guangzhou",
    "services": ["marriage_registration", "certificate_reissue"],
}


async def create_office(client: httpx.AsyncClient, admin: Actor, **overrides: Any) -> dict[str, Any]:
    body = {**GD_OFFICE, **overrides}
    response = await client.post("/api/v1/offices", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


def weekday_schedule(capacity: int = 5, weekdays: range = range(1, 6),
                     hours: tuple[tuple[str, str], ...] = (("09:00", "10:00"), ("14:00", "15:00")),
                     services: tuple[str, ...] = ("marriage_registration",)) -> dict[str, Any]:
    return {"windows": [
        {"weekday": d, "start": s, "end": e, "capacities": {svc: capacity for svc in services}}
        for d in weekdays for s, e in hours
    ]}


async def make_couples(runtime: Runtime, count: int) -> list[Actor]:
    """Many couple accounts at once (one statement), each with a token."""
    ids = [uuid.uuid4() for _ in range(count)]
    async with runtime.db.raw() as conn:
        await conn.executemany(
            "INSERT INTO user_account (id, email, password_hash, name, locale, role, is_active, failed_logins, "
            "created_at) VALUES ($1, $2, 'x', 'couple', 'zh_Hans_CN', 'couple', true, 0, now())",
            [(i, f"c-{i.hex[:12]}@example.com") for i in ids])
    auth = build_jwt_auth(runtime.settings)
    return [Actor(i, "couple", None, issue_token(auth, runtime.settings, subject=i, role="couple", office_id=None),
                  f"c-{i.hex[:12]}@example.com") for i in ids]


@dataclass
class Office:
    """An office with a clerk, a Monday-to-Friday schedule and slots from 2026-09-10 to
    2026-10-31 (or the dates given)."""

    id: int
    clerk: Actor

    def headers(self) -> dict[str, str]:
        return self.clerk.headers


async def office_with_clerk(client: httpx.AsyncClient, runtime: Runtime, admin: Actor, code: str = "GZ-TEST",
                            **office: Any) -> tuple[int, Actor]:
    """An office (no schedule, no slots) and a clerk of it."""
    created = await create_office(client, admin, code=code, **{"email": f"{code.lower()}@registry.example", **office})
    return created["id"], await make_actor(runtime, "clerk", created["id"])


async def open_office(client: httpx.AsyncClient, runtime: Runtime, admin: Actor, capacity: int = 5,
                      dates: tuple[str, str] = ("2026-09-10", "2026-10-31"),
                      schedule_services: tuple[str, ...] = ("marriage_registration",), **office: Any) -> Office:
    """An office with a clerk, its weekly schedule (Monday to Friday, 09:00-10:00 and
    14:00-15:00, ``capacity`` seats for each of ``schedule_services``) and slots over
    ``dates``."""
    created = await create_office(client, admin, **office)
    clerk = await make_actor(runtime, "clerk", created["id"])
    await client.put(f"/api/v1/offices/{created['id']}/schedule", headers=clerk.headers,
                     json=weekday_schedule(capacity=capacity, services=schedule_services))
    generated = await client.post(f"/api/v1/offices/{created['id']}/slots/generate", headers=clerk.headers,
                                  json={"from": dates[0], "to": dates[1], "allow_unannounced_years": True})
    assert generated.status_code == 200, generated.text
    return Office(created["id"], clerk)


async def other_clerk(client: httpx.AsyncClient, runtime: Runtime, admin: Actor) -> Actor:
    """A clerk of another office."""
    other = await create_office(client, admin, code="GZ-OTHER")
    return await make_actor(runtime, "clerk", other["id"])


# --- the outbox, settled ---------------------------------------------------------------------


async def outbox_settled(runtime: Runtime, kinds: tuple[str, ...] | None = None,
                         timeout: float = 60.0) -> dict[str, int]:
    """Wait until no notification (of ``kinds``, or none at all) is pending any more: each
    was sent, dropped, cancelled or failed, so whatever was going to be sent has reached
    its receiver (a row is marked after its send). Returns the counts by state. A check that
    nothing more was sent asserts on what arrived after this, not after a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.raw() as conn:
            rows = await conn.fetch("SELECT state, count(*) AS n FROM notification "
                                    "WHERE $1::text[] IS NULL OR kind = ANY($1::text[]) GROUP BY state",
                                    list(kinds) if kinds is not None else None)
        found = {row["state"]: row["n"] for row in rows}
        if not found.get("pending"):
            return found
        assert time.monotonic() < deadline, f"the outbox did not settle: {found}"
        await asyncio.sleep(0.05)
