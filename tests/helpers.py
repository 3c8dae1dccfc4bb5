"""A live HTTP server, a real SMTP sink and reading what they received (test data is in
``tests/factories.py``)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a real socket, in a thread with its own event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                            lifespan="on", timeout_keep_alive=30, backlog=2048)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives.

    ``stop()``/``start()`` take it down and bring it back on the same port; ``hold_rcpt``
    makes it wait before answering RCPT, so a client can be killed mid-delivery.
    ``reply_delay`` makes it slow to answer a message it has already accepted: a client
    killed meanwhile has sent a message it does not know about (``replying`` counts them)."""

    def __init__(self) -> None:
        import email
        import email.policy

        self.port = free_port()
        self.messages: list[Any] = []
        self.hold_rcpt = threading.Event()
        self.in_rcpt = threading.Event()
        self.reply_delay = 0.0
        self.replying = 0
        self.sessions = 0  # SMTP sessions opened (EHLO), kept ones counted once
        self.refuse_mail = 0  # answer the next this many MAIL commands with 421
        self._parse = lambda raw: email.message_from_bytes(raw, policy=email.policy.default)
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802, ANN001, ANN201
                session.host_name = hostname
                sink.sessions += 1
                return responses

            async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802, ANN001, ANN201
                if sink.refuse_mail:
                    sink.refuse_mail -= 1
                    return "421 Too many messages on this connection"
                envelope.mail_from = address
                envelope.mail_options.extend(mail_options)
                return "250 OK"

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001, ANN201
                sink.in_rcpt.set()
                while sink.hold_rcpt.is_set():
                    await asyncio.sleep(0.05)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
                sink.messages.append(sink._parse(envelope.content))
                if sink.reply_delay:
                    sink.replying += 1
                    try:
                        await asyncio.sleep(sink.reply_delay)
                    finally:
                        sink.replying -= 1
                return "250 Message accepted"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def by_message_id(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for message in self.messages:
            found.setdefault(message["Message-ID"], []).append(message)
        return found


def calendar_part(message: Any) -> Any:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part
    return None


async def derive_reminders(runtime: Any, at: Any) -> int:
    """The sweep's first step as if it ran at ``at``: the reminders of confirmed
    appointments whose moment has come, written into the outbox (nothing is sent).
    Returns how many appointments it claimed."""
    from booking.appointments.services.reminders import derive_due

    async with runtime.db.session() as session:
        derived = await derive_due(session, at, postgres=runtime.db.is_postgres)
        await session.commit()
    return derived.claimed


async def remind_at(runtime: Any, appointment_id: Any) -> Any:
    """The moment of an appointment's next reminder (None: none left)."""
    import uuid

    from booking.db.models import Appointment

    async with runtime.db.session() as session:
        appt = await session.get(Appointment, uuid.UUID(str(appointment_id)))
        return appt.remind_at if appt is not None else None


def record_calls(obj: Any, method: str) -> list[tuple[Any, ...]]:
    """Wrap the async ``method`` of ``obj`` (an instance): each call's arguments are appended
    to the list returned, and the call goes through. Shows whether a read happened."""
    calls: list[tuple[Any, ...]] = []
    original = getattr(obj, method)

    async def recorded(*args: Any) -> Any:
        calls.append(args)
        return await original(*args)

    setattr(obj, method, recorded)
    return calls
