"""How messages leave: e-mail over SMTP, SMS through a provider, with rate limits."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import logging
import re
import time
from dataclasses import dataclass
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
    once, here, at about a third of the CPU ``EmailMessage`` took (bench/delivery_cost.py:
    4.1-4.6 ms a message with aiosmtplib's flattening, most of it parsing the headers it had
    just been given; 1.2-1.3 ms now). The same structure: multipart/alternative, inside
    multipart/mixed when an invite is attached. 7-bit clean: bodies in base64 (a clerk's
    reason is one line of up to 1,000 characters, past SMTP's 998 bytes a line), non-ASCII
    header text in RFC 2047 words of at most 75 characters, so no server needs 8BITMIME."""
    sender_name, sender = parseaddr(settings.smtp_from)
    if _LINE_BREAK.search(to) or _LINE_BREAK.search(sender):
        raise Undeliverable("line break in an address")
    alternatives = MIMEMultipart("alternative")
    alternatives.attach(_part(MIMEText(rendered.text, "plain", "utf-8")))
    alternatives.attach(_part(MIMEText(rendered.html, "html", "utf-8")))
    message = alternatives
    if rendered.calendar is not None:
        message = MIMEMultipart("mixed")
        message.attach(_part(alternatives))
        invite = MIMEBase("text", "calendar", method=rendered.calendar_method or "PUBLISH", charset="utf-8")
        invite.set_payload(rendered.calendar)
        encode_base64(invite)
        invite.add_header("Content-Disposition", "attachment", filename=calendar_name)
        message.attach(_part(invite))
    message["From"] = _address(sender_name, sender, "From")
    message["To"] = _address(to_name, to, "To")
    message["Subject"] = _text(rendered.subject, "Subject")
    message["Message-ID"] = message_id
    message["Date"] = formatdate(localtime=False)
    message["X-Booking-Dedupe-Key"] = message_id.strip("<>").split("@")[0]
    with io.BytesIO() as out:
        # lines end in LF here; the SMTP client sends every line ending as CRLF
        BytesGenerator(out, mangle_from_=False, policy=_WIRE).flatten(message)
        return OutgoingMail(sender=sender, recipient=to, message_id=message_id, data=out.getvalue())


# folded at 76: an encoded word, with the space before it, then stays within RFC 2047's 75
_WIRE = compat32.clone(max_line_length=76)
_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _text(value: str, header: str) -> str | Header:
    """A header's text on one line (a name or subject with a line break in it must not start
    a header of its own: the classic classes do not refuse one, as EmailMessage did);
    non-ASCII text as RFC 2047 words, which the generator folds."""
    value = _LINE_BREAK.sub(" ", value)
    return value if value.isascii() else Header(value, "utf-8", header_name=header)


def _address(name: str | None, address: str, header: str) -> str | Header:
    if not name:
        return address
    text = _text(name, header)
    if isinstance(text, str):
        return formataddr((text, address))
    text.append(f"<{address}>", "us-ascii")
    return text


def _part(part: MIMEBase) -> MIMEBase:
    del part["MIME-Version"]  # the classic classes give every part one; only the message has it
    return part


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> None: ...


class SmtpMailer:
    """Sends over SMTP, keeping up to ``keep`` sessions open between messages (each idle at
    most ``IDLE_SECONDS``, and retired after ``MESSAGES_PER_SESSION``): a relay reached over
    STARTTLS and AUTH costs a TLS handshake and a login per new session, and throttles new
    connections (on a plain local connection the difference is below what
    bench/delivery_cost.py resolves).

    A session is used by one delivery at a time. A kept session is checked with NOOP (a short
    timeout) before its next message; one that does not answer is closed, and so are the
    others kept, which a dropped network path has likely killed too. A kept session whose
    server refuses the next message's sender (a cap on messages per connection) is replaced
    once by a new session: nothing of the message has been sent then. A session that failed,
    or whose send was cancelled, is closed, never kept. Sessions belong to the event loop
    that opened them."""

    IDLE_SECONDS = 30.0
    NOOP_TIMEOUT_SECONDS = 2.0
    MESSAGES_PER_SESSION = 100

    def __init__(self, settings: Settings, keep: int = 8) -> None:
        self.settings = settings
        self.keep = keep
        # (session, idle since, messages sent on it, its event loop)
        self._idle: list[tuple[aiosmtplib.SMTP, float, int, asyncio.AbstractEventLoop]] = []
        self._closed = False

    async def send(self, mail: OutgoingMail) -> None:
        loop = asyncio.get_running_loop()
        kept = await self._kept(loop)
        client, sent = kept if kept is not None else (None, 0)
        try:
            try:
                if client is None:
                    client = await self._open()
                await client.sendmail(mail.sender, [mail.recipient], mail.data)
            except aiosmtplib.SMTPSenderRefused:
                if kept is None:
                    raise
                client.close()  # refused at MAIL, before anything of the message: a new session
                client, sent = None, 0
                client = await self._open()
                await client.sendmail(mail.sender, [mail.recipient], mail.data)
        except BaseException as exc:
            if client is not None:
                client.close()
            if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
                raise DeliveryError(f"smtp: {type(exc).__name__}") from exc
            raise
        if not self._closed and len(self._idle) < self.keep and sent + 1 < self.MESSAGES_PER_SESSION:
            self._idle.append((client, time.monotonic(), sent + 1, loop))
        else:
            client.close()

    async def _open(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                                 password=s.smtp_password, start_tls=s.smtp_starttls, timeout=s.smtp_timeout_seconds)
        await client.connect()
        return client

    async def _kept(self, loop: asyncio.AbstractEventLoop) -> tuple[aiosmtplib.SMTP, int] | None:
        """A kept session of this loop that still answers, with the messages it has sent."""
        while self._idle:
            client, since, sent, owner = self._idle.pop()
            if owner is not loop:
                _close_elsewhere(client, owner)
                continue
            if not client.is_connected or time.monotonic() - since > self.IDLE_SECONDS:
                client.close()
                continue
            try:
                await client.noop(timeout=self.NOOP_TIMEOUT_SECONDS)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                client.close()
                if isinstance(exc, TimeoutError):  # a dead path: the others are likely dead too
                    self._drop(loop)
                continue
            except BaseException:  # cancelled meanwhile: the session is in no known state
                client.close()
                raise
            return client, sent
        return None

    def _drop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close every kept session (of this loop here, of others from their own loop)."""
        idle, self._idle = self._idle, []
        for client, _since, _sent, owner in idle:
            if owner is loop:
                client.close()
            else:
                _close_elsewhere(client, owner)

    async def close(self) -> None:
        """Close the kept sessions and keep none from now on (the runtime is stopping). No
        QUIT: a server that hangs must not hold up the process's stop."""
        self._closed = True
        self._drop(asyncio.get_running_loop())


def _close_elsewhere(client: aiosmtplib.SMTP, owner: asyncio.AbstractEventLoop) -> None:
    """Close a session of another event loop, from that loop (a transport is not thread-safe)."""
    if not owner.is_closed():
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            owner.call_soon_threadsafe(client.close)


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

    async def close(self) -> None:
        """Let go of what the channels keep open (the mailer's SMTP sessions)."""
        close = getattr(self.mailer, "close", None)
        if close is not None:
            await close()
