"""A couple's ballot through the pages (no browser): the office page lists the ballot, the
ballot page takes the entry (the API's schema and service behind the form), /me shows the
entry and, after the draw, its result; withdrawing gives a drawn place to the next entry."""

from __future__ import annotations

import re
from typing import Any

import pytest

from booking.ballots.draw import draw_due
from booking.clock import FixedClock
from tests.ballot_helpers import (
    AFTER_DRAW,
    BEFORE_WINDOW,
    IN_WINDOW,
    couple_of,
    enter_all,
    peak_office,
    set_up_ballot,
)
from tests.factories import make_couples
from tests.web.test_pages import csrf, register

pytestmark = pytest.mark.asyncio


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BEFORE_WINDOW)


def entry_form(token: str, parties: list[dict[str, str]], times: list[str] | None = None) -> dict[str, Any]:
    form: dict[str, Any] = {"_csrf_token": token, "idempotency_key": "page-entry-1"}
    for index, party in enumerate(parties):
        form.update({f"parties.{index}.{k}": v for k, v in party.items()})
    if times:
        form["times"] = times
    return form


async def test_a_couple_enters_through_the_pages_and_sees_the_result(client, runtime, admin, clock):
    office = await peak_office(client, runtime, admin, capacity=1)
    ballot = await set_up_ballot(client, office)
    url = f"/offices/{office.id}/ballots/{ballot['id']}"

    listed = await client.get(f"/offices/{office.id}")
    assert url in listed.text and "即将开始报名" in listed.text
    clock.set(IN_WINDOW)
    anonymous = await client.get(url)
    assert anonymous.status_code == 200 and "登录后报名" in anonymous.text
    assert ballot["seed_commitment"] in anonymous.text

    await register(client, "ballot-couple@example.com")
    shown = await client.get(url)
    assert 'name="parties.0.id_number"' in shown.text and 'value="14:00"' in shown.text
    parties = couple_of(300)
    bad = [dict(parties[0], id_number=parties[0]["id_number"][:-1] + "0"), parties[1]]
    if bad[0]["id_number"] == parties[0]["id_number"]:
        bad[0]["id_number"] = parties[0]["id_number"][:-1] + "1"
    refused = await client.post(f"{url}/entries", data=entry_form(csrf(shown.text), bad))
    assert refused.status_code == 422 and "身份证号码校验码不正确" in refused.text

    entered = await client.post(f"{url}/entries", data=entry_form(csrf(refused.text), parties, ["14:00"]))
    assert entered.status_code == 303 and entered.headers["location"] == f"{url}#mine"
    mine = await client.get(url)
    assert "已报名：等待摇号" in mine.text and "摇号报名已收到" in mine.text
    assert 'name="parties.0.id_number"' not in mine.text  # entered once: no second form
    me = await client.get("/me")
    assert "已报名：等待摇号" in me.text and url in me.text

    # three other couples enter through the API; the draw gives the two seats out
    await enter_all(client, ballot["id"], await make_couples(runtime, 3))
    clock.set(AFTER_DRAW)
    await draw_due(runtime)
    drawn = await client.get(url)
    assert "已摇号" in drawn.text and "4个报名中有2个中签。" in drawn.text and ballot["seed_commitment"] in drawn.text
    me = (await client.get("/me")).text
    won, waiting = "已中签：预约已确认" in me, "候补第" in me
    assert won != waiting  # the one entry shows its result: a place, or its place on the waitlist
    if won:
        assert re.search(r'href="/me/appointments/[0-9a-f-]{36}"', me)

    entry_id = re.search(r"/me/ballot-entries/([0-9a-f-]{36})/withdraw", (await client.get(url)).text).group(1)
    withdrawn = await client.post(f"/me/ballot-entries/{entry_id}/withdraw", data={"_csrf_token": csrf(drawn.text)})
    assert withdrawn.status_code == 303
    after = await client.get(url)
    assert "摇号报名已撤回" in after.text and "已撤回" in after.text
