"""SMS through Alibaba Cloud SMS (``SendSms``): request signing, a template per kind, the
outbox row id as ``OutId``, and what the gateway's answers do to the row. The gateway is a
local stand-in (tests/aliyun_sms_gateway.py) that checks each request as Alibaba Cloud
documents it; the outbox, the delivery and the HTTP exchange are the real ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from booking.clock import FixedClock
from booking.notifications import aliyun_sms
from booking.notifications.delivery import sweep
from booking.runtime import Runtime
from booking.settings import Settings, SettingsError
from tests.aliyun_sms_gateway import AliyunSmsGateway
from tests.factories import Actor, couple_parties, make_actor, open_office

TEMPLATES = {
    "SMS_300001": "【婚姻登记】您已预约${when}在${office}办理${service}，预约号${code}。",
    "SMS_300002": "${service} booked: ${when}, ${office}. Code ${code}.",
}
KEY_ID, SECRET, SIGN_NAME = "LTAI-test-key", "test-secret-of-the-stand-in", "婚姻登记预约"


def test_signature_reproduces_alibaba_clouds_worked_examples():
    # the example of Alibaba Cloud's "signature mechanism" page (ECS DescribeRegions) ...
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert aliyun_sms.string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
    assert aliyun_sms.signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    # ... and the SMS documentation's SendSms example, with a Chinese signature name and JSON
    params = {"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
              "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
              "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
              "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}
    assert aliyun_sms.signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_sms.percent_encode("a b*~/") == "a%20b%2A~%2F"


def test_the_aliyun_provider_needs_its_keys(tmp_path):
    with pytest.raises(SettingsError, match="BOOKING_SMS_ACCESS_KEY_SECRET"):
        Settings(sms_provider="aliyun", sms_access_key_id="id", sms_sign_name="x", data_dir=tmp_path)


@pytest.fixture
def gateway() -> Iterator[AliyunSmsGateway]:
    server = AliyunSmsGateway(KEY_ID, SECRET, SIGN_NAME, TEMPLATES)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sms_secret() -> str:
    return SECRET


@pytest.fixture
def settings_overrides(gateway: AliyunSmsGateway, sms_secret: str) -> dict[str, Any]:
    return {"sms_provider": "aliyun", "sms_endpoint": gateway.url, "sms_access_key_id": KEY_ID,
            "sms_access_key_secret": sms_secret, "sms_sign_name": SIGN_NAME,
            "sms_templates": {"appointment.confirmed": "SMS_300001", "appointment.confirmed@en": "SMS_300002",
                              "appointment.cancelled": "SMS_UNKNOWN"}}


async def _book(client: httpx.AsyncClient, runtime: Runtime, admin: Actor, couple: Actor,
                language: str = "zh-CN", **office: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    place = await open_office(client, runtime, admin, **office)
    slots = (await client.get(f"/api/v1/offices/{place.id}/slots?from=2026-09-14&to=2026-09-14",
                              headers=place.clerk.headers)).json()["data"]
    parties = couple_parties()
    booked = await client.post("/api/v1/appointments", headers={**couple.headers, "Accept-Language": language},
                               json={"slot_id": slots[0]["id"], "service": "marriage_registration", "parties": parties})
    assert booked.status_code == 201, booked.text
    return booked.json(), parties


async def _sms_rows(runtime: Runtime, kind: str = "appointment.confirmed") -> list[dict[str, Any]]:
    async with runtime.db.raw() as conn:
        return [dict(r) for r in await conn.fetch(
            "SELECT id, locale, state, attempts, last_error FROM notification WHERE channel = 'sms' AND kind = $1 "
            "ORDER BY created_at", kind)]


async def test_each_kind_goes_out_as_its_template_with_the_row_id_as_out_id(client, runtime, admin, couple, gateway):
    booked, parties = await _book(client, runtime, admin, couple)
    english = await _book(client, runtime, admin, await make_actor(runtime, "couple"), language="en", code="GZ-EN")
    await sweep(runtime)
    rows = await _sms_rows(runtime)
    assert [r["state"] for r in rows] == ["sent", "sent"]
    assert [m.out_id for m in gateway.sent] == [str(r["id"]) for r in rows]
    chinese, english_sms = gateway.sent
    assert chinese.phone == parties[0]["phone"] and chinese.sign_name == SIGN_NAME
    assert chinese.template_code == "SMS_300001"
    # exactly the facts the message names, as strings: the template's variables
    assert set(chinese.params) == {"service", "when", "office", "code"}
    assert chinese.params["service"] == "结婚登记" and chinese.params["office"] == "广州市测试区婚姻登记处"
    assert chinese.params["code"].replace("-", "") == booked["code"].replace("-", "")
    assert english_sms.template_code == "SMS_300002" and english_sms.phone == english[1][0]["phone"]
    assert english_sms.params["service"] == "Marriage registration"


async def test_throttling_is_retried_and_the_repeat_carries_the_same_out_id(client, runtime, admin, couple,
                                                                             gateway, clock: FixedClock):
    await _book(client, runtime, admin, couple)
    gateway.refuse_next.append("isv.BUSINESS_LIMIT_CONTROL")
    await sweep(runtime)
    [row] = await _sms_rows(runtime)
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "sms: isv.BUSINESS_LIMIT_CONTROL")
    assert gateway.sent == []
    await sweep(runtime)  # not due again yet: the backoff holds it
    assert gateway.answers == ["isv.BUSINESS_LIMIT_CONTROL"]
    clock.advance(seconds=31)
    await sweep(runtime)
    [row] = await _sms_rows(runtime)
    assert (row["state"], row["attempts"]) == ("sent", 2)
    assert gateway.answers == ["isv.BUSINESS_LIMIT_CONTROL", "OK"]
    assert [m.out_id for m in gateway.sent] == [str(row["id"])]


async def test_a_refused_template_fails_the_row_at_once(client, runtime, admin, couple, gateway):
    booked, _parties = await _book(client, runtime, admin, couple)
    await sweep(runtime)
    cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=couple.headers)
    assert cancelled.status_code == 200
    await sweep(runtime)
    [row] = await _sms_rows(runtime, "appointment.cancelled")
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", 1, "sms: isv.SMS_TEMPLATE_ILLEGAL")
    assert gateway.answers == ["OK", "isv.SMS_TEMPLATE_ILLEGAL"]


async def test_a_kind_without_a_template_fails_without_a_request(client, runtime, admin, couple, gateway):
    runtime.settings.sms_templates.pop("appointment.confirmed")
    await _book(client, runtime, admin, couple)
    await sweep(runtime)
    [row] = await _sms_rows(runtime)
    assert row["state"] == "failed" and row["last_error"].startswith("sms: no template for appointment.confirmed")
    assert gateway.answers == []


@pytest.mark.parametrize("sms_secret", ["not-the-secret"])
async def test_a_wrong_signature_is_refused_by_the_gateway_and_retried(client, runtime, admin, couple, gateway):
    await _book(client, runtime, admin, couple)
    await sweep(runtime)
    [row] = await _sms_rows(runtime)
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "sms: SignatureDoesNotMatch")
    assert gateway.sent == [] and gateway.answers == ["SignatureDoesNotMatch"]
