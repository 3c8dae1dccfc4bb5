"""The couples' pages over HTTP (no browser): the session cookie and CSRF, the API's services
behind the forms, errors beside their fields in the page's language, the language switch.
The whole journey in a real browser is in tests/browser."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from booking.accounts.tokens import build_jwt_auth, issue_token
from tests.factories import couple_parties, make_actor, open_office


def csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def field_error(html: str, name: str) -> str | None:
    """The error shown beside a field, found the way a screen reader finds it: through the
    field's aria-describedby."""
    field = re.search(rf'<(?:input|select)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert field, name
    described = re.search(r'aria-describedby="([^"]+)"', field.group(0))
    if not described:
        return None
    for element_id in described.group(1).split():
        found = re.search(rf'<p class="error" id="{re.escape(element_id)}">([^<]+)</p>', html)
        if found:
            return found.group(1)
    return None


async def register(client: httpx.AsyncClient, email: str = "couple@example.com") -> None:
    page = await client.get("/register")
    response = await client.post("/register", data={"_csrf_token": csrf(page.text), "name": "张伟", "email": email,
                                                    "password": "password-123"})
    assert response.status_code == 303, response.text


def booking_form(token: str, slot_id: int, parties: list[dict[str, Any]], key: str = "k-1") -> dict[str, str]:
    form = {"_csrf_token": token, "slot_id": str(slot_id), "service": "marriage_registration",
            "idempotency_key": key}
    for index, party in enumerate(parties):
        form.update({f"parties.{index}.{k}": v for k, v in party.items()})
    return form


async def first_slot(client: httpx.AsyncClient, office_id: int) -> int:
    page = await client.get(f"/offices/{office_id}")
    assert page.status_code == 200
    return int(re.findall(rf"/offices/{office_id}/book\?slot=(\d+)", page.text)[0])


async def test_register_sets_an_httponly_lax_session_that_the_api_does_not_accept(client, runtime):
    await register(client)
    cookie = next(c for c in client.cookies.jar if c.name == "booking_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    raw = (await client.get("/me")).request.headers["cookie"]
    assert "booking_session=" in raw
    me = await client.get("/me")
    assert me.status_code == 200 and "我的预约" in me.text
    # the API keeps bearer tokens: the page's cookie alone authenticates nothing there
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_every_form_post_needs_its_csrf_token(client, runtime):
    await register(client)
    refused = await client.post("/logout")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"] and "表单已过期" in refused.text
    assert (await client.get("/me")).status_code == 200  # still logged in
    page = await client.get("/me")
    assert (await client.post("/logout", data={"_csrf_token": csrf(page.text)})).status_code == 303
    assert (await client.get("/me")).headers["location"] == "/login?next=/me"


async def test_the_api_needs_no_csrf_token(client, admin):
    response = await client.post("/api/v1/offices", json={
        "code": "X-1", "name_zh": "某处", "name_en": "X", "province_code": "44", "city": "广州", "address_zh": "某路",
        "services": ["marriage_registration"]}, headers=admin.headers)
    assert response.status_code == 201


async def test_login_goes_through_the_login_service(client, runtime):
    await make_actor(runtime, "couple", email="wang@example.com")  # password-123
    page = await client.get("/login?next=/events")
    wrong = await client.post("/login", data={"_csrf_token": csrf(page.text), "email": "wang@example.com",
                                              "password": "nope-nope", "next": "/events"})
    assert wrong.status_code == 401 and "邮箱或密码不正确" in wrong.text
    assert "nope-nope" not in wrong.text  # a password is never echoed back
    right = await client.post("/login", data={"_csrf_token": csrf(page.text), "email": "wang@example.com",
                                              "password": "password-123", "next": "/events"})
    assert right.status_code == 303 and right.headers["location"] == "/events"
    # repeated failures throttle the login, as through the API (booking.accounts.throttle)
    from booking.accounts.throttle import PAIR

    for _ in range(PAIR.free):
        await client.post("/login", data={"_csrf_token": csrf(page.text), "email": "wang@example.com",
                                          "password": "wrong-again"})
    locked = await client.post("/login", data={"_csrf_token": csrf(page.text), "email": "wang@example.com",
                                               "password": "password-123"})
    assert locked.status_code == 429


async def test_login_never_redirects_to_another_host(client, runtime):
    await make_actor(runtime, "couple", email="li@example.com")
    page = await client.get("/login")
    response = await client.post("/login", data={"_csrf_token": csrf(page.text), "email": "li@example.com",
                                                 "password": "password-123", "next": "//evil.example/x"})
    assert response.headers["location"] == "/me"
    switched = await client.get("/lang/en?next=https://evil.example/")
    assert switched.headers["location"] == "/"


async def test_a_wrong_id_number_is_shown_beside_its_field_in_chinese(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    await register(client)
    slot_id = await first_slot(client, office.id)
    form_page = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    parties = couple_parties()
    last = parties[0]["id_number"][-1]
    parties[0]["id_number"] = parties[0]["id_number"][:-1] + ("1" if last != "1" else "2")
    response = await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                                 data=booking_form(csrf(form_page.text), slot_id, parties))
    assert response.status_code == 422
    assert field_error(response.text, "parties.0.id_number") == "身份证号码校验码不正确。"
    assert field_error(response.text, "parties.1.id_number") is None
    assert 'role="alert"' in response.text
    # what was typed stays in the form
    assert f'value="{parties[1]["id_number"]}"' in response.text


async def test_the_same_error_in_english(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    await register(client)
    await client.get("/lang/en?next=/")
    slot_id = await first_slot(client, office.id)
    form_page = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    assert '<html lang="en">' in form_page.text
    parties = couple_parties()
    parties[1]["phone"] = "12345"
    response = await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                                 data=booking_form(csrf(form_page.text), slot_id, parties))
    assert field_error(response.text, "parties.1.phone") == "Must be a mobile phone number."


async def test_booking_is_one_post_and_a_repeated_post_books_once(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    await register(client)
    slot_id = await first_slot(client, office.id)
    form_page = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form_page.text).group(1)
    form = booking_form(csrf(form_page.text), slot_id, couple_parties(), key=key)
    first = await client.post(f"/offices/{office.id}/book?slot={slot_id}", data=form)
    again = await client.post(f"/offices/{office.id}/book?slot={slot_id}", data=form)  # a double tap
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    appointment = await client.get(first.headers["location"])
    assert "预约成功" in appointment.text
    code = re.search(r'<p class="code"[^>]*>([A-Z0-9-]+)</p>', appointment.text).group(1)
    assert "<svg" in appointment.text and f"<title>预约码 {code}</title>" in appointment.text
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM appointment") == 1
        assert await conn.fetchval("SELECT booked FROM slot WHERE id = $1", slot_id) == 1


async def test_a_full_slot_offers_the_nearest_free_ones_and_keeps_what_was_typed(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    await register(client)
    slot_id = await first_slot(client, office.id)
    form_page = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    # the slot fills up while the couple types
    patched = await client.patch(f"/api/v1/slots/{slot_id}", json={"capacity": 0}, headers=office.clerk.headers)
    assert patched.status_code == 200
    parties = couple_parties()
    refused = await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                                data=booking_form(csrf(form_page.text), slot_id, parties))
    assert refused.status_code == 409
    offered = re.findall(r'name="slot_id" value="(\d+)"', refused.text)
    assert offered and str(slot_id) not in offered
    assert f'value="{parties[0]["id_number"]}"' in refused.text
    chosen = offered[0]
    booked = await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                               data=booking_form(csrf(form_page.text), int(chosen), parties, key="k-2"))
    assert booked.status_code == 303
    # arriving at a full slot by its link: the nearest free slots, as links
    again = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    assert "该时段已无法预约" in again.text and f"/offices/{office.id}/book?slot=" in again.text


async def test_another_couples_appointment_is_not_found(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    other = await make_actor(runtime, "couple")
    slot_id = await first_slot(client, office.id)
    booked = await client.post("/api/v1/appointments", json={
        "slot_id": slot_id, "service": "marriage_registration", "parties": couple_parties()}, headers=other.headers)
    assert booked.status_code == 201
    await register(client)
    page = await client.get(f"/me/appointments/{booked.json()['id']}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert (await client.get(f"/me/appointments/{booked.json()['id']}/invite.ics")).status_code == 404


async def test_staff_have_no_couples_pages(client, runtime, admin):
    page = await client.get("/login")
    await client.post("/login", data={"_csrf_token": csrf(page.text), "email": admin.email,
                                      "password": "password-123"})
    assert (await client.get("/me")).status_code == 403


async def test_an_expired_or_forged_session_is_no_session(client, runtime):
    account = await make_actor(runtime, "couple")
    forged = issue_token(build_jwt_auth(runtime.settings.model_copy(update={"secret_key": "z" * 40})),
                         runtime.settings, subject=account.id, role="couple", office_id=None)
    client.cookies.set("booking_session", forged)
    assert (await client.get("/me")).status_code == 303
    client.cookies.set("booking_session", account.token)
    assert (await client.get("/me")).status_code == 200


@pytest.mark.parametrize(("header", "lang", "word"), [(None, "zh-CN", "登记处"), ("en-US,en;q=0.9", "en", "Offices")])
async def test_the_language_follows_accept_language_until_switched(client, runtime, header, lang, word):
    headers = {"Accept-Language": header} if header else {}
    page = await client.get("/", headers=headers)
    assert f'<html lang="{lang}">' in page.text and word in page.text
    other = "en" if lang == "zh-CN" else "zh-CN"
    switched = await client.get(f"/lang/{other}?next=/events", headers=headers)
    assert switched.headers["location"] == "/events"
    assert f'<html lang="{other}">' in (await client.get("/events", headers=headers)).text


async def test_an_htmx_request_gets_the_fragment_only(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    full = await client.get(f"/offices/{office.id}")
    part = await client.get(f"/offices/{office.id}?service=marriage_registration", headers={"HX-Request": "true"})
    assert full.text.startswith("<!doctype html>") and "<html" not in part.text
    assert part.text.lstrip().startswith('<section id="calendar"')


async def test_a_session_past_half_its_life_is_renewed(client, runtime):
    account = await make_actor(runtime, "couple")
    auth = build_jwt_auth(runtime.settings)
    ageing = auth.create_token(identifier=str(account.id), token_expiration=timedelta(seconds=120),
                               token_issuer=runtime.settings.token_issuer,
                               token_audience=runtime.settings.token_audience, token_extras={"role": "couple", "sv": 0},
                               token_unique_jwt_id="ageing-token")
    client.cookies.set("booking_session", ageing)
    response = await client.get("/me")
    assert response.status_code == 200
    renewed = response.cookies.get("booking_session")
    assert renewed and renewed != ageing
    fresh = await client.get("/me")  # the new token is young: nothing to renew
    assert fresh.status_code == 200 and "booking_session" not in fresh.cookies


async def test_page_bookings_are_counted_with_the_apis(client, runtime, admin):
    """At the rush most bookings come through the pages: /metrics counts their outcomes too."""
    from tests.metrics_helpers import value

    def booked_and_invalid(text: str) -> tuple[float, float]:
        return tuple(value(text, "booking_outcomes_total", kind="appointment", outcome=name)  # type: ignore[return-value]
                     for name in ("booked", "invalid"))

    office = await open_office(client, runtime, admin)
    await register(client)
    slot_id = await first_slot(client, office.id)
    before = booked_and_invalid((await client.get("/metrics")).text)
    form_page = await client.get(f"/offices/{office.id}/book?slot={slot_id}")
    parties = couple_parties()
    bad = [{**parties[0], "phone": "1"}, parties[1]]
    assert (await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                              data=booking_form(csrf(form_page.text), slot_id, bad))).status_code == 422
    assert (await client.post(f"/offices/{office.id}/book?slot={slot_id}",
                              data=booking_form(csrf(form_page.text), slot_id, parties))).status_code == 303
    after = booked_and_invalid((await client.get("/metrics")).text)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


async def test_an_address_that_is_no_page_is_an_error_page_for_a_browser_and_json_for_the_api(client):
    """A couple who mistypes an address sees the site's error page in their language (with
    the way home), not JSON; the API's clients keep problem+json for any address under it."""
    for language, words in (("zh-CN", "未找到"), ("en", "Not found")):
        typed = await client.get("/offices-typo/1", headers={"Accept": "text/html,*/*", "Accept-Language": language})
        assert typed.status_code == 404 and typed.headers["content-type"].startswith("text/html")
        assert words in typed.text and 'href="/"' in typed.text
    wrong_method = await client.delete("/", headers={"Accept": "text/html"})
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
    assert wrong_method.headers["content-type"].startswith("text/html")
    for path, accept in (("/api/v1/no-such-thing", "text/html"), ("/offices-typo/1", "application/json")):
        answered = await client.get(path, headers={"Accept": accept})
        assert answered.status_code == 404 and answered.headers["content-type"] == "application/problem+json"
