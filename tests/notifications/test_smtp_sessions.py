"""The mailer keeps its SMTP sessions open between messages (booking.notifications.channels.
SmtpMailer), against a real SMTP server: one session for many messages, a session the server
dropped replaced before anything is sent, a failed or cancelled one never kept."""

from __future__ import annotations

import asyncio

import pytest

from booking.notifications.channels import DeliveryError, OutgoingMail, SmtpMailer
from booking.settings import Settings
from tests.helpers import SmtpSink


def mail(n: int) -> OutgoingMail:
    data = (f"From: a@booking.example\nTo: b{n}@example.com\nSubject: {n}\n"
            f"Message-ID: <m{n}@booking.example>\n\nbody {n}\n").encode()
    return OutgoingMail(sender="a@booking.example", recipient=f"b{n}@example.com",
                        message_id=f"<m{n}@booking.example>", data=data)


def mailer(sink: SmtpSink, keep: int = 8) -> SmtpMailer:
    return SmtpMailer(Settings(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_timeout_seconds=5), keep=keep)


async def test_one_session_carries_many_messages(sink: SmtpSink):
    m = mailer(sink)
    for n in range(5):
        await m.send(mail(n))
    assert [x["Message-ID"] for x in sink.messages] == [f"<m{n}@booking.example>" for n in range(5)]
    assert sink.sessions == 1
    await m.close()


async def test_a_session_the_server_dropped_is_replaced_before_sending(sink: SmtpSink):
    m = mailer(sink)
    await m.send(mail(1))
    sink.stop()  # the server goes away (a restart, an idle timeout): the kept session is dead
    sink.start()
    await m.send(mail(2))
    assert [x["Message-ID"] for x in sink.messages] == ["<m1@booking.example>", "<m2@booking.example>"]
    assert sink.sessions == 2
    await m.close()


async def test_concurrent_sends_each_have_a_session_and_at_most_keep_are_kept(sink: SmtpSink):
    m = mailer(sink, keep=3)
    await asyncio.gather(*(m.send(mail(n)) for n in range(6)))
    assert sorted(x["Subject"] for x in sink.messages) == [str(n) for n in range(6)]
    assert sink.sessions == 6  # none was shared by two messages at once
    await asyncio.gather(*(m.send(mail(n)) for n in range(6, 12)))
    assert sink.sessions == 9  # three kept carried three of the next six; three were new
    assert len(sink.messages) == 12
    await m.close()


async def test_closed_idle_and_worn_sessions_are_not_reused(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch):
    m = mailer(sink)
    await m.send(mail(1))
    await m.close()  # the runtime stops: what was kept is closed, nothing is kept from now on
    await m.send(mail(2))
    await m.send(mail(3))
    assert sink.sessions == 3
    m = mailer(sink)
    monkeypatch.setattr(SmtpMailer, "IDLE_SECONDS", 0.0)  # every kept session idle too long
    await m.send(mail(4))
    await m.send(mail(5))
    assert sink.sessions == 5
    monkeypatch.setattr(SmtpMailer, "IDLE_SECONDS", 30.0)
    monkeypatch.setattr(SmtpMailer, "MESSAGES_PER_SESSION", 2)  # a session retires after two
    for n in range(6, 10):
        await m.send(mail(n))
    assert sink.sessions == 7
    assert [x["Subject"] for x in sink.messages] == [str(n) for n in range(1, 10)]
    await m.close()


async def test_a_kept_session_refused_at_mail_is_replaced_once(sink: SmtpSink):
    m = mailer(sink)
    await m.send(mail(1))
    sink.refuse_mail = 1  # the server caps messages per connection: 421 at the next MAIL
    await m.send(mail(2))  # nothing of it had been sent: sent again on a new session
    assert [x["Subject"] for x in sink.messages] == ["1", "2"] and sink.sessions == 2
    sink.refuse_mail = 2  # refused on a new session too: an error, retried later by the outbox
    m2 = mailer(sink)
    with pytest.raises(DeliveryError):
        await m2.send(mail(3))
    await m.close()
    await m2.close()


async def test_a_failed_or_cancelled_send_keeps_no_session(sink: SmtpSink):
    m = mailer(sink)
    await m.send(mail(1))
    sink.hold_rcpt.set()  # the server stalls mid-transaction
    sink.in_rcpt.clear()
    task = asyncio.create_task(m.send(mail(2)))
    await asyncio.to_thread(sink.in_rcpt.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sink.hold_rcpt.clear()
    await m.send(mail(3))  # a new session, not the one left mid-transaction
    assert sink.sessions == 2
    sink.stop()
    with pytest.raises(DeliveryError):
        await m.send(mail(4))  # nobody answers: an error to retry later, nothing kept
    sink.start()
    await m.send(mail(5))
    assert [x["Subject"] for x in sink.messages] == ["1", "3", "5"]
    await m.close()
