"""/metrics on the API, in one process (the two-process run is in test_metrics_processes.py):
outcomes, requests by route template, outbox and seats read at scrape time, pools, rate-limit
refusals, the token, and no personal data in any label."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from booking.notifications.channels import RateLimited, SmsRateLimiter
from booking.observability.outcomes import OUTCOMES, classify
from tests.factories import couple_parties, make_actor, office_with_clerk, open_office
from tests.metrics_helpers import personal_labels, value

pytestmark = pytest.mark.asyncio

BOOK = "/api/v1/appointments"


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def booking(slot_id: int, parties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"slot_id": slot_id, "service": "marriage_registration", "parties": parties or couple_parties()}


async def first_slot(client: httpx.AsyncClient, office: Any, day: str = "2026-09-15") -> int:
    response = await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}", headers=office.clerk.headers)
    return int(response.json()["data"][0]["id"])


def outcome(text: str, name: str, kind: str = "appointment") -> float:
    return value(text, "booking_outcomes_total", kind=kind, outcome=name)


async def test_a_booking_and_a_refusal_move_their_counters_by_one(client, runtime, admin):
    office = await open_office(client, runtime, admin, capacity=1)
    slot_id = await first_slot(client, office)
    first, second = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    before = await scrape(client)

    booked = await client.post(BOOK, json=booking(slot_id), headers=first.headers)
    assert booked.status_code == 201, booked.text
    refused = await client.post(BOOK, json=booking(slot_id), headers=second.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "slot-full"
    invalid = await client.post(BOOK, json={"slot_id": slot_id}, headers=second.headers)
    assert invalid.status_code == 422
    after = await scrape(client)

    for name, moved in (("booked", 1), ("slot_full", 1), ("invalid", 1), ("banned", 0), ("error", 0)):
        assert outcome(after, name) - outcome(before, name) == moved, name
    route = {"route": BOOK, "method": "POST"}
    for status in ("201", "409", "422"):
        assert (value(after, "booking_http_requests_total", status=status, **route)
                - value(before, "booking_http_requests_total", status=status, **route)) == 1
    assert (value(after, "booking_http_request_duration_seconds_count", **route)
            - value(before, "booking_http_request_duration_seconds_count", **route)) == 3
    # the histogram resolves the booking targets: buckets at 10 ms, 50 ms, 100 ms and 500 ms
    for le in ("0.01", "0.05", "0.1", "0.5"):
        assert f'le="{le}"' in after
    # routes by template: the office's slots listing under its template, not its id
    assert value(after, "booking_http_requests_total", route="/api/v1/offices/{office_id}/slots", method="GET",
                 status="200") >= 1


async def test_outbox_seats_and_pools_are_read_at_scrape_time(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin, capacity=2)
    slot_id = await first_slot(client, office)
    before = await scrape(client)
    seats_before = value(before, "booking_seats_left", office="GZ-TEST", service="marriage_registration")
    assert seats_before > 0
    assert value(before, "booking_outbox_rows", state="due") == 0

    assert (await client.post(BOOK, json=booking(slot_id), headers=couple.headers)).status_code == 201
    after = await scrape(client)  # the test settings cache nothing (metrics_snapshot_seconds below)
    assert value(after, "booking_seats_left", office="GZ-TEST", service="marriage_registration") == seats_before - 1
    # the confirmation by e-mail and by SMS are due now; the reminders are not
    assert value(after, "booking_outbox_rows", state="due") == 2
    assert value(after, "booking_outbox_rows", state="failed") == 0
    runtime.clock.advance(seconds=90)
    aged = await scrape(client)
    assert value(aged, "booking_outbox_oldest_due_age_seconds") == pytest.approx(90, abs=1)
    assert value(aged, "booking_snapshot_ok") == 1
    # the booking went through the hot paths' asyncpg pool; both pools are reported
    assert value(aged, "booking_db_pool_connections", pool="asyncpg", state="open") >= 1
    assert value(aged, "booking_db_pool_limit", pool="asyncpg") == runtime.settings.db_fast_pool_size
    assert value(aged, "booking_db_pool_limit", pool="sqlalchemy") == (runtime.settings.db_pool_size
                                                                      + runtime.settings.db_max_overflow)


async def test_unknown_paths_collapse_into_one_route(client):
    before = await scrape(client)
    for path in ("/api/v1/13912345678", "/nothing/here", "/api/v1/appointments/not-a-uuid/x"):
        assert (await client.get(path)).status_code == 404
    assert (await client.request("BREW", "/api/v1/offices")).status_code in (404, 405)
    after = await scrape(client)
    moved = (value(after, "booking_http_requests_total", route="unmatched", method="GET", status="404")
             - value(before, "booking_http_requests_total", route="unmatched", method="GET", status="404"))
    assert moved == 3
    assert "13912345678" not in after and "not-a-uuid" not in after and "BREW" not in after


async def test_rate_limit_refusals_are_counted(client, runtime):
    """A 429 is counted by its route; a refusal outside a request (an SMS held back by its
    number's hourly limit) through the helper."""
    user = await make_actor(runtime, "couple")
    before = await scrape(client)
    statuses = []
    from booking.accounts.throttle import PAIR

    for _ in range(PAIR.free + 1):  # the attempt after the free failures is throttled
        response = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password"})
        statuses.append(response.status_code)
    assert statuses[-1] == 429, statuses
    limiter = SmsRateLimiter(per_hour=1)
    await limiter.take("hash-of-a-phone", now=1000.0)
    with pytest.raises(RateLimited):
        await limiter.take("hash-of-a-phone", now=1001.0)
    after = await scrape(client)
    login = {"limit": "unnamed", "route": "/api/v1/auth/login"}
    assert (value(after, "booking_rate_limit_refusals_total", **login)
            - value(before, "booking_rate_limit_refusals_total", **login)) == statuses.count(429)
    sms = {"limit": "sms_per_number", "route": "none"}
    assert value(after, "booking_rate_limit_refusals_total", **sms) - value(before, "booking_rate_limit_refusals_total",
                                                                           **sms) == 1


async def test_no_personal_data_in_any_label(client, runtime, admin):
    """After a scenario that puts ID numbers, phones, e-mail addresses, booking codes and
    ids in bodies and paths, no label of the exposition carries any of them."""
    office = await open_office(client, runtime, admin, capacity=1)
    slot_id = await first_slot(client, office)
    couple, other = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    parties, refused_parties = couple_parties(), couple_parties()
    booked = (await client.post(BOOK, json=booking(slot_id, parties), headers=couple.headers)).json()
    await client.post(BOOK, json=booking(slot_id, refused_parties), headers=other.headers)  # full
    await client.post(BOOK, json=booking(slot_id, [{**parties[0], "id_number": "440106199503081234"}, parties[1]]),
                      headers=other.headers)  # invalid
    await client.get(f"{BOOK}/{booked['id']}", headers=couple.headers)
    await client.get(f"{BOOK}/{booked['id']}/invite.ics", headers=couple.headers)
    await client.post(f"/api/v1/offices/{office.id}/check-in", json={"code": booked["code"]},
                      headers=office.clerk.headers)
    await client.get(f"/api/v1/{parties[0]['id_number']}/{parties[0]['phone']}/{couple.email}")
    await client.post("/api/v1/auth/login", json={"email": couple.email, "password": "not-it"})
    text = await scrape(client)
    known = [p[k] for p in parties + refused_parties for k in ("id_number", "phone")]
    known += [couple.email, other.email, booked["code"], booked["id"], str(couple.id), str(other.id)]
    assert personal_labels(text, known) == []
    assert booked["code"] not in text and couple.email not in text


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"metrics_snapshot_seconds": 0}


async def test_outcome_vocabulary_is_closed():
    """Whatever the answer, the outcome is one of the fixed values (bounded labels)."""
    for status in (200, 201, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503):
        for answer in (None, "confirmed", "waitlisted", "weird"):
            for code in (None, "slot-full", "anything-else"):
                assert classify(status, answer, code) in OUTCOMES
    assert classify(201, "confirmed") == "booked"
    assert classify(201, "pending_review") == "pending_review"
    assert classify(409, None, "no-show-ban") == "banned"
    assert classify(409, None, "party-already-booked") == "party_already_booked"
    assert classify(409, None, "not-in-jurisdiction") == "not_in_jurisdiction"
    assert classify(503, None, "service-unavailable") == "error"


async def test_the_scrape_is_protected_and_not_in_the_public_api(runtime, client):
    """With a token, /metrics wants it; in production without one, /metrics is off; it is
    not an operation of the OpenAPI document."""
    from booking.app import create_app
    from tests.conftest import running

    schema = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in schema["paths"]

    async def status(settings_changes: dict[str, Any], headers: dict[str, str]) -> int:
        runtime.settings = runtime.settings.model_copy(update=settings_changes)
        async with running(create_app(runtime=runtime)) as app:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                return (await c.get("/metrics", headers=headers)).status_code

    original = runtime.settings
    try:
        token = {"metrics_token": "a-long-scrape-token-for-the-test"}
        assert await status(token, {}) == 401
        assert await status(token, {"Authorization": "Bearer not-the-token"}) == 401
        assert await status(token, {"Authorization": "Bearer a-long-scrape-token-for-the-test"}) == 200
        assert await status({"env": "production", "metrics_token": None}, {}) == 404
        assert await status({"env": "production", **token}, {"Authorization": "Bearer a-long-scrape-token-for-the-test"}
                            ) == 200
    finally:
        runtime.settings = original


async def test_sign_ups_are_counted_by_outcome(client, runtime, admin):
    """Sign-ups have their own kind: a place, a waitlist ticket and a second sign-up of the
    same couple each move their outcome by one."""
    from tests.events_helpers import create_event, signup_body

    office_id, clerk = await office_with_clerk(client, runtime, admin)
    event = await create_event(client, clerk, office_id, capacity=1)
    first, second = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    parties = couple_parties()
    before = await scrape(client)
    url = f"/api/v1/events/{event['id']}/signups"
    placed = await client.post(url, json=signup_body(parties), headers=first.headers)
    waitlisted = await client.post(url, json=signup_body(), headers=second.headers)
    again = await client.post(url, json=signup_body(parties), headers=second.headers)
    assert (placed.json()["status"], waitlisted.json()["status"], again.status_code) == ("confirmed", "waitlisted",
                                                                                          409)
    after = await scrape(client)
    for name in ("booked", "waitlisted", "party_already_booked"):
        assert outcome(after, name, kind="signup") - outcome(before, name, kind="signup") == 1, name


async def test_deliveries_are_counted_by_channel_and_result(client, runtime, admin, couple):
    """Delivered in this process (no Redis): the SMS goes out, the e-mail meets an SMTP port
    nobody listens on and is retried; reminders whose moment passed are dropped."""
    from booking.notifications.delivery import sweep
    from tests.helpers import free_port

    runtime.settings = runtime.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(),
                                                           "smtp_timeout_seconds": 2})
    office = await open_office(client, runtime, admin)
    assert (await client.post(BOOK, json=booking(await first_slot(client, office)),
                              headers=couple.headers)).status_code == 201
    before = await scrape(client)
    await sweep(runtime)
    after = await scrape(client)

    def moved(channel: str, result: str, since: str, until: str) -> float:
        series = {"channel": channel, "result": result}
        return (value(until, "booking_notification_deliveries_total", **series)
                - value(since, "booking_notification_deliveries_total", **series))

    assert moved("sms", "sent", before, after) == 1
    assert (moved("email", "retry", before, after), moved("email", "sent", before, after)) == (1, 0)
    runtime.clock.advance(days=30)  # past the appointment: its reminders can only be dropped
    dropped = (await sweep(runtime)).dropped
    later = await scrape(client)
    assert dropped > 0
    assert moved("email", "dropped", after, later) + moved("sms", "dropped", after, later) == dropped


async def test_production_refuses_a_placeholder_scrape_token():
    import base64

    from booking.settings import Settings, SettingsError

    good = {"env": "production", "secret_key": "s" * 48, "data_key": base64.b64encode(b"k" * 32).decode(),
            "database_url": "postgresql+asyncpg://booking@db/booking"}
    Settings(**good).ensure_secrets()  # no token: /metrics is simply off
    Settings(**good, metrics_token="Zq8vN3kR7tW1yB5mC9xL2pF6hJ4sD0gA").ensure_secrets()
    for weak in ("change-me", "short-token"):
        with pytest.raises(SettingsError, match="BOOKING_METRICS_TOKEN"):
            Settings(**good, metrics_token=weak).ensure_secrets()
