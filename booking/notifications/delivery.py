"""Delivering the outbox: the sweep and the delivery of one row.

All retry state is in PostgreSQL, so losing Redis or a worker loses nothing:

- ``sweep`` drops reminders past their moment, then picks pending rows whose next
  attempt is due and hands them on: to arq by id (job id ``notify:<id>:<hand-on time>``)
  or, without Redis, straight to ``deliver``. It pushes ``next_attempt_at`` forward by the
  requeue interval, so a job lost with a flushed Redis or a killed worker is enqueued
  again by a later sweep, under a new job id (arq keeps a killed worker's job "in
  progress" for a minute, then refuses to run it again). A row still queued after the
  interval is handed on twice; whichever job comes second finds it sent and skips it.
- ``deliver`` takes a lease with a conditional update (one delivery of a row at a time),
  renders, sends, and marks the row sent with a compare-and-swap on ``state``. A job run
  twice sends once. Failures are retried with backoff, then the row is ``failed``.
- A delivery runs in the process's ``DeliveryGate``: at most ``notification_concurrency``
  at once, and never cut between send and mark by a cancellation. Everything up to the end
  of the send fits the job timeout; the lease adds a margin for the mark, so a lease never
  runs out under a delivery still running. On a graceful stop the deliveries on the wire
  finish and are marked; the ones not started yet go back to the sweep.
- Every e-mail carries the row id in its Message-ID, every SMS in its gateway's caller id:
  if a worker dies after the server accepted a message but before the row was marked, the
  redelivery is the same message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update

from booking.background.queue import enqueue
from booking.db.models import Appointment, CrossProvinceApplication, Notification, Signup, UserAccount
from booking.notifications.aliyun_sms import AliyunSms
from booking.notifications.channels import (
    Channels,
    DeliveryError,
    LogMailer,
    LogSmsProvider,
    RateLimited,
    SmsMessage,
    SmsProvider,
    SmsRateLimiter,
    SmtpMailer,
    Undeliverable,
    build_email,
)
from booking.notifications.registry import (
    RenderContext,
    SubjectGone,
    due_sources,
    message_id,
    phone_resolver_for,
    renderer_for,
)
from booking.observability.metrics import count_delivery
from booking.runtime import Runtime
from booking.security.ratelimit import RateLimited as AccountRateLimited
from booking.settings import Settings

# whose account caused the messages about a subject (SMS are limited per account too)
SUBJECT_ACCOUNTS: dict[str, Any] = {"appointment": Appointment, "signup": Signup,
                                    "application": CrossProvinceApplication}

logger = logging.getLogger("booking.notifications")

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


# The lease and the settling of a row: two statements of every delivery, built once as Core
# statements (an ORM update built per call cost more CPU than the message's e-mail)
_OUTBOX = Notification.__table__  # type: ignore[attr-defined]
_LEASE = (update(_OUTBOX)
          .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.state == "pending",
                 or_(_OUTBOX.c.leased_until.is_(None), _OUTBOX.c.leased_until < bindparam("now")))
          .values(leased_until=bindparam("until"), attempts=_OUTBOX.c.attempts + 1)
          .returning(_OUTBOX.c.id))
_SETTLE = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.state == "pending")
           .returning(_OUTBOX.c.channel))
# sent, failed or dropped: the row leaves the outbox's pending state
_SETTLE_FINAL = _SETTLE.values(leased_until=None, state=bindparam("new_state"), last_error=bindparam("error"),
                               sent_at=bindparam("sent"))
# tried, to be tried again at ``at``
_SETTLE_RETRY = _SETTLE.values(leased_until=None, next_attempt_at=bindparam("at"), last_error=bindparam("error"),
                               attempts=bindparam("tried"))


def channels(rt: Runtime) -> Channels:
    """The runtime's channels, built at the first delivery (once Redis is connected)."""
    if rt.channels is None:
        s = rt.settings
        rt.channels = Channels(
            mailer=SmtpMailer(s, keep=s.notification_concurrency) if s.smtp_host else LogMailer(),
            sms=sms_provider(s),
            sms_limiter=SmsRateLimiter(s.sms_per_number_per_hour, rt.redis),
        )
    return rt.channels


def sms_provider(settings: Settings) -> SmsProvider:
    return AliyunSms(settings) if settings.sms_provider == "aliyun" else LogSmsProvider()


async def stop_deliveries(rt: Runtime, timeout: float) -> None:
    """Take no new delivery, and let those on the wire finish and be marked."""
    still_running = await rt.delivery_gate.close(timeout)
    if still_running:
        logger.warning("stopped with deliveries on the wire; each is sent again when its lease runs out",
                       extra={"count": still_running})


def lease_length(rt: Runtime) -> timedelta:
    s = rt.settings
    return timedelta(seconds=s.notification_job_timeout_seconds + s.notification_lease_margin_seconds)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS))


@dataclass(slots=True)
class SweepResult:
    dropped: int
    handed_on: int


# rows handed on per round; a sweep goes round again while rounds come back full, for at
# most SWEEP_BUDGET_SECONDS (the next sweep, 20 s on, takes over)
SWEEP_BATCH = 500
SWEEP_BUDGET_SECONDS = 15.0
DERIVE_MAX_BATCHES = 40


async def sweep(rt: Runtime, limit: int = SWEEP_BATCH, budget_seconds: float = SWEEP_BUDGET_SECONDS) -> SweepResult:
    """Derive the messages that fell due (reminders), drop those past their moment, then
    hand due rows on in rounds of ``limit`` while rounds come back full and the budget
    lasts (a backlog of thousands leaves in one sweep, not at 500 per 20 s)."""
    started = asyncio.get_running_loop().time()
    dropped = await _derive(rt)
    total = SweepResult(dropped=0, handed_on=0)
    while True:
        result = await _sweep_once(rt, limit)
        total.dropped += result.dropped
        total.handed_on += result.handed_on
        if (result.handed_on < limit or rt.delivery_gate.closed
                or asyncio.get_running_loop().time() - started >= budget_seconds):
            break
    for channel in dropped:
        count_delivery(channel, "dropped")
    total.dropped += len(dropped)
    return total


async def _derive(rt: Runtime) -> list[str]:
    """Messages derived from their subjects when due, batch by batch, each batch its own
    short transaction; returns the channels of those written as dropped."""
    now = rt.clock.now()
    dropped: list[str] = []
    for source in due_sources():
        for _batch in range(DERIVE_MAX_BATCHES):
            async with rt.db.session() as session:
                derived = await source(session, now, postgres=rt.db.is_postgres, limit=SWEEP_BATCH)
                await session.commit()
            dropped += derived.dropped
            if derived.claimed < SWEEP_BATCH:
                break
    return dropped


async def _sweep_once(rt: Runtime, limit: int) -> SweepResult:
    now = rt.clock.now()
    async with rt.db.session() as session:
        dropped = (await session.execute(
            update(Notification)
            .where(Notification.state == "pending", Notification.not_after.is_not(None),  # type: ignore[union-attr]
                   Notification.not_after <= now,  # type: ignore[operator]
                   # a row being delivered right now is the delivery's to finish
                   (Notification.leased_until.is_(None)) | (Notification.leased_until < now))  # type: ignore[union-attr,operator]
            .values(state="dropped", last_error="its moment had passed", leased_until=None)
            .returning(Notification.channel))).all()
        due_query = (
            select(Notification.id)
            .where(Notification.state == "pending", Notification.next_attempt_at <= now,
                   (Notification.leased_until.is_(None)) | (Notification.leased_until < now))  # type: ignore[union-attr,operator]
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
        if rt.db.is_postgres:
            due_query = due_query.with_for_update(skip_locked=True)
        due = list((await session.execute(due_query)).scalars().all())
        if due:
            await session.execute(
                update(Notification).where(Notification.id.in_(due))  # type: ignore[union-attr]
                .values(next_attempt_at=now + timedelta(seconds=rt.settings.notification_requeue_seconds)))
        await session.commit()
    if rt.redis is not None:
        # One job id per hand-on: a job that a killed worker left "in progress" in arq
        # never blocks the row's next hand-on (each job leases the row before sending).
        handed_on = f"{int(now.timestamp() * 1000)}"
        for notification_id in due:
            await enqueue(rt.redis, "deliver_notification", str(notification_id),
                          job_id=f"notify:{notification_id}:{handed_on}")
    else:
        for position, notification_id in enumerate(due):
            # in-process (the embedded default): the API's requests in this process come first
            await rt.request_load.lull(rt.settings.background_yield_seconds)
            if rt.delivery_gate.closed:  # stopping: the rest go back to the next sweep now
                await _hand_back(rt, due[position:])
                break
            await deliver(rt, notification_id)
    for row in dropped:
        count_delivery(row.channel, "dropped")
    if dropped:
        logger.info("reminders dropped", extra={"count": len(dropped)})
    return SweepResult(dropped=len(dropped), handed_on=len(due))


async def deliver(rt: Runtime, notification_id: uuid.UUID) -> str:
    """Deliver one row; returns what happened: sent, skipped, dropped, retry, failed, or
    deferred (the process is stopping: the row goes back to the sweep at once)."""
    outcome = await rt.delivery_gate.run(lambda: _deliver(rt, notification_id))
    if outcome is None:
        await _hand_back(rt, [notification_id])
        return "deferred"
    return outcome


async def _deliver(rt: Runtime, notification_id: uuid.UUID) -> str:
    """Three short transactions, none open while a message is on the wire: take the lease;
    read and render; record the outcome. Reading, rendering and sending must end within
    the job timeout; the lease is longer by the margin, which is the mark's."""
    now = rt.clock.now()
    async with rt.db.engine.begin() as conn:
        leased = (await conn.execute(_LEASE, {"row_id": notification_id, "now": now,
                                              "until": now + lease_length(rt)})).first()
    if leased is None:
        return "skipped"  # sent, cancelled, dropped, or another worker holds it
    kind, attempts = "?", 1
    try:
        async with asyncio.timeout(rt.settings.notification_job_timeout_seconds):
            async with rt.db.session() as session:
                row = await session.get(Notification, notification_id)
                assert row is not None
                kind, attempts = row.kind, row.attempts
                if row.not_after is not None and row.not_after <= now:
                    raise SubjectGone("its moment had passed")
                send = await _prepare(rt, session, row)
                await session.rollback()  # nothing was written: end the read before sending
            await send()
    except SubjectGone as exc:
        return await _finish(rt, notification_id, "dropped", str(exc) or "subject gone")
    except RateLimited as exc:
        return await _retry(rt, notification_id, attempts - 1, now + timedelta(seconds=exc.retry_after), str(exc))
    except Undeliverable as exc:
        return await _finish(rt, notification_id, "failed", str(exc))
    except DeliveryError as exc:
        return await _failed_attempt(rt, notification_id, attempts, now, str(exc))
    except TimeoutError:  # the server may have taken it: a retry is the same message
        return await _failed_attempt(rt, notification_id, attempts, now, "timeout")
    except Exception as exc:  # noqa: BLE001 - a bug in one message must not stop the others
        logger.exception("delivery failed", extra={"notification": str(notification_id), "kind": kind})
        return await _failed_attempt(rt, notification_id, attempts, now, f"error: {type(exc).__name__}")
    return await _finish(rt, notification_id, "sent", None, sent_at=now)


async def _hand_back(rt: Runtime, notification_ids: list[uuid.UUID]) -> None:
    """Rows handed on but not started: due again now, for the next sweep of any process."""
    now = rt.clock.now()
    async with rt.db.session() as session:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(notification_ids), Notification.state == "pending",  # type: ignore[union-attr]
                   (Notification.leased_until.is_(None)) | (Notification.leased_until < now))  # type: ignore[union-attr,operator]
            .values(next_attempt_at=now))
        await session.commit()


async def _prepare(rt: Runtime, session: Any, row: Notification) -> Callable[[], Awaitable[None]]:
    """Resolve the recipient and render; return the send itself, to run after the read."""
    render = renderer_for(row.kind)
    if render is None:
        raise SubjectGone(f"no renderer for {row.kind}")
    chan = channels(rt)
    if row.channel == "email":
        account = await session.get(UserAccount, row.account_id) if row.account_id else None
        if account is None or not account.is_active:
            raise SubjectGone("recipient account gone")
        rendered = await render(RenderContext(rt, session, row, row.locale, email=account.email, name=account.name))
        message = build_email(rt.settings, account.email, account.name, rendered, message_id(row.id))
        return lambda: chan.mailer.send(message)
    resolve = phone_resolver_for(row.subject_type)
    found = await resolve(rt, session, row.party_id) if resolve and row.party_id else None
    if found is None:
        raise SubjectGone("recipient phone gone")
    phone, phone_hash = found
    rendered = await render(RenderContext(rt, session, row, row.locale))
    sms = SmsMessage(kind=row.kind, locale=row.locale, text=rendered.sms.text, params=rendered.sms.params)
    dedupe = str(row.id)
    model = SUBJECT_ACCOUNTS.get(row.subject_type)
    subject = await session.get(model, row.subject_id) if model is not None else None
    account_id = getattr(subject, "account_id", None)

    async def send_sms() -> None:
        now = rt.clock.now().timestamp()
        await chan.sms_limiter.take(phone_hash, now=now)
        try:  # SMS caused by one account (a scalper's many bookings to many numbers)
            await rt.rate_limiter.check("sms", address_key=None, account=account_id, now=now)
        except AccountRateLimited as exc:
            raise RateLimited(retry_after=float(exc.headers["Retry-After"])) from None
        await chan.sms.send(phone, sms, dedupe)

    return send_sms


async def _settle(rt: Runtime, notification_id: uuid.UUID, outcome: str, statement: Any, **values: Any) -> bool:
    """Write what became of an attempt, if the row is still pending (compare-and-swap: a
    job run twice settles it once), releasing its lease; counted by channel and outcome."""
    async with rt.db.engine.begin() as conn:
        settled = (await conn.execute(statement, {"row_id": notification_id, **values})).first()
    if settled is not None:
        count_delivery(settled.channel, outcome)
    return settled is not None


async def _finish(rt: Runtime, notification_id: uuid.UUID, state: str, error: str | None,
                  sent_at: datetime | None = None) -> str:
    settled = await _settle(rt, notification_id, state, _SETTLE_FINAL, new_state=state, error=error,
                            sent=sent_at)
    return state if settled else "skipped"


async def _retry(rt: Runtime, notification_id: uuid.UUID, attempts: int, at: datetime, error: str) -> str:
    await _settle(rt, notification_id, "retry", _SETTLE_RETRY, at=at, error=error, tried=attempts)
    return "retry"


async def _failed_attempt(rt: Runtime, notification_id: uuid.UUID, attempts: int, now: datetime, error: str) -> str:
    if attempts >= rt.settings.notification_max_attempts:
        return await _finish(rt, notification_id, "failed", error)
    return await _retry(rt, notification_id, attempts, now + backoff(attempts), error)


async def counts(rt: Runtime) -> dict[str, int]:
    async with rt.db.session() as session:
        rows = (await session.execute(
            select(Notification.state, func.count()).group_by(Notification.state))).all()
    result = {state: 0 for state in ("pending", "sent", "failed", "dropped", "cancelled")}
    result.update({state: n for state, n in rows})
    return result
