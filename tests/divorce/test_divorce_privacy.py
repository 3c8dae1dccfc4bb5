"""Neither spouse sees how to reach the other, anywhere: not in the API's answers, not in
the pages, not in the e-mails (delivered to a real SMTP server) or their calendar invites;
each is told by their own account and phone, in their own language (issue 17)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from booking.notifications.delivery import channels, sweep
from booking.security.pii import mask_id_number, mask_phone
from tests.divorce_helpers import CASES, Spouse, apply, at, confirm, divorce_office, slot_on, spouses
from tests.helpers import SmtpSink

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings_overrides(sink: SmtpSink) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_from": "婚姻登记 <no-reply@registry.example>",
            "smtp_timeout_seconds": 3}


def secrets_of(spouse: Spouse) -> list[str]:
    """Everything that would let the other reach or find this spouse."""
    number, phone = spouse.party["id_number"], spouse.party["phone"]
    return [phone, mask_phone(phone), phone[-4:], spouse.actor.email, spouse.actor.email.split("@")[0], number,
            mask_id_number(number)]


# random identifiers (UUIDs, hex ids) carry digits of their own: a phone's last four digits
# were once found inside one of them
_RANDOM_IDS = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}")


def leaks(texts: Iterable[str], of: Spouse) -> list[str]:
    readable = [_RANDOM_IDS.sub("<id>", text) for text in texts]
    return [s for s in secrets_of(of) for text in readable if _shows(s, text)]


def _shows(secret: str, text: str) -> bool:
    """A short run of digits (the phone's last four) leaks where it stands on its own, not
    inside a longer number: "2609" once turned up in an invite's DTSTAMP:20260901T... Whole
    numbers (the phone, the ID number) count anywhere."""
    if secret.isdigit() and len(secret) <= 4:
        return re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
    return secret in text


def shown(message: Any) -> str:
    """What a recipient reads in an e-mail: its headers and its decoded text parts (the raw
    message's base64 is noise in which four digits turn up by chance)."""
    parts = [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join([f"{name}: {value}" for name, value in message.items()] + parts)


class Seen:
    """Everything one spouse is shown: API answers and pages."""

    def __init__(self, client: httpx.AsyncClient, spouse: Spouse) -> None:
        self.client, self.spouse, self.texts = client, spouse, []

    async def get(self, path: str) -> httpx.Response:
        response = await self.client.get(path, headers=self.spouse.headers)
        self.texts.append(response.text)
        return response

    async def page(self, path: str) -> str:
        self.client.cookies.set("booking_session", self.spouse.actor.token)
        try:
            response = await self.client.get(path, headers={"Accept-Language": self.spouse.language})
        finally:
            self.client.cookies.delete("booking_session")
        assert response.status_code == 200, (path, response.text[:300])
        self.texts.append(response.text)
        return response.text

    async def everything(self, case_id: str) -> None:
        await self.get(CASES)
        await self.get(f"{CASES}/{case_id}")
        await self.page("/me")
        await self.page(f"/me/divorce/{case_id}")


async def deliver(runtime) -> None:
    await sweep(runtime)


async def test_neither_party_sees_the_others_contact_anywhere(client, runtime, admin, clock, sink: SmtpSink):
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    his, hers = Seen(client, him), Seen(client, her)
    clock.set(at("2026-09-01"))
    case = await apply(client, him, her, await slot_on(client, office, "2026-09-03"))
    his.texts.append(str(case))
    confirmed = await confirm(client, her, case["visits"][0]["code"])
    hers.texts.append(confirmed.text)
    await deliver(runtime)
    clock.set(at("2026-09-03", "09:20"))
    received = await client.post(f"{CASES}/{case['id']}/receipt", headers=office.headers(),
                                 json={"marriage_certificate_checked": True})
    assert received.status_code == 200
    await deliver(runtime)
    for seen in (his, hers):
        await seen.everything(case["id"])
    # the window opens (its notice is due at the office's reminder hour); she books, he confirms
    opens = date.fromisoformat(received.json()["window_opens"])
    clock.set(at(opens.isoformat(), "18:05"))
    await deliver(runtime)
    visit_day = opens + timedelta(days=4)
    booked = await client.post(f"{CASES}/{case['id']}/certificate-visit", headers=her.headers,
                               json={"slot_id": await slot_on(client, office, visit_day.isoformat())})
    assert booked.status_code == 201, booked.text
    hers.texts.append(booked.text)
    his.texts.append((await client.post(f"{CASES}/{case['id']}/certificate-visit/confirm",
                                        headers=him.headers)).text)
    await deliver(runtime)
    clock.set(at((visit_day - timedelta(days=1)).isoformat(), "18:05"))  # the day-before reminders
    await deliver(runtime)
    for seen in (his, hers):
        await seen.everything(case["id"])

    assert leaks(his.texts, of=her) == [] and leaks(hers.texts, of=him) == []
    assert mask_phone(her.party["phone"]) in " ".join(hers.texts)  # her own, masked: the check can see it
    to_him = [m for m in sink.messages if him.actor.email in m["To"]]
    to_her = [m for m in sink.messages if her.actor.email in m["To"]]
    assert len(to_him) + len(to_her) == len(sink.messages)
    kinds_to_her = {m["Subject"] for m in to_her}
    assert len(to_him) >= 5 and len(to_her) >= 5, kinds_to_her
    # whole messages, with their calendar invites, as they arrived
    assert leaks([shown(m) for m in to_him], of=her) == []
    assert leaks([shown(m) for m in to_her], of=him) == []
    invites = [p.get_content() for m in to_her for p in m.walk() if p.get_content_type() == "text/calendar"]
    assert invites and all(him.actor.email not in i for i in invites)
    # each in their own language
    assert all(not re.search(r"[\u4e00-\u9fff]", str(m["Subject"])) for m in to_him)
    assert all(re.search(r"[\u4e00-\u9fff]", str(m["Subject"])) and not re.search(r"[A-Za-z]{4,}", str(m["Subject"]))
               for m in to_her), kinds_to_her
    # and by text message to their own phone only
    texted = {masked for masked, _key in channels(runtime).sms.sent}
    assert texted == {mask_phone(him.party["phone"]), mask_phone(her.party["phone"])}


async def test_a_withdrawal_cancels_the_visit_in_both_calendars(client, runtime, admin, clock, sink: SmtpSink):
    """Both hold the confirmed application visit's invite (REQUEST); when he withdraws,
    his notice and hers each carry the CANCEL of that event (same UID, a higher
    SEQUENCE), and hers still says only that the case ended."""
    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    case = await apply(client, him, her, await slot_on(client, office, "2026-09-03"))
    assert (await confirm(client, her, case["visits"][0]["code"])).status_code == 200
    await deliver(runtime)
    withdrawn = await client.post(f"{CASES}/{case['id']}/withdraw", headers=him.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    await deliver(runtime)

    def invites(spouse: Spouse) -> list[tuple[str, str, int]]:
        found = []
        for message in sink.messages:
            if spouse.actor.email in message["To"]:
                for part in message.walk():
                    if part.get_content_type() == "text/calendar":
                        text = part.get_content().replace("\r\n ", "")  # unfolded
                        event = text[text.index("BEGIN:VEVENT"):]
                        method = re.search(r"^METHOD:(\w+)", text, re.M)
                        uid = re.search(r"^UID:(\S+)", event, re.M)
                        sequence = re.search(r"^SEQUENCE:(\d+)", event, re.M)
                        found.append((method.group(1) if method else "", uid.group(1) if uid else "",
                                      int(sequence.group(1)) if sequence else 0))
        return found

    for spouse in (him, her):
        seen = invites(spouse)
        assert [m for m, _uid, _seq in seen] == ["REQUEST", "CANCEL"], seen
        (_r, uid, sequence), (_c, cancelled_uid, later) = seen
        assert uid == cancelled_uid and uid.startswith("appointment-") and later > sequence  # the same event
    to_her = [m for m in sink.messages if her.actor.email in m["To"]]
    assert leaks([shown(m) for m in to_her], of=him) == []
