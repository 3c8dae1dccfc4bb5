"""What couples are told about a ballot, delivered to a real SMTP server (aiosmtpd): the
entry's receipt, the winners' usual confirmation with its invite, the waitlist position."""

from __future__ import annotations

from typing import Any

import pytest

from booking.ballots.draw import draw_due
from booking.clock import FixedClock
from booking.notifications.delivery import sweep
from tests.ballot_helpers import AFTER_DRAW, BEFORE_WINDOW, IN_WINDOW, couple_of, peak_office, set_up_ballot
from tests.factories import make_actor
from tests.helpers import SmtpSink, calendar_part

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BEFORE_WINDOW)


@pytest.fixture
def settings_overrides(sink: SmtpSink) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_from": "婚姻登记预约 <no-reply@registry.example>"}


async def test_entry_receipt_confirmation_and_waitlist_position_arrive(client, runtime, admin, clock, sink):
    office = await peak_office(client, runtime, admin, capacity=1)
    ballot = await set_up_ballot(client, office)
    clock.set(IN_WINDOW)
    couples = [await make_actor(runtime, "couple") for _ in range(3)]
    for i, couple in enumerate(couples):
        entered = await client.post(f"/api/v1/ballots/{ballot['id']}/entries", json={"parties": couple_of(i)},
                                    headers={**couple.headers, "Accept-Language": "en" if i == 0 else "zh-CN"})
        assert entered.status_code == 201
    await sweep(runtime)
    receipts = {m["To"].addresses[0].addr_spec: m for m in sink.messages}
    assert set(receipts) == {c.email for c in couples}
    english = receipts[couples[0].email]
    assert english["Subject"] == "Ballot entry received: Marriage registration, Thursday, May 20, 2027"
    assert ballot["seed_commitment"] in english.get_body(("plain",)).get_content()
    assert receipts[couples[1].email]["Subject"].startswith("摇号报名已收到：结婚登记")

    sink.messages.clear()
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    await sweep(runtime)
    by_kind: dict[str, list[Any]] = {}
    for message in sink.messages:
        kind = "waitlist" if "waitlist" in message["Subject"] or "候补" in message["Subject"] else "booked"
        by_kind.setdefault(kind, []).append(message)
    assert len(by_kind["booked"]) == 2 and all(calendar_part(m) is not None for m in by_kind["booked"])
    [waitlisted] = by_kind["waitlist"]
    text = waitlisted.get_body(("plain",)).get_content()
    assert ("number 1" in text) or ("排第1位" in text)
