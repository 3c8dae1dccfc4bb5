"""The divorce pages: the other party confirms through a form with their own account, the
case page says what to do next, and the clerk's desk (/desk/divorce) records receipt and a
withdrawal at the counter for its own office only."""

from __future__ import annotations

import pytest

from tests.divorce_helpers import CASES, apply, at, divorce_office, slot_on, spouses
from tests.web.test_pages import csrf

pytestmark = pytest.mark.asyncio


def as_account(client, token: str) -> None:
    client.cookies.set("booking_session", token)


async def test_confirm_by_form_then_receipt_and_a_withdrawal_at_the_desk(client, runtime, admin, clock):
    office = await divorce_office(client, runtime, admin)
    elsewhere = await divorce_office(client, runtime, admin, dates=("2026-09-01", "2026-09-02"), code="SZ-DIV")
    him, her = await spouses(runtime)
    clock.set(at("2026-09-01"))
    case = await apply(client, him, her, await slot_on(client, office, "2026-09-03"))

    as_account(client, her.actor.token)
    form = await client.get("/me/divorce/confirm")
    fields = {f"party.{k}": v for k, v in her.party.items()}
    wrong = await client.post("/me/divorce/confirm", data={"_csrf_token": csrf(form.text), "code": "ZZZZZZZZ",
                                                           **fields})
    assert wrong.status_code == 404
    done = await client.post("/me/divorce/confirm", data={"_csrf_token": csrf(form.text),
                                                          "code": case["visits"][0]["code"], **fields})
    assert done.status_code == 303 and done.headers["location"] == f"/me/divorce/{case['id']}"
    page = await client.get(done.headers["location"])
    assert "application visit" in page.text.lower() or "申请" in page.text

    clock.set(at("2026-09-03", "09:20"))
    as_account(client, elsewhere.clerk.token)
    assert case["id"] not in (await client.get("/desk/divorce")).text
    desk = await client.get("/desk/divorce")
    refused = await client.post(f"/desk/divorce/{case['id']}/receipt", data={"_csrf_token": csrf(desk.text)})
    assert refused.status_code == 404  # another office's case: as if there were none

    as_account(client, office.clerk.token)
    desk = await client.get("/desk/divorce")
    assert f"/desk/divorce/{case['id']}/receipt" in desk.text
    unchecked = await client.post(f"/desk/divorce/{case['id']}/receipt", data={"_csrf_token": csrf(desk.text)})
    assert unchecked.status_code == 409  # no record of the marriage here and no certificate checked
    received = await client.post(f"/desk/divorce/{case['id']}/receipt",
                                 data={"_csrf_token": csrf(desk.text), "marriage_certificate_checked": "on"})
    assert received.status_code == 303
    desk = await client.get("/desk/divorce")
    withdrawn = await client.post(f"/desk/divorce/{case['id']}/withdraw",
                                  data={"_csrf_token": csrf(desk.text), "party": "2"})
    assert withdrawn.status_code == 303
    client.cookies.delete("booking_session")
    assert (await client.get(f"{CASES}/{case['id']}", headers=him.headers)).json()["state"] == "ended"
    assert (await client.get(f"{CASES}/{case['id']}", headers=her.headers)).json()["state"] == "withdrawn"

    as_account(client, him.actor.token)
    mine = await client.get("/me", headers={"Accept-Language": "en"})
    assert f"/me/divorce/{case['id']}" in mine.text and "Ended" in mine.text
    client.cookies.delete("booking_session")


async def test_the_case_page_offers_the_certificate_visit_inside_the_window_only(client, runtime, admin, clock):
    from tests.divorce_helpers import received_case

    office = await divorce_office(client, runtime, admin)
    him, her = await spouses(runtime)
    case = await received_case(client, clock, office, him, her, received_on="2026-09-03", booked_on="2026-09-01")
    as_account(client, him.actor.token)
    cooling = await client.get(f"/me/divorce/{case['id']}", headers={"Accept-Language": "en"})
    assert "Nothing to do until the cooling-off period ends" in cooling.text
    assert "book-visit" not in cooling.text
    clock.set(at(case["window_opens"], "09:00"))
    open_window = await client.get(f"/me/divorce/{case['id']}", headers={"Accept-Language": "en"})
    assert f"/me/divorce/{case['id']}/book-visit" in open_window.text
    client.cookies.delete("booking_session")
