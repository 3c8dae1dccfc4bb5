"""How messages leave: e-mail over SMTP, SMS through a provider, with rate limits."""

from __future__ import annotations

import collections
import io
import logging
import re
import time
from dataclasses import dataclass
from email.charset import Charset
from email.encoders import encode_base64
from email.generator import BytesGenerator
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Any, Protocol

import aiosmtplib

from booking.notifications.registry import Rendered
from booking.observability.metrics import count_rate_limit_refusal
from booking.security.pii import mask_phone
from booking.settings import Settings

logger = logging.getLogger("booking.notifications")


class DeliveryError(Exception):
    """A channel could not deliver now; the row is retried later."""


class Undeliverable(DeliveryError):
    """The channel refused the message for good (an unknown template, an invalid number):
    retrying cannot help, so the row is failed at once."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """An e-mail as it goes on the wire, with its envelope."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


def build_email(settings: Settings, to: str, to_name: str | None, rendered: Rendered, message_id: str,
                calendar_name: str = "invite.ics") -> OutgoingMail:
    """Plain text and HTML alternatives; the invite attached as ``text/calendar`` with its
    METHOD (REQUEST or CANCEL), which is what calendar clients act on.

    Built with the standard library's classic MIME classes (policy compat32) and flattened
    once, here: the same structure as ``EmailMessage`` builds (multipart/mixed holding
    multipart/alternative and the invite) at about a third of its CPU (bench/delivery_cost.py:
    4.1-4.6 ms a message with ``EmailMessage`` and aiosmtplib's flattening, most of it parsing
    the headers it had just been given; 1.2-1.3 ms now). Non-ASCII headers are RFC 2047
    words, as before."""
    sender_name, sender = parseaddr(settings.smtp_from)
    if _LINE_BREAK.search(to) or _LINE_BREAK.search(sender):
        raise Undeliverable("line break in an address")
    message = MIMEMultipart("mixed")
    message["From"] = formataddr((_one_line(sender_name), sender), charset="utf-8") if sender_name else sender
    message["To"] = formataddr((_one_line(to_name), to), charset="utf-8") if to_name else to
    message["Subject"] = Header(_one_line(rendered.subject), "utf-8")
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False)
    message["X-Booking-Dedupe-Key"] = message_id.strip("<>").split("@")[0]
    alternatives = MIMEMultipart("alternative")
    alternatives.attach(_part(MIMEText(rendered.text, "plain", _EIGHT_BIT)))
    alternatives.attach(_part(MIMEText(rendered.html, "html", "utf-8")))
    message.attach(_part(alternatives))
    if rendered.calendar is not None:
        invite = MIMEBase("text", "calendar", method=rendered.calendar_method or "PUBLISH", charset="utf-8")
        invite.set_payload(rendered.calendar)
        encode_base64(invite)
        invite.add_header("Content-Disposition", "attachment", filename=calendar_name)
        message.attach(_part(invite))
    with io.BytesIO() as out:
        # lines end in LF here; the SMTP client sends every line ending as CRLF
        BytesGenerator(out, mangle_from_=False, policy=compat32).flatten(message)
        return OutgoingMail(sender=sender, recipient=to, message_id=message_id, data=out.getvalue())


_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _one_line(value: str) -> str:
    """A header's text on one line: a name or subject with a line break in it must not
    start a header of its own (the classic classes do not refuse one, as EmailMessage did)."""
    return _LINE_BREAK.sub(" ", value)


# the text part in 8 bits, readable as it is (as ``EmailMessage`` wrote it); HTML in base64
_EIGHT_BIT = Charset("utf-8")
_EIGHT_BIT.body_encoding = None


def _part(part: MIMEBase) -> MIMEBase:
    del part["MIME-Version"]  # the classic classes give every part one; only the message has it
    return part


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> None: ...


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: OutgoingMail) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(mail.data, sender=mail.sender, recipients=[mail.recipient], hostname=s.smtp_host,
                                  port=s.smtp_port, username=s.smtp_username, password=s.smtp_password,
                                  start_tls=s.smtp_starttls, timeout=s.smtp_timeout_seconds)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}") from exc


class LogMailer:
    """No SMTP server configured (the embedded default): say that a mail would go out."""

    async def send(self, mail: OutgoingMail) -> None:
        logger.info("mail not sent (no BOOKING_SMTP_HOST)", extra={"message_id": mail.message_id})


@dataclass(frozen=True, slots=True)
class SmsMessage:
    kind: str  # the notification kind: picks a gateway's registered template
    locale: str
    text: str  # the whole message in the recipient's language
    params: dict[str, str]  # the facts the text names: the template's variables


class SmsProvider(Protocol):
    async def send(self, phone: str, message: SmsMessage, dedupe_key: str) -> None:
        """``dedupe_key`` is the outbox row id: a gateway that takes a caller id gets it
        (Alibaba Cloud's ``OutId``), so a message sent twice is recognisable as one."""


class LogSmsProvider:
    """The default provider: logs that an SMS would go out, with the number masked."""

    def __init__(self) -> None:
        # the last messages (masked phone, dedupe key), for the embedded default and tests
        self.sent: collections.deque[tuple[str, str]] = collections.deque(maxlen=1000)

    async def send(self, phone: str, message: SmsMessage, dedupe_key: str) -> None:
        self.sent.append((mask_phone(phone), dedupe_key))
        logger.info("sms", extra={"to": mask_phone(phone), "dedupe_key": dedupe_key, "chars": len(message.text)})


class SmsRateLimiter:
    """At most ``per_hour`` messages to one number (by its keyed hash) per clock hour:
    counters in Redis when configured, else in this process."""

    def __init__(self, per_hour: int, redis: Any | None = None) -> None:
        self.per_hour = per_hour
        self.redis = redis
        self._local: dict[str, int] = {}

    async def take(self, phone_hash: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        hour = int(now // 3600)
        key = f"booking:sms:rate:{phone_hash}:{hour}"
        if self.redis is not None:
            count = await self.redis.incr(key)
            if count == 1:
                await self.redis.expire(key, 3700)
        else:
            if len(self._local) > 100_000:
                self._local.clear()
            count = self._local[key] = self._local.get(key, 0) + 1
        if count > self.per_hour:
            count_rate_limit_refusal("sms_per_number")
            raise RateLimited(retry_after=(hour + 1) * 3600 - now)


@dataclass(slots=True)
class Channels:
    """How this process sends: e-mail, SMS, and the SMS rate limit per number."""

    mailer: Mailer
    sms: SmsProvider
    sms_limiter: SmsRateLimiter
