"""The staff pages keep each office to itself: a clerk of one office never sees or changes
another office's data through any desk page (a test per page, through the page router with
the page session, as a browser would); admins choose the office; couples have no desk.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.factories import Actor, Office, couple_parties, make_actor, open_office
from tests.web.test_pages import csrf

pytestmark = pytest.mark.asyncio
TODAY = "2026-09-10"  # the suite's clock: 10:00 in Guangzhou, a Thursday


class World:
    def __init__(self, here: Office, there: Office, admin: Actor) -> None:
        self.here, self.there, self.admin = here, there, admin


@pytest.fixture
async def world(client: httpx.AsyncClient, runtime, admin: Actor) -> World:
    here = await open_office(client, runtime, admin)
    there = await open_office(client, runtime, admin, code="SZ-TEST", name_zh="深圳市测试区婚姻登记处",
                              name_en="Test District Marriage Registry, Shenzhen", division_code="440304",
                              city="深圳")
    return World(here, there, admin)


def as_account(client: httpx.AsyncClient, actor: Actor | None) -> None:
    client.cookies.delete("booking_session")
    if actor is not None:
        client.cookies.set("booking_session", actor.token)


async def token_of(client: httpx.AsyncClient, path: str = "/desk/check-in") -> str:
    return csrf((await client.get(path)).text)


async def slot_on(client: httpx.AsyncClient, office: Office, day: str, *, later_than: str = "") -> dict[str, Any]:
    slots = (await client.get(f"/api/v1/offices/{office.id}/slots", params={"from": day, "to": day},
                              headers=office.clerk.headers)).json()["data"]
    return next(s for s in slots if s["starts_at"] > later_than)


async def walk_in(client: httpx.AsyncClient, office: Office) -> dict[str, Any]:
    slot = await slot_on(client, office, TODAY, later_than=f"{TODAY}T04:00")  # the afternoon slot
    response = await client.post(f"/api/v1/offices/{office.id}/appointments",
                                 headers={**office.clerk.headers, "Idempotency-Key": uuid.uuid4().hex},
                                 json={"slot_id": slot["id"], "service": "marriage_registration",
                                       "parties": couple_parties()})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def status_of(client: httpx.AsyncClient, office: Office, appointment_id: str) -> str:
    return (await client.get(f"/api/v1/appointments/{appointment_id}",  # type: ignore[no-any-return]
                             headers=office.clerk.headers)).json()["status"]


async def test_the_day_roster_print_view_and_calendar_are_the_clerks_office_only(client, world: World):
    mine, theirs = await walk_in(client, world.here), await walk_in(client, world.there)
    as_account(client, world.there.clerk)
    own = await client.get("/desk")
    assert own.status_code == 200 and theirs["code"] in own.text and mine["code"] not in own.text
    assert own.headers["cache-control"] == "private, no-store"
    for path in ("/desk", "/desk/print", "/desk/roster.ics"):
        assert (await client.get(path, params={"office": world.here.id})).status_code == 404, path
    calendar = await client.get("/desk/roster.ics")
    assert calendar.status_code == 200 and calendar.headers["content-type"].startswith("text/calendar")
    assert theirs["code"][:4] in calendar.text and mine["code"][:4] + "-" not in calendar.text
    printed = await client.get("/desk/print")
    assert theirs["code"][:4] in printed.text and mine["code"][:4] not in printed.text
    # polling (HTMX) gets the live part only
    fragment = await client.get("/desk", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="roster"') and "<html" not in fragment.text


async def test_check_in_finds_and_changes_the_clerks_office_only(client, world: World):
    theirs = await walk_in(client, world.here)
    as_account(client, world.there.clerk)
    found = await client.get("/desk/check-in", params={"code": theirs["code"]})
    assert found.status_code == 404 and "张伟" not in found.text
    assert (await client.get("/desk/check-in", params={"office": world.here.id})).status_code == 404
    token = await token_of(client)
    posted = await client.post("/desk/check-in", data={"_csrf_token": token, "code": theirs["code"], "auto": "on"})
    assert posted.status_code == 404
    for action in ("check-in", "complete", "no-show", "turn-away", "reveal"):
        refused = await client.post(f"/desk/check-in/{theirs['id']}/{action}",
                                    data={"_csrf_token": token, "reason": "x", "reveal_reason": "x"})
        assert refused.status_code == 404, action
    assert await status_of(client, world.here, theirs["id"]) == "confirmed"

    as_account(client, world.here.clerk)  # the office's own clerk can
    token = await token_of(client)
    done = await client.post("/desk/check-in", data={"_csrf_token": token, "code": theirs["code"], "auto": "on"})
    assert done.status_code == 303
    assert await status_of(client, world.here, theirs["id"]) == "checked_in"


async def test_a_walk_in_is_booked_at_the_clerks_office_only(client, world: World):
    theirs = await slot_on(client, world.here, TODAY, later_than=f"{TODAY}T04:00")
    as_account(client, world.there.clerk)
    assert (await client.get("/desk/walk-in", params={"office": world.here.id})).status_code == 404
    page = await client.get("/desk/walk-in")
    assert f'value="{theirs["id"]}"' not in page.text
    fields = {f"parties.{i}.{k}": v for i, p in enumerate(couple_parties()) for k, v in p.items()}
    refused = await client.post("/desk/walk-in", data={"_csrf_token": csrf(page.text), "slot_id": str(theirs["id"]),
                                                       "idempotency_key": uuid.uuid4().hex, **fields})
    assert refused.status_code == 422  # no such slot at this counter (the booking service's answer)
    after = await slot_on(client, world.here, TODAY, later_than=f"{TODAY}T04:00")
    assert after["booked"] == theirs["booked"]


async def _application(client: httpx.AsyncClient, runtime, office: Office) -> tuple[dict[str, Any], str]:
    couple = await make_actor(runtime, "couple")
    slot = await slot_on(client, office, "2026-09-15")
    response = await client.post("/api/v1/cross-province-applications",
                                 headers={**couple.headers, "Idempotency-Key": uuid.uuid4().hex},
                                 json={"slot_id": slot["id"], "service": "marriage_registration",
                                       "parties": couple_parties(region="510104", hukou="51")})
    assert response.status_code == 201, response.text
    app = response.json()
    scan = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(scan, "PNG")
    need = app["missing_documents"][0]
    doc = await client.post(f"/api/v1/cross-province-applications/{app['id']}/documents",
                            headers={**couple.headers, "Idempotency-Key": uuid.uuid4().hex},
                            data={"kind": need["kind"], **({"party": str(need["party"])} if need["party"] else {})},
                            files={"file": ("scan.png", scan.getvalue(), "image/png")})
    assert doc.status_code == 201, doc.text
    return app, doc.json()["id"]


async def test_applications_are_the_clerks_office_only(client, runtime, world: World):
    app, doc_id = await _application(client, runtime, world.here)
    as_account(client, world.there.clerk)
    queue = await client.get("/desk/applications")
    assert queue.status_code == 200 and app["id"] not in queue.text
    assert (await client.get("/desk/applications", params={"office": world.here.id})).status_code == 404
    assert (await client.get(f"/desk/applications/{app['id']}")).status_code == 404
    assert (await client.get(f"/desk/applications/{app['id']}/documents/{doc_id}")).status_code == 404
    decided = await client.post(f"/desk/applications/{app['id']}/decision",
                                data={"_csrf_token": await token_of(client), "decision": "reject", "reason": "x"})
    assert decided.status_code == 404
    as_account(client, world.here.clerk)
    own = await client.get(f"/desk/applications/{app['id']}", params={"doc": doc_id})
    assert own.status_code == 200 and f"/documents/{doc_id}" in own.text
    shown = await client.get(f"/desk/applications/{app['id']}/documents/{doc_id}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    client.cookies.delete("booking_session")
    still = await client.get(f"/api/v1/cross-province-applications/{app['id']}", headers=world.here.clerk.headers)
    assert still.json()["status"] == "submitted"


async def _event_with_signup(client: httpx.AsyncClient, runtime, office: Office) -> tuple[dict, dict]:
    event = await client.post("/api/v1/events", headers=office.clerk.headers, json={
        "office_id": office.id, "kind": "collective", "title_zh": "测试集体婚礼", "title_en": "Test wedding",
        "venue_zh": "大厅", "address_zh": "测试路1号", "starts_at": "2026-10-20T09:30:00+08:00",
        "ends_at": "2026-10-20T11:30:00+08:00", "capacity": 5})
    assert event.status_code == 201, event.text
    couple = await make_actor(runtime, "couple")
    signup = await client.post(f"/api/v1/events/{event.json()['id']}/signups",
                               headers={**couple.headers, "Idempotency-Key": uuid.uuid4().hex},
                               json={"parties": couple_parties(), "marriage_date": "2026-06-01"})
    assert signup.status_code == 201, signup.text
    return event.json(), signup.json()


async def test_events_are_the_clerks_office_only(client, runtime, world: World):
    event, signup = await _event_with_signup(client, runtime, world.here)
    as_account(client, world.there.clerk)
    listed = await client.get("/desk/events")
    assert listed.status_code == 200 and event["id"] not in listed.text
    token = csrf(listed.text)
    assert (await client.get("/desk/events", params={"office": world.here.id})).status_code == 404
    assert (await client.get(f"/desk/events/{event['id']}")).status_code == 404
    assert (await client.get(f"/desk/events/{event['id']}/signups.csv")).status_code == 404
    edited = await client.post(f"/desk/events/{event['id']}", data={"_csrf_token": token, "capacity": "1",
                                                                     "title_zh": "改"})
    assert edited.status_code == 404
    checked = await client.post(f"/desk/events/{event['id']}/check-in", data={"_csrf_token": token,
                                                                              "code": signup["code"]})
    assert checked.status_code == 404
    for action in ("approve", "reject", "cancel", "attended", "no-show"):
        refused = await client.post(f"/desk/events/{event['id']}/signups/{signup['id']}/{action}",
                                    data={"_csrf_token": token, "reason": "x"})
        assert refused.status_code == 404, action
    # nor through an event of their own
    own_event, _ = await _event_with_signup(client, runtime, world.there)
    crossed = await client.post(f"/desk/events/{own_event['id']}/signups/{signup['id']}/cancel",
                                data={"_csrf_token": token})
    assert crossed.status_code == 404
    created = await client.post("/desk/events", params={"office": world.here.id}, data={
        "_csrf_token": token, "kind": "collective", "title_zh": "x", "title_en": "x", "venue_zh": "x",
        "address_zh": "x", "starts_at": "2026-10-21T09:30", "ends_at": "2026-10-21T10:30", "capacity": "3"})
    assert created.status_code == 404
    client.cookies.delete("booking_session")
    after = await client.get(f"/api/v1/events/{event['id']}")
    assert after.json()["title_zh"] == "测试集体婚礼" and after.json()["capacity"] == 5
    assert (await client.get(f"/api/v1/signups/{signup['id']}", headers=world.here.clerk.headers)
            ).json()["status"] == "confirmed"


async def test_the_divorce_desk_takes_no_other_office(client, world: World):
    as_account(client, world.there.clerk)
    assert (await client.get("/desk/divorce")).status_code == 200
    assert (await client.get("/desk/divorce", params={"office": world.here.id})).status_code == 404


async def test_admins_choose_the_office_couples_have_no_desk(client, runtime, world: World):
    theirs = await walk_in(client, world.here)
    as_account(client, world.admin)
    chooser = await client.get("/desk/check-in")
    assert chooser.status_code == 303 and chooser.headers["location"] == "/desk/offices?next=/desk/check-in"
    offices = await client.get("/desk/offices", params={"next": "/desk/check-in"})
    assert f'/desk/check-in?office={world.here.id}' in offices.text
    found = await client.get("/desk/check-in", params={"office": world.here.id, "code": theirs["code"]})
    assert found.status_code == 200 and "张伟" in found.text
    assert f"/desk/walk-in?office={world.here.id}" in found.text  # the menu keeps the office
    assert 'href="/admin"' in found.text

    as_account(client, world.here.clerk)
    assert (await client.get("/desk/offices")).status_code == 403
    assert 'href="/admin"' not in (await client.get("/desk")).text
    as_account(client, await make_actor(runtime, "couple"))
    for path in ("/desk", "/desk/check-in", "/desk/walk-in", "/desk/applications", "/desk/events",
                 "/desk/divorce"):
        assert (await client.get(path)).status_code == 403, path
    as_account(client, None)
    assert (await client.get("/desk/events")).status_code in (302, 303)


async def test_the_desk_actions_keep_the_services_rules(client, world: World):
    later = await walk_in(client, world.here)  # this afternoon: not started yet
    as_account(client, world.here.clerk)
    page = await client.get("/desk/check-in", params={"code": later["code"]})
    assert page.status_code == 200 and "/no-show" not in page.text  # offered once it has started
    refused = await client.post(f"/desk/check-in/{later['id']}/no-show", data={"_csrf_token": csrf(page.text)})
    assert refused.status_code == 409  # the API's rule, said on the page
    turned = await client.post(f"/desk/check-in/{later['id']}/turn-away", data={"_csrf_token": csrf(page.text)})
    assert turned.status_code == 422 and 'id="f-reason-error"' in turned.text  # a reason is needed
    assert await status_of(client, world.here, later["id"]) == "confirmed"


async def test_an_events_couple_checks_in_by_code_on_the_day(client, runtime, world: World):
    event = await client.post("/api/v1/events", headers=world.here.clerk.headers, json={
        "office_id": world.here.id, "kind": "collective", "title_zh": "今日集体婚礼", "title_en": "Today's wedding",
        "venue_zh": "大厅", "address_zh": "测试路1号", "starts_at": f"{TODAY}T14:00:00+08:00",
        "ends_at": f"{TODAY}T16:00:00+08:00", "capacity": 5})
    assert event.status_code == 201, event.text
    couple = await make_actor(runtime, "couple")
    signup = (await client.post(f"/api/v1/events/{event.json()['id']}/signups",
                                headers={**couple.headers, "Idempotency-Key": uuid.uuid4().hex},
                                json={"parties": couple_parties(), "marriage_date": "2026-06-01"})).json()
    as_account(client, world.here.clerk)
    page = await client.get(f"/desk/events/{event.json()['id']}")
    assert 'name="code"' in page.text  # the check-in form, on the day
    wrong = await client.post(f"/desk/events/{event.json()['id']}/check-in",
                              data={"_csrf_token": csrf(page.text), "code": "ZZZZ-ZZZZ"})
    assert wrong.status_code == 404
    done = await client.post(f"/desk/events/{event.json()['id']}/check-in",
                             data={"_csrf_token": csrf(page.text), "code": signup["code"].lower()})
    assert done.status_code == 303
    again = await client.post(f"/desk/events/{event.json()['id']}/check-in",
                              data={"_csrf_token": csrf(page.text), "code": signup["code"]})
    assert again.status_code == 409  # the service's "already checked in", on the page
    client.cookies.delete("booking_session")
    assert (await client.get(f"/api/v1/signups/{signup['id']}", headers=world.here.clerk.headers)
            ).json()["status"] == "attended"


async def test_an_application_is_rejected_only_with_a_reason(client, runtime, world: World):
    app, _doc = await _application(client, runtime, world.here)
    as_account(client, world.here.clerk)
    page = await client.get(f"/desk/applications/{app['id']}")
    bare = await client.post(f"/desk/applications/{app['id']}/decision",
                             data={"_csrf_token": csrf(page.text), "decision": "reject"})
    assert bare.status_code == 422 and 'id="f-reason-error"' in bare.text
    early = await client.post(f"/desk/applications/{app['id']}/decision",
                              data={"_csrf_token": csrf(page.text), "decision": "approve"})
    assert early.status_code == 409  # documents still missing: the service's rule
    asked = await client.post(f"/desk/applications/{app['id']}/decision",
                              data={"_csrf_token": csrf(page.text), "decision": "needs_more_info",
                                    "reason": "请补充户口簿"})
    assert asked.status_code == 303
    client.cookies.delete("booking_session")
    found = (await client.get(f"/api/v1/cross-province-applications/{app['id']}",
                              headers=world.here.clerk.headers)).json()
    assert found["status"] == "needs_more_info" and found["decision"]["reason"] == "请补充户口簿"
