"""The organiser's desk: approve or reject, check couples in at the venue, mark attendance,
the list with its counts, the CSV export and the charity pledges.

Only clerks of the event's office (and admins) reach any of it; anyone else gets 404.
Every change, and every refused change, is in the audit log; so is every export, and full
ID numbers and phones leave only through an audited reveal.
"""

from __future__ import annotations

import bisect
import csv
import io
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.context import Context
from booking.db.locking import lock_rows
from booking.db.models import Event, Signup
from booking.errors import NotFound
from booking.events.messages import cancel_reminders, notice_rows, reminder_rows
from booking.events.schemas import (
    PledgeEntry,
    PledgeList,
    PledgeOut,
    SignupDecisionIn,
    SignupOut,
    SignupRevealOut,
    SponsorOut,
)
from booking.events.services import staff_event
from booking.events.signups import (
    EventStarted,
    InvalidSignupStatus,
    leave,
    lock_signup,
    out_of,
    outs_of,
    refuse,
    signup_parties,
    yuan,
)
from booking.i18n import N_, gettext, lazy
from booking.kernel.audit import record
from booking.kernel.codes import display_code, normalise_code
from booking.notifications.outbox import add_rows
from booking.parties.schemas import PartyRevealed
from booking.schemas import iso


async def staff_signup(session: AsyncSession, principal: Principal, signup_id: uuid.UUID) -> Signup:
    signup = await session.get(Signup, signup_id)
    if signup is None or principal.is_couple or not principal.manages_office(signup.office_id):
        raise NotFound()
    return signup


# --- approval ----------------------------------------------------------------------------


async def decide(ctx: Context, signup_id: uuid.UUID,
                 data: SignupDecisionIn) -> SignupOut:
    """Approve a couple holding a place (they are confirmed), or reject a couple holding or
    awaiting one, with a reason (their place goes to the waitlist at once)."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    event, signup = await lock_signup(session, await staff_signup(session, principal, signup_id))
    allowed = ("pending_approval",) if data.decision == "approve" else ("pending_approval", "waitlisted")
    if signup.status not in allowed:
        await refuse(session, principal, "signup.decide", signup, InvalidSignupStatus())
    if now >= event.starts_at:
        await refuse(session, principal, "signup.decide", signup, EventStarted())
    signup.decided_by = principal.id
    signup.decided_at = now
    signup.decision_reason = data.reason
    promoted = 0
    if data.decision == "approve":
        signup.status = "confirmed"
        signup.sequence += 1
        signup.updated_at = now
        await session.flush()
        office = await rt.offices.of(event.office_id, session)
        await add_rows(session, notice_rows("signup.decided", signup, event, now, {"decision": "approve"})
                       + reminder_rows(signup, event, office.rules, now), now)
    else:
        promoted = await leave(rt, session, event, signup, "rejected", now, "signup.decided", {"decision": "reject"})
    record(session, principal, "signup.decide", target_type="signup", target_id=signup.id, office_id=signup.office_id,
           at=now, decision=data.decision, promoted=promoted)
    await session.commit()
    return await out_of(session, signup, event)


# --- at the venue ------------------------------------------------------------------------


async def check_in(ctx: Context, event_id: uuid.UUID,
                   code: str) -> SignupOut:
    """Check a confirmed couple in by their code, on the day(s) of the event."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    event = await staff_event(session, principal, event_id)
    signup = next(iter(await lock_rows(session, Signup, where=and_(
        Signup.event_id == event_id, Signup.code == normalise_code(code)))), None)
    if signup is None:
        raise NotFound()
    tz = ZoneInfo(event.timezone)
    today = now.astimezone(tz).date()
    if not event.starts_on <= today <= event.ends_at.astimezone(tz).date():
        await refuse(session, principal, "signup.check_in", signup, InvalidSignupStatus(
            lazy("Couples check in on the day of the event.")))
    if signup.status == "attended":
        await refuse(session, principal, "signup.check_in", signup, InvalidSignupStatus(
            lazy("This couple has already checked in.")))
    if signup.status != "confirmed" or event.status != "published":
        await refuse(session, principal, "signup.check_in", signup, InvalidSignupStatus())
    signup.status = "attended"
    signup.checked_in_at = now
    signup.updated_at = now
    await cancel_reminders(session, [signup.id])
    record(session, principal, "signup.check_in", target_type="signup", target_id=signup.id,
           office_id=signup.office_id, at=now)
    await session.commit()
    return await out_of(session, signup, event)


async def mark_attendance(ctx: Context, signup_id: uuid.UUID,
                          attended: bool) -> SignupOut:
    """After the start: a confirmed couple came (``attended``) or did not (``no_show``);
    a mistake can be corrected. Both keep their place, so no counter moves."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    now = rt.clock.now()
    await staff_signup(session, principal, signup_id)
    (signup,) = await lock_rows(session, Signup, [signup_id])
    event = await session.get(Event, signup.event_id)
    assert event is not None
    if now < event.starts_at:
        await refuse(session, principal, "signup.attendance", signup, InvalidSignupStatus(
            lazy("Attendance can be marked once the event has started.")))
    if signup.status not in ("confirmed", "attended", "no_show") or event.status != "published":
        await refuse(session, principal, "signup.attendance", signup, InvalidSignupStatus())
    signup.status = "attended" if attended else "no_show"
    if attended and signup.checked_in_at is None:
        signup.checked_in_at = now
    signup.updated_at = now
    await cancel_reminders(session, [signup.id])
    record(session, principal, "signup.attendance", target_type="signup", target_id=signup.id,
           office_id=signup.office_id, at=now, attended=attended)
    await session.commit()
    return await out_of(session, signup, event)


# --- the list, its counts, the export ----------------------------------------------------


async def counts(session: AsyncSession, event_id: uuid.UUID) -> dict[str, int]:
    rows = (await session.execute(select(Signup.status, func.count()).where(Signup.event_id == event_id)
                                  .group_by(Signup.status))).all()
    return {status: n for status, n in rows}


async def _waitlist(session: AsyncSession, event_id: uuid.UUID) -> list[int]:
    return list((await session.execute(select(Signup.arrival_no).where(
        Signup.event_id == event_id, Signup.status == "waitlisted").order_by(Signup.arrival_no))).scalars())


def _position(waitlist: list[int], signup: Signup) -> int | None:
    return bisect.bisect_right(waitlist, signup.arrival_no) if signup.status == "waitlisted" else None


async def list_signups(ctx: Context, event_id: uuid.UUID, *,
                       status: str | None, limit: int, offset: int) -> tuple[list[SignupOut], int, dict[str, int]]:
    """The event's sign-ups in arrival order (masked), and how many are in each state."""
    session, principal = ctx.session, ctx.caller
    event = await staff_event(session, principal, event_id)
    query = select(Signup).where(Signup.event_id == event_id)
    if status:
        query = query.where(Signup.status == status)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    signups = list((await session.execute(query.order_by(Signup.arrival_no).limit(limit).offset(offset))).scalars())
    return await outs_of(session, signups, event), total, await counts(session, event_id)


CSV_COLUMNS = [N_("Check-in code"), N_("Status"), N_("Arrival"), N_("Waitlist position"), N_("Guests"),
               N_("Contact"), N_("Contact phone"), N_("Marriage date"), N_("Eligible by"), N_("Pledge (yuan)"),
               N_("Pledge cause"), N_("Sponsor"), N_("Signed up at"), N_("Checked in at")]
CSV_PARTY_COLUMNS = [N_("Party {n} name"), N_("Party {n} ID number"), N_("Party {n} phone")]


def _cell(value: Any) -> str:
    """No cell may start a spreadsheet formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_csv(ctx: Context, event_id: uuid.UUID, *,
                     reveal: bool) -> tuple[bytes, str]:
    """Every sign-up as CSV (UTF-8 with a BOM, so spreadsheets read the Chinese), masked
    unless ``reveal``; the export is audited either way, the reveal with it."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    event = await staff_event(session, principal, event_id)
    tz = ZoneInfo(event.timezone)
    signups = list((await session.execute(select(Signup).where(Signup.event_id == event_id)
                                          .order_by(Signup.arrival_no))).scalars())
    parties = await signup_parties(session, [s.id for s in signups])
    waitlist = await _waitlist(session, event_id)
    vault = rt.vault

    def id_number(p: Any) -> str:
        return vault.decrypt(p.id_enc, context="party.id_number") if reveal else p.id_masked

    def phone(p: Any) -> str:
        return vault.decrypt(p.phone_enc, context="party.phone") if reveal else p.phone_masked

    def when(value: datetime | None) -> str:
        return iso(value, tz) if value else ""

    header = [gettext(c, locale) for c in CSV_COLUMNS[:5]]
    for n in (1, 2):
        header += [gettext(c, locale).format(n=n) for c in CSV_PARTY_COLUMNS]
    header += [gettext(c, locale) for c in CSV_COLUMNS[5:]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for s in signups:
        row: list[Any] = [display_code(s.code), s.status, s.arrival_no, _position(waitlist, s), s.guests]
        for p in parties.get(s.id, []):
            row += [p.name, id_number(p), phone(p)]
        contact_phone = (vault.decrypt(s.contact_phone_enc, context="party.phone") if reveal and s.contact_phone_enc
                         else s.contact_phone_masked)
        row += [s.contact_name, contact_phone, s.marriage_date, s.eligible_by, yuan(s.pledge_amount_fen),
                s.pledge_cause, s.sponsor_name, when(s.created_at), when(s.checked_in_at)]
        writer.writerow([_cell(v) for v in row])
    record(session, principal, "signup.export", target_type="event", target_id=event_id, office_id=event.office_id,
           at=now, revealed=reveal, rows=len(signups))
    await session.commit()
    return ("\ufeff" + out.getvalue()).encode("utf-8"), f"event-{event_id}-signups.csv"


async def reveal(ctx: Context, signup_id: uuid.UUID) -> SignupRevealOut:
    """The full ID numbers and phones of one sign-up, written to the audit log."""
    rt, session, principal = ctx.rt, ctx.session, ctx.caller
    signup = await staff_signup(session, principal, signup_id)
    parties = (await signup_parties(session, [signup.id])).get(signup.id, [])
    record(session, principal, "party.reveal", target_type="signup", target_id=signup.id, office_id=signup.office_id,
           at=rt.clock.now(), positions=[p.position for p in parties])
    await session.commit()
    return SignupRevealOut(
        signup_id=signup.id,
        parties=[PartyRevealed(position=p.position, name=p.name, id_type=p.id_type,
                               id_number=rt.vault.decrypt(p.id_enc, context="party.id_number"),
                               phone=rt.vault.decrypt(p.phone_enc, context="party.phone")) for p in parties],
        contact_phone=(rt.vault.decrypt(signup.contact_phone_enc, context="party.phone")
                       if signup.contact_phone_enc else None))


async def pledges(ctx: Context, event_id: uuid.UUID) -> PledgeList:
    """A charity wedding's pledges and sponsors, with the totals (cancelled and rejected
    sign-ups left out)."""
    session, principal = ctx.session, ctx.caller
    await staff_event(session, principal, event_id)
    signups = list((await session.execute(select(Signup).where(
        Signup.event_id == event_id, Signup.status.notin_(("cancelled", "rejected")),  # type: ignore[attr-defined]
        (Signup.pledge_amount_fen.is_not(None)) | (Signup.sponsor_name.is_not(None)))  # type: ignore[union-attr]
        .order_by(Signup.arrival_no))).scalars())
    parties = await signup_parties(session, [s.id for s in signups])
    entries = [PledgeEntry(
        signup_id=s.id, code=s.code, status=s.status, names=[p.name for p in parties.get(s.id, [])],
        pledge=PledgeOut(amount=Decimal(yuan(s.pledge_amount_fen) or "0"), cause=s.pledge_cause or "")
        if s.pledge_amount_fen else None,
        sponsor=SponsorOut(name=s.sponsor_name) if s.sponsor_name else None) for s in signups]
    total = sum((s.pledge_amount_fen or 0) for s in signups)
    confirmed = sum((s.pledge_amount_fen or 0) for s in signups if s.status in ("confirmed", "attended"))
    tally = Counter("pledge" if s.pledge_amount_fen else "sponsor" for s in signups)
    return PledgeList(event_id=event_id, data=entries, pledges=tally["pledge"], sponsored=tally["sponsor"],
                      total_pledged=Decimal(yuan(total) or "0"), total_pledged_confirmed=Decimal(yuan(confirmed) or "0"))
