"""Cross-province applications: submitting, documents, the clerk's queue and decisions,
withdrawal and the expiry of seat holds.

The seat: an application holds it through its appointment, which stays
``pending_review`` while the application is open (counted in ``slot.booked`` and in the
one-active-booking index). The hold is part of the appointment aggregate
(``booking.appointments.services.hold``): approval, rejection, withdrawal and expiry are the
appointment's transitions (``booking.appointments.services.lifecycle``), which settle the
application with the seat, in the same transaction as the decision and its notification.
This area builds on the appointments area; nothing there imports it.

Locks, in the order of ``booking.db.locking``: the appointment's slot, the appointment,
then the application; the expiry sweep takes the appointments with SKIP LOCKED and leaves
one a clerk is deciding to the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import SYSTEM, Principal
from booking.applications.documents import inspect_upload, safe_file_name
from booking.applications.schemas import (
    ApplicationCreate,
    ApplicationDecisionIn,
    ApplicationOut,
    DocumentOut,
    DocumentUpload,
)
from booking.applications.views import application_out, document_out
from booking.appointments.queries import parties_of, parties_of_many
from booking.appointments.schemas import AppointmentCreate
from booking.appointments.services import hold, lifecycle
from booking.appointments.services.book import book
from booking.appointments.services.hold import ReviewRequest
from booking.appointments.services.reminders import recipients
from booking.appointments.views import appointment_out
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import (
    ApplicationDocument,
    Appointment,
    CrossProvinceApplication,
    Slot,
)
from booking.db.models.applications import OPEN_STATUSES
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.idempotency import IdempotencyClaim, Replayed
from booking.jurisdiction.policy import DOCUMENT_KINDS, missing_documents
from booking.kernel.access import may_see, refuse
from booking.kernel.audit import record
from booking.notifications.outbox import add_rows, messages
from booking.offices.directory import OfficeInfo
from booking.runtime import Runtime
from booking.schemas import Answer

MAX_DOCUMENTS = 30  # per application: enough for any file a clerk asks for, not a disk to fill
UPLOAD = "application.document.upload"  # the audited action
UPLOAD_SCOPE = "application.document.create"  # of its Idempotency-Key


class InvalidApplicationStatus(Conflict):
    code = "application-state"  # short: audit outcomes are "refused:<code>" in 32 characters
    title = lazy("The application is not in a state that allows this.")


class DocumentsMissing(Conflict):
    code = "documents-missing"
    title = lazy("Required documents are missing.")


class HoldOver(Conflict):
    code = "hold-expired"
    title = lazy("The seat hold of this application has ended.")


class TooManyDocuments(Conflict):
    code = "too-many-documents"
    title = lazy("This application has as many documents as it may have.")


# --- submitting ------------------------------------------------------------------------


async def submit(rt: Runtime, principal: Principal, data: ApplicationCreate, *, key: str | None,
                 locale: str) -> tuple[int, Answer | Replayed]:
    """Book the chosen slot as a held seat and open the application, in one write."""
    booking = AppointmentCreate(slot_id=data.slot_id, service=data.service, parties=data.parties, holder=data.holder,
                            locale=data.locale)
    review = ReviewRequest(answers=data.answers.model_dump(mode="json", exclude_none=True),
                           respond=lambda app, office, appointment, loc: application_out(
                               app, office.tz, appointment, [], loc))
    return await book(rt, principal, booking, key=key, locale=locale, review=review)


# --- reading ---------------------------------------------------------------------------


async def _visible(session: AsyncSession, principal: Principal, application_id: uuid.UUID, *,
                   lock: bool = False) -> CrossProvinceApplication:
    """The application if the caller may see it; unknown and forbidden are both 404."""
    app = await session.get(CrossProvinceApplication, application_id)
    if app is None or not may_see(principal, app):
        raise NotFound()
    if lock:
        (app,) = await lock_rows(session, CrossProvinceApplication, [application_id])
    return app


async def _documents(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ApplicationDocument]]:
    found: dict[uuid.UUID, list[ApplicationDocument]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(select(ApplicationDocument).where(
            ApplicationDocument.application_id.in_(list(ids))).order_by(ApplicationDocument.created_at))  # type: ignore[attr-defined]
        for doc in rows.scalars():
            found[doc.application_id].append(doc)
    return found


async def _bodies(rt: Runtime, session: AsyncSession, apps: Sequence[CrossProvinceApplication],
                  locale: str) -> list[ApplicationOut]:
    """Several applications with their appointments, parties and documents in four queries."""
    if not apps:
        return []
    appt_ids = [a.appointment_id for a in apps]
    appts = {a.id: a for a in (await session.execute(
        select(Appointment).where(Appointment.id.in_(appt_ids)))).scalars()}  # type: ignore[attr-defined]
    parties = await parties_of_many(session, appt_ids)
    documents = await _documents(session, [a.id for a in apps])
    offices: dict[int, OfficeInfo] = {}
    out = []
    for app in apps:
        if app.office_id not in offices:
            offices[app.office_id] = await rt.offices.of(app.office_id, session)
        office = offices[app.office_id]
        appt = appts[app.appointment_id]
        appointment = appointment_out(appt, parties[appt.id], office, app.id)
        out.append(application_out(app, office.tz, appointment, documents[app.id], locale))
    return out


async def get_application(ctx: Context, application_id: uuid.UUID) -> ApplicationOut:
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    app = await _visible(session, principal, application_id)
    return (await _bodies(rt, session, [app], locale))[0]


async def list_own(ctx: Context, *, status: str | None, limit: int,
                   offset: int) -> tuple[list[ApplicationOut], int]:
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    query = select(CrossProvinceApplication).where(CrossProvinceApplication.account_id == principal.id)
    if status:
        query = query.where(CrossProvinceApplication.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    apps = list((await session.execute(query.order_by(CrossProvinceApplication.created_at.desc())  # type: ignore[attr-defined]
                                       .limit(limit).offset(offset))).scalars())
    return await _bodies(rt, session, apps, locale), total


async def queue(ctx: Context, office_id: int, *, status: str | None, start: date | None, end: date | None,
                limit: int, offset: int) -> tuple[list[ApplicationOut], int]:
    """The office's applications, oldest first (first come, first reviewed); the open
    ones unless a status is asked for. ``start``/``end`` filter by appointment date."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    principal.require_office(office_id)
    query = select(CrossProvinceApplication).where(CrossProvinceApplication.office_id == office_id)
    if status:
        query = query.where(CrossProvinceApplication.status == status)
    else:
        query = query.where(CrossProvinceApplication.status.in_(OPEN_STATUSES))  # type: ignore[attr-defined]
    if start is not None or end is not None:
        office = await rt.offices.of(office_id, session)
        query = query.join(Appointment, Appointment.id == CrossProvinceApplication.appointment_id)
        if start is not None:
            query = query.where(Appointment.starts_at >= datetime.combine(start, time(0), tzinfo=office.tz))
        if end is not None:
            query = query.where(Appointment.starts_at < datetime.combine(end + timedelta(days=1), time(0),
                                                                          tzinfo=office.tz))
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    apps = list((await session.execute(query.order_by(CrossProvinceApplication.created_at,
                                                      CrossProvinceApplication.id)
                                       .limit(limit).offset(offset))).scalars())
    return await _bodies(rt, session, apps, locale), total


# --- changing state -----------------------------------------------------------------------


async def _locked_pair(session: AsyncSession, principal: Principal, application_id: uuid.UUID
                       ) -> tuple[CrossProvinceApplication, Appointment]:
    """Lock the appointment (after its slot), then the application: the order every
    change uses."""
    app = await _visible(session, principal, application_id)
    appt = await lifecycle.lock_for_change(session, app.appointment_id)
    assert appt is not None  # the foreign key cascades
    app = await _visible(session, principal, application_id, lock=True)
    return app, appt


async def _refuse(session: AsyncSession, actor: Principal, action: str, app: CrossProvinceApplication,
                  problem: Conflict, now: datetime, **detail: Any) -> NoReturn:
    """Refused office actions are audited too (in a transaction of their own), then raised."""
    await refuse(session, actor, action, app, problem, target_type="application", at=now, **detail)


async def decide(ctx: Context, application_id: uuid.UUID,
                 data: ApplicationDecisionIn) -> ApplicationOut:
    """A clerk's decision, with its notification to the couple, in one transaction."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    if principal.is_couple:
        raise NotFound()
    reason = data.reason
    app, appt = await _locked_pair(session, principal, application_id)
    action = "application.decide"
    allowed = {"approve": ("submitted",), "needs_more_info": ("submitted",),
               "reject": ("submitted", "needs_more_info")}[data.decision]
    if app.status not in allowed or appt.status != "pending_review":
        await _refuse(session, principal, action, app, InvalidApplicationStatus(application_status=app.status),
                      now, decision=data.decision)
    if data.decision == "approve":
        if now >= app.hold_expires_at or now >= appt.starts_at:
            await _refuse(session, principal, action, app, HoldOver(), now, decision=data.decision)
        docs = (await _documents(session, [app.id]))[app.id]
        missing = missing_documents(app.documents_required, [(d.kind, d.party) for d in docs])
        if missing:
            await _refuse(session, principal, action, app, DocumentsMissing(
                missing=[{"kind": k, "party": p} for k, p in missing]), now, decision=data.decision)
        # The seat was taken when the hold was placed, under the capacity guard, and is
        # counted in ``booked``: approval takes no second one. (A slot the office closed
        # one by one keeps its held seat, as it keeps its confirmed ones; a closed day
        # cancelled the hold already.)
        await lifecycle.apply(session, [appt], lifecycle.APPROVE, actor=principal, now=now, reason=reason,
                              office=await rt.offices.of(appt.office_id, session))
    elif data.decision == "reject":
        await lifecycle.apply(session, [appt], lifecycle.REJECT, actor=principal, now=now, reason=reason)
    else:
        hold.move(app, "needs_more_info", now, "office", principal, reason)
        who = recipients(appt.account_id, await parties_of(session, appt.id))
        await add_rows(session, messages("application.needs_more_info", "application", app.id, app.version, who,
                                         appt.locale, now), now)
    record(session, principal, action, target_type="application", target_id=app.id, office_id=app.office_id,
           at=now, decision=data.decision, status=app.status, appointment_id=str(appt.id))
    await session.commit()
    return (await _bodies(rt, session, [app], locale))[0]


async def resubmit(ctx: Context, application_id: uuid.UUID,
                   note: str | None) -> ApplicationOut:
    """The couple has added what the office asked for: back to the office's queue."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    app, appt = await _locked_pair(session, principal, application_id)
    if app.status != "needs_more_info" or appt.status != "pending_review":
        await _refuse(session, principal, "application.resubmit", app,
                      InvalidApplicationStatus(application_status=app.status), now)
    hold.move(app, "submitted", now, "couple", principal, note)
    await session.commit()
    return (await _bodies(rt, session, [app], locale))[0]


async def withdraw(ctx: Context, application_id: uuid.UUID) -> ApplicationOut:
    """The couple gives up the application; the seat returns at once."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    app, appt = await _locked_pair(session, principal, application_id)
    if app.status not in OPEN_STATUSES or appt.status != "pending_review":
        await _refuse(session, principal, "application.withdraw", app,
                      InvalidApplicationStatus(application_status=app.status), now)
    # the calendar's tentative event is cancelled like any cancelled appointment's
    await lifecycle.apply(session, [appt], lifecycle.CANCEL_BY_COUPLE, actor=principal, now=now)
    await session.commit()
    return (await _bodies(rt, session, [app], locale))[0]


# --- documents -----------------------------------------------------------------------------


def _party(kind: str, raw: str | None) -> int | None:
    if kind not in DOCUMENT_KINDS:
        raise invalid("kind", lazy("Is not one of the allowed values."))
    if raw in (None, ""):
        if DOCUMENT_KINDS[kind].per_party:
            raise invalid("party", lazy("Say whose document this is: party 1 or 2."))
        return None
    if raw not in ("1", "2"):
        raise invalid("party", lazy("Must be 1 or 2."))
    return int(raw)


async def upload(ctx: Context, application_id: uuid.UUID,
                 form: DocumentUpload, *, key: str | None) -> tuple[int, Answer | Replayed]:
    """Add a scan to an open application (the couple, or a clerk of the office at the
    counter). No transaction is open and no row locked while the scan is decoded, cleaned,
    encrypted and written to the shared volume:

    1. a quick look, its transaction ended at once: may the caller, is the application open;
    2. outside any transaction: check and clean the content, write the file under a new
       generated name;
    3. one short transaction: the Idempotency-Key, the state again under the application's
       lock, the limit, the row and its audit entry. If it does not commit, or the key
       answers for an earlier upload, the file is deleted.
    """
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    party = _party(form.kind, form.party)
    file_name = safe_file_name(form.file.filename)
    data = await form.file.read(rt.settings.upload_max_bytes + 1)
    claim = await _upload_claim(rt, principal, key, application_id, form.kind, party, file_name, data)
    if (answer := await _ensure_open(session, principal, application_id, claim, now)) is not None:
        return answer

    scan = await asyncio.to_thread(inspect_upload, data, rt.settings.upload_max_bytes)
    doc = ApplicationDocument(id=uuid.uuid4(), application_id=application_id, kind=form.kind, party=party,
                              media_type=scan.media_type, size_bytes=len(scan.content), sha256=scan.sha256,
                              file_name=file_name, uploaded_by=principal.id, created_at=now)
    files = rt.documents
    await asyncio.to_thread(files.write, doc.id, scan.content)

    try:
        answer, stored = await _add_document(session, principal, doc, claim, now, locale)
    except Exception:
        await session.rollback()  # release the lock before touching the disk again
        await asyncio.to_thread(files.delete, doc.id)
        raise
    except BaseException:  # cancelled: no more awaiting; an unlink is quick
        files.delete(doc.id)
        raise
    if not stored:  # a retry: the first upload's answer, and its file only
        await asyncio.to_thread(files.delete, doc.id)
    return answer


async def _upload_claim(rt: Runtime, principal: Principal, key: str | None, application_id: uuid.UUID, kind: str,
                        party: int | None, file_name: str, data: bytes) -> IdempotencyClaim | None:
    """A retried upload is recognised by the file's digest, what it is and whose."""
    if key is None:
        return None
    digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    return IdempotencyClaim.of(rt, principal.id, key, UPLOAD_SCOPE, {
        "application_id": str(application_id), "kind": kind, "party": party, "file_name": file_name,
        "sha256": digest})


async def _ensure_open(session: AsyncSession, principal: Principal, application_id: uuid.UUID,
                       claim: IdempotencyClaim | None, now: datetime) -> tuple[int, Replayed] | None:
    """404 for a stranger, 409 for a decided application, before any slow work; the read's
    transaction ends here. A retry of an upload that went through before the application
    was decided gets the first answer."""
    app = await _visible(session, principal, application_id)
    if app.status not in OPEN_STATUSES:
        if claim is not None and (answer := await claim.take(session)) is not None:
            await session.commit()
            return answer
        # (a key claimed just now is rolled back with the refusal)
        await _refuse(session, principal, UPLOAD, app, InvalidApplicationStatus(application_status=app.status), now)
    await session.commit()
    return None


async def _add_document(session: AsyncSession, principal: Principal, doc: ApplicationDocument,
                        claim: IdempotencyClaim | None, now: datetime, locale: str
                        ) -> tuple[tuple[int, DocumentOut | Replayed], bool]:
    """The short transaction of an upload (its file is written already): the answer, and
    whether this document was stored (False: the key's earlier answer)."""
    if claim is not None and (answer := await claim.take(session)) is not None:
        await session.commit()
        return answer, False
    app = await _visible(session, principal, doc.application_id, lock=True)
    if app.status not in OPEN_STATUSES:
        await _refuse(session, principal, UPLOAD, app, InvalidApplicationStatus(application_status=app.status), now)
    count = (await session.execute(select(func.count()).where(
        ApplicationDocument.application_id == app.id))).scalar_one()
    if count >= MAX_DOCUMENTS:
        await _refuse(session, principal, UPLOAD, app, TooManyDocuments(), now)
    session.add(doc)
    app.updated_at = now
    if not principal.is_couple:
        record(session, principal, UPLOAD, target_type="application", target_id=app.id, office_id=app.office_id,
               at=now, document_id=str(doc.id), kind=doc.kind)
    body = document_out(app.id, doc, locale)
    if claim is not None:
        claim.settle(201, body)
    await session.commit()
    return (201, body), True


async def read_document(ctx: Context, application_id: uuid.UUID,
                        document_id: uuid.UUID) -> tuple[bytes, ApplicationDocument]:
    """The couple reads their own; a clerk of the office reads, and the read is audited
    (committed before the bytes leave). No transaction is open while the file is read."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    app = await _visible(session, principal, application_id)
    doc = await session.get(ApplicationDocument, document_id)
    if doc is None or doc.application_id != app.id:
        raise NotFound()
    office_id = app.office_id
    await session.commit()  # ends the read (nothing to write); the rows stay loaded
    try:
        content = await asyncio.to_thread(rt.documents.read, doc.id)
    except FileNotFoundError:
        raise NotFound() from None
    if not principal.is_couple:
        record(session, principal, "application.document.read", target_type="application", target_id=app.id,
               office_id=office_id, at=rt.clock.now(), document_id=str(doc.id), kind=doc.kind)
        await session.commit()
    return content, doc


# --- the expiry of holds ---------------------------------------------------------------------


async def expire_holds(rt: Runtime, limit: int = 200) -> int:
    """Open applications whose hold has ended (or whose appointment has begun) expire and
    give their seats back. Safe to run twice and concurrently: the slots are locked first
    (the lock order), then the appointments with SKIP LOCKED (a clerk deciding one at this
    moment keeps it) and re-checked, so a second run finds nothing left to do."""
    now = rt.clock.now()
    over = (CrossProvinceApplication.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
            & (Appointment.status == "pending_review")
            & or_(CrossProvinceApplication.hold_expires_at <= now, Appointment.starts_at <= now))
    joined = select(Appointment).join(CrossProvinceApplication,
                                      CrossProvinceApplication.appointment_id == Appointment.id).where(over)
    async with rt.db.session() as session:
        slot_ids = (await session.execute(joined.with_only_columns(Appointment.slot_id)
                                          .order_by(CrossProvinceApplication.hold_expires_at).limit(limit))).scalars()
        slots = await lock_rows(session, Slot, list(slot_ids))
        query = joined.where(Appointment.slot_id.in_([s.id for s in slots])).order_by(Appointment.id).limit(limit)  # type: ignore[attr-defined]
        if rt.db.is_postgres:
            query = query.with_for_update(of=Appointment, skip_locked=True)
        appts = list((await session.execute(query.execution_options(populate_existing=True))).scalars())
        for app in await lifecycle.apply(session, appts, lifecycle.EXPIRE, actor=SYSTEM, now=now):
            record(session, SYSTEM, "application.expire", target_type="application", target_id=app.id,
                   office_id=app.office_id, at=now, automatic=True, appointment_id=str(app.appointment_id))
        await session.commit()
        return len(appts)


__all__ = ["decide", "expire_holds", "get_application", "list_own", "queue",
           "read_document", "resubmit", "submit", "upload", "withdraw"]
