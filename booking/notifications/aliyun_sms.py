"""Alibaba Cloud SMS (阿里云短信服务): ``SendSms`` behind the SMS provider interface.

Mainland gateways send registered templates, not free text. Each notification kind has its
template code in ``BOOKING_SMS_TEMPLATES`` (``"kind@en"`` for English recipients, else the
kind), filled with the facts the message names (``TemplateParam``). The outbox row id goes
as ``OutId``, which Alibaba Cloud hands back in its delivery receipts: a message sent twice
(a worker killed after the gateway accepted it) is recognisable as one.

Requests are RPC style, signed with signature version 1.0 (HMAC-SHA1) as Alibaba Cloud
documents it: every parameter but ``Signature``, sorted by name; names and values
percent-encoded as UTF-8 (only ``A-Z a-z 0-9 - _ . ~`` stay as they are, a space is
``%20``); joined with ``=`` and ``&`` into the canonicalized query string;
``StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)``;
``Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``. They are POSTed as a
form, so no phone number appears in a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from booking.notifications.channels import DeliveryError, SmsMessage, Undeliverable
from booking.settings import Settings

logger = logging.getLogger("booking.notifications")

API_VERSION = "2017-05-25"

# Answer codes after which the same request can never succeed: the row is failed at once.
# Throttling (isv.BUSINESS_LIMIT_CONTROL per number, Throttling.* per account) and every
# other error (isp.SYSTEM_ERROR, a refused signature or key while an operator fixes the
# settings, an empty balance) is retried with backoff.
REFUSED = frozenset({
    "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_JSON_PARAM", "isv.INVALID_PARAMETERS",
    "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.MOBILE_COUNT_OVER_LIMIT",
})


def percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


class AliyunSms:
    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.sms_endpoint
        self.region = settings.sms_region
        self.access_key_id = settings.sms_access_key_id or ""
        self.access_key_secret = settings.sms_access_key_secret or ""
        self.sign_name = settings.sms_sign_name or ""
        self.templates = dict(settings.sms_templates)
        # the delivery bounds the whole send; this only keeps a dead connection from hanging
        self.timeout = float(settings.notification_job_timeout_seconds)

    def template_for(self, message: SmsMessage) -> str:
        code = self.templates.get(f"{message.kind}@{message.locale}") or self.templates.get(message.kind)
        if not code:
            raise Undeliverable(f"sms: no template for {message.kind} (BOOKING_SMS_TEMPLATES)")
        return code

    def signed_form(self, phone: str, message: SmsMessage, out_id: str) -> str:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id,
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_for(message),
            "TemplateParam": json.dumps(message.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Version": API_VERSION,
        }
        return f"{canonicalized_query(params)}&Signature={percent_encode(signature('POST', params, self.access_key_secret))}"

    async def send(self, phone: str, message: SmsMessage, dedupe_key: str) -> None:
        form = self.signed_form(phone, message, dedupe_key)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.endpoint, content=form.encode(),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        except httpx.HTTPError as exc:
            # the gateway may have taken it: a retry carries the same OutId
            raise DeliveryError(f"sms: {type(exc).__name__}") from exc
        try:
            code = str(response.json().get("Code", ""))
        except (ValueError, AttributeError):
            code = ""
        if code == "OK":
            return
        code = code or f"HTTP {response.status_code}"
        logger.warning("sms refused", extra={"code": code, "dedupe_key": dedupe_key, "kind": message.kind})
        if code in REFUSED:
            raise Undeliverable(f"sms: {code}")
        raise DeliveryError(f"sms: {code}")
