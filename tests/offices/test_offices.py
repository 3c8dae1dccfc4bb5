"""Offices: admin create/edit, public listing with filters, errors in both languages."""

from __future__ import annotations

import pytest

from tests.factories import GD_OFFICE, Actor, create_office

pytestmark = pytest.mark.asyncio


async def test_create_list_filter_and_edit(client, admin: Actor):
    gz = await create_office(client, admin)
    cd = await create_office(client, admin, code="CD-1", province_code="51", division_code="510104",
                             city="成都", name_zh="成都市锦江区婚姻登记处", name_en="Jinjiang Registry",
                             services=["certificate_reissue"])
    listing = (await client.get("/api/v1/offices")).json()
    assert listing["total"] == 2 and {o["code"] for o in listing["data"]} == {"GZ-TEST", "CD-1"}
    first = listing["data"][0]
    assert set(first) >= {"id", "code", "name", "province_code", "timezone", "services"}
    assert first["timezone"] == "Asia/Shanghai"

    by_province = (await client.get("/api/v1/offices?province=51")).json()["data"]
    assert [o["id"] for o in by_province] == [cd["id"]]
    by_service = (await client.get("/api/v1/offices?service=marriage_registration")).json()["data"]
    assert [o["id"] for o in by_service] == [gz["id"]]

    assert (await client.get(f"/api/v1/offices/{gz['id']}")).json()["name"] == GD_OFFICE["name_zh"]
    english = await client.get(f"/api/v1/offices/{gz['id']}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.json()["name"] == GD_OFFICE["name_en"] and english.json()["address"] == GD_OFFICE["address_en"]

    rules = {"booking_window_days": 7, "release_time": "09:00", "cutoff_days_before": 0, "cutoff_time": "12:00",
             "cancel_deadline_hours": 24, "no_show": {"limit": 3, "window_days": 60, "ban_days": 30}}
    edited = await client.patch(f"/api/v1/offices/{gz['id']}", json={"rules": rules, "city": "广州市"},
                                headers=admin.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["rules"]["release_time"] == "09:00:00"
    assert edited.json()["rules"]["no_show"] == {"limit": 3, "window_days": 60, "ban_days": 30}
    assert edited.json()["city"] == "广州市"

    duplicate = await client.post("/api/v1/offices", json=GD_OFFICE, headers=admin.headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "office-code-taken"


async def test_invalid_office_in_chinese_and_english(client, admin: Actor):
    bad = {**GD_OFFICE, "code": "BAD", "province_code": "99", "timezone": "Mars/Olympus",
           "services": [], "rules": {"booking_window_days": -1}, "surprise": True}
    zh = await client.post("/api/v1/offices", json=bad, headers=admin.headers)
    assert zh.status_code == 422
    assert zh.headers["content-type"].startswith("application/problem+json")
    body = zh.json()
    assert body["type"] == "urn:booking:problem:invalid-input" and body["title"] == "输入无效。"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["province_code"] == "必须是两位 GB/T 2260 省级行政区划代码。"
    assert fields["timezone"] == "必须是 IANA 时区，例如 Asia/Shanghai。"
    assert fields["services"] == "至少 1 项。"
    assert fields["rules.booking_window_days"] == "不能小于 0。"
    assert fields["surprise"] == "未知字段。"

    en = await client.post("/api/v1/offices", json=bad, headers={**admin.headers, "Accept-Language": "en"})
    fields = {e["field"]: e["message"] for e in en.json()["errors"]}
    assert en.json()["title"] == "The input is not valid."
    assert fields["province_code"] == "Must be a two-digit GB/T 2260 province code."
    assert fields["rules.booking_window_days"] == "Must be at least 0."
    assert (await client.get("/api/v1/offices")).json()["total"] == 0  # nothing was created


async def test_malformed_json_and_wrong_types(client, admin: Actor):
    response = await client.post("/api/v1/offices", content=b'{"code": ', headers={
        **admin.headers, "Content-Type": "application/json", "Accept-Language": "en"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "malformed-body" and response.json()["title"] == "The body is not valid JSON."
    response = await client.post("/api/v1/offices", json=[1, 2], headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "body", "message": "必须是对象。"}]
    response = await client.get("/api/v1/offices/not-a-number")
    assert response.status_code == 404
    response = await client.delete("/api/v1/offices")
    assert response.status_code == 405 and response.json()["code"] == "method-not-allowed"
    response = await client.get("/api/v1/offices?limit=100000", headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "limit", "message": "Must be at most 200."}]
    response = await client.get("/api/v1/offices?service=divorce")
    assert response.json()["errors"] == [{"field": "service", "message": "不是允许的取值之一。"}]


async def test_database_out_of_connections_is_a_503(client, runtime, monkeypatch):
    """Running out of database connections is the service's trouble, not a bug: 503 with
    Retry-After, in the caller's language, not a 500."""
    import asyncpg

    from booking.offices import directory

    async def refuse(*_args, **_kwargs):
        raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")

    monkeypatch.setattr(directory.OfficeDirectory, "get", refuse)
    response = await client.get("/api/v1/offices/1/availability?service=marriage_registration",
                                headers={"Accept-Language": "en"})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.json()["code"] == "service-unavailable"


@pytest.mark.parametrize(("method", "url", "body"), [
    ("GET", "/api/v1/offices/99999999999", None),
    ("GET", "/api/v1/offices/99999999999/availability?service=marriage_registration", None),
    ("GET", "/api/v1/offices?offset=100000000000000000000", None),
    ("POST", "/api/v1/appointments", {"slot_id": 2 ** 63, "service": "marriage_registration", "parties": []}),
    ("PATCH", "/api/v1/slots/9223372036854775808", {"capacity": 1}),
    ("GET", "/api/v1/offices/1/roster?date=9999-12-31", None),
    ("GET", "/api/v1/offices/1/roster?date=0001-01-01", None),
    ("POST", "/api/v1/offices/1/slots/generate", {"from": "9999-12-30", "to": "9999-12-31"}),
    ("GET", "/api/v1/audit?office_id=99999999999", None),
])
async def test_out_of_range_input_is_a_4xx_never_a_500(client, runtime, admin, couple, method, url, body):
    from tests.factories import create_office

    office = await create_office(client, admin)
    assert office["id"] == 1
    headers = couple.headers if url.startswith("/api/v1/appointments") else admin.headers
    response = await client.request(method, url, json=body, headers={**headers, "Accept-Language": "en"})
    assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
