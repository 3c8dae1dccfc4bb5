"""Applying: one party's account books the application visit naming both spouses; the
other confirms with their own account before the booking stands.

The booking takes its seat at once (``awaiting_party``, like a held cross-province
application) for the office's hold (``review_hold_hours``, never past the visit); the
other party confirms with the booking code and their own identity (the ID number the
applicant named, their own phone) from their own account, and the visit is confirmed
then. Until they do, nothing of the booking binds them: the booking names them but holds
neither their one open case nor their one active booking. Without the confirmation in
time the seat goes back (``jobs.expire_unconfirmed``) and the case lapses.

实名 (real name): an account speaks for one person, as for every online booking: it is
bound to the party it applies or confirms as at its first booking (``store.bind_holder``),
and an account bound to someone else can neither apply nor confirm as this person.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.appointments.problems import (
    HolderMismatch,
    NoShowBan,
    NotInJurisdiction,
    PartyAlreadyBooked,
    SlotFullProblem,
    SlotNotBookable,
)
from booking.appointments.services import lifecycle
from booking.appointments.services.hold import hold_until
from booking.appointments.services.noshow import bans
from booking.appointments.services.placement import Party, check_placement
from booking.appointments.store import bind_holder
from booking.context import Context
from booking.db.models import Appointment, DivorceCase, DivorceParty, DivorceVisit, Slot
from booking.db.unique import flush_refusing
from booking.divorce.problems import CaseClosed, NothingToConfirm, NotTheOtherParty, PartyInOpenCase
from booking.divorce.schemas import CaseCreate, CaseOut, ConfirmApplicationIn
from booking.divorce.services.cases import (
    ONE_ACTIVE_BOOKING,
    ONE_OPEN_CASE,
    case_messages,
    lock_case,
    parties_of,
    today,
    visit_party,
    visits_of,
)
from booking.divorce.services.rules import divorce_documents, marriage_record
from booking.divorce.views import case_out
from booking.errors import InvalidInput, NotFound, field_error, invalid
from booking.i18n import lazy
from booking.idempotency import IdempotencyClaim, Replayed
from booking.jurisdiction.periods import office_area
from booking.jurisdiction.policy import PartyHome, assess
from booking.kernel.catalog import DIVORCE
from booking.kernel.codes import new_code, normalise_code
from booking.notifications.outbox import add_rows
from booking.offices.directory import OfficeInfo
from booking.parties.identity import InvalidIdentity, parse_identity
from booking.parties.rules import PartyFacts
from booking.parties.services import PreparedParty, id_lookup_hash, prepare_parties
from booking.runtime import Runtime
from booking.security.pii import mask_id_number

CREATE_SCOPE = "divorce.create"


def _named(rt: Runtime, data: CaseCreate, now: datetime) -> tuple[str, str, str]:
    """The other spouse as named: (hash, encrypted number, masked number)."""
    try:
        identity = parse_identity(data.other.id_type, data.other.id_number, now.astimezone(UTC).date())
    except InvalidIdentity as exc:
        raise InvalidInput(errors=[field_error("other.id_number", exc.message)]) from None
    return (id_lookup_hash(rt.vault, identity), rt.vault.encrypt(identity.number, context="party.id_number"),
            mask_id_number(identity.number))


def _placed(party: PreparedParty | None, id_hash: str, home: str | None, id_type: str) -> Party:
    # a divorce's own rule reads the keyed hash only (two different people): no age rule
    facts = party.facts if party is not None else PartyFacts(id_hash, "", datetime.min.date())
    return Party(facts, PartyHome(home, id_type))


async def take_visit_seat(session: AsyncSession, slot: Slot) -> None:
    if not await lifecycle.take_seat(session, slot.id or 0):
        closed = slot.status != "open"
        await session.rollback()
        raise SlotNotBookable(lazy("The office has closed this slot.")) if closed else SlotFullProblem()


async def refuse_banned(session: AsyncSession, office: OfficeInfo, id_hash: str, now: datetime) -> None:
    """The office's no-show policy, for the party acting (a party's own ban is theirs to know)."""
    ends = await bans(session, [id_hash], office.rules.no_show, now)
    if id_hash in ends:
        ends_on = ends[id_hash].astimezone(office.tz).date().isoformat()
        raise NoShowBan(lazy("You can book again from {date}.", date=ends_on), ban_ends_on=ends_on)


def new_visit(case: DivorceCase, slot: Slot, principal: Principal, kind: str, position: int, office: OfficeInfo,
              locale: str, now: datetime) -> tuple[Appointment, DivorceVisit]:
    appt = Appointment(id=uuid.uuid4(), code=new_code(), office_id=office.id, slot_id=slot.id or 0, service=DIVORCE,
                       account_id=principal.id, booked_by=principal.id, channel="online", status="awaiting_party",
                       starts_at=slot.starts_at, ends_at=slot.ends_at, locale=locale, sequence=0, created_at=now,
                       updated_at=now)
    visit = DivorceVisit(appointment_id=appt.id, case_id=case.id, kind=kind, booked_by_position=position,
                         confirm_by=hold_until(now, office.rules.review_hold_hours, slot.starts_at), created_at=now)
    return appt, visit


async def apply_for_divorce(ctx: Context, data: CaseCreate,
                            key: str | None) -> tuple[int, CaseOut | Replayed]:
    """Book the application visit for the calling party, naming the other: 201 with the case."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    # the policy periods first: their cache may read through a connection of its own, which
    # on SQLite must not wait behind this session's write lock
    periods = await rt.policy.periods()
    claim = IdempotencyClaim.of(rt, principal.id, key, CREATE_SCOPE, data.model_dump(mode="json"))
    if claim is not None and (answer := await claim.take(session, now)) is not None:
        return answer
    notice_locale = data.locale or locale
    applicant = prepare_parties(rt.vault, [data.applicant], now.astimezone(UTC).date())[0]
    other_hash, other_enc, other_masked = _named(rt, data, now)
    if other_hash == applicant.id_hash:
        raise invalid("other.id_number", lazy("The two parties must be different people."))
    slot = await session.get(Slot, data.slot_id)
    office = await rt.offices.of(slot.office_id, session) if slot is not None else None
    if slot is None or office is None:
        raise invalid("slot_id", lazy("No such slot."))
    verdict = check_placement(
        office, slot, DIVORCE, [_placed(applicant, applicant.id_hash, applicant.hukou_province, applicant.id_type),
                                _placed(None, other_hash, data.other.hukou_province, data.other.id_type)],
        now, periods, counter=False, case_visit=True)
    if not await bind_holder(session, principal.id, applicant.id_hash):
        raise HolderMismatch()
    record = await marriage_record(session, applicant.id_hash, other_hash)
    await refuse_banned(session, office, applicant.id_hash, now)
    await take_visit_seat(session, slot)

    case = DivorceCase(id=uuid.uuid4(), office_id=office.id, status="applying",
                       marriage_record=record.kind if record else None, documents=divorce_documents(verdict),
                       created_at=now, updated_at=now)
    appt, visit = new_visit(case, slot, principal, "application", 1, office, notice_locale, now)
    parties = [
        DivorceParty(case_id=case.id, position=1, name=applicant.name, id_type=applicant.id_type,
                     id_hash=applicant.id_hash, id_enc=applicant.id_enc, id_masked=applicant.id_masked,
                     account_id=principal.id, phone_enc=applicant.phone_enc, phone_hash=applicant.phone_hash,
                     phone_masked=applicant.phone_masked, hukou_province=applicant.hukou_province,
                     locale=notice_locale, confirmed_at=now, open=True),
        DivorceParty(case_id=case.id, position=2, name=data.other.name, id_type=data.other.id_type.value,
                     id_hash=other_hash, id_enc=other_enc, id_masked=other_masked,
                     hukou_province=data.other.hukou_province, locale=notice_locale, open=False),
    ]
    session.add(appt)
    session.add(case)
    await session.flush()  # the rows the others refer to first
    session.add_all([*parties, visit, visit_party(applicant, appt.id, 1, principal.id, notice_locale)])
    await flush_refusing(session, {ONE_OPEN_CASE: PartyInOpenCase(), ONE_ACTIVE_BOOKING: PartyAlreadyBooked(party=1)})
    await add_rows(session, case_messages("divorce.applied", case, parties, now, payload={"visit": str(appt.id)}),
                   now)
    body = case_out(case, parties, [(visit, appt)], office, principal, today(now, office))
    if claim is not None:
        claim.settle(201, body)
    await session.commit()
    return 201, body


async def confirm_application(ctx: Context,
                              data: ConfirmApplicationIn) -> CaseOut:
    """The other party confirms the application visit with their own account: the booking
    stands from now (both are told, each by their own contact); the case is theirs to see."""
    rt, session, principal, locale = ctx.rt, ctx.session, ctx.caller, ctx.locale
    now = rt.clock.now()
    periods = await rt.policy.periods()  # before this session writes (see above)
    found = (await session.execute(select(DivorceVisit).join(Appointment, Appointment.id == DivorceVisit.appointment_id)
                                   .where(Appointment.code == normalise_code(data.code),
                                          DivorceVisit.kind == "application"))).scalar_one_or_none()
    if found is None:
        raise NotFound()
    me = prepare_parties(rt.vault, [data.party], now.astimezone(UTC).date())[0]
    parties = await parties_of(session, found.case_id)
    booker = next(p for p in parties if p.position == found.booked_by_position)
    named = next(p for p in parties if p.position != found.booked_by_position)
    if named.id_hash != me.id_hash:
        raise NotFound()  # the booking does not name this person: as if there were none
    if booker.account_id == principal.id:
        raise NotTheOtherParty()
    case, appt = await lock_case(session, found.case_id)
    if not await bind_holder(session, principal.id, me.id_hash):
        await session.rollback()
        raise NotTheOtherParty()
    if case.status != "applying":
        raise CaseClosed()
    if appt is None or appt.id != found.appointment_id or appt.status != "awaiting_party":
        raise NothingToConfirm()
    office = await rt.offices.of(case.office_id, session)
    slot = await session.get(Slot, appt.slot_id)
    assert slot is not None
    homes = [PartyHome(booker.hukou_province, booker.id_type), PartyHome(me.hukou_province, me.id_type)]
    verdict = assess(office_area(office), DIVORCE, homes, slot.local_date, periods)
    if not verdict.may_register:
        raise NotInJurisdiction(reason=verdict.reason)
    await refuse_banned(session, office, me.id_hash, now)
    notice_locale = data.locale or locale
    parties = await parties_of(session, case.id)  # fresh, under the case's lock
    named = next(p for p in parties if p.position == named.position)
    named.account_id, named.name, named.hukou_province = principal.id, me.name, me.hukou_province
    named.phone_enc, named.phone_hash, named.phone_masked = me.phone_enc, me.phone_hash, me.phone_masked
    named.locale, named.confirmed_at, named.open = notice_locale, now, True
    session.add(visit_party(me, appt.id, named.position, principal.id, notice_locale))
    await flush_refusing(session, {ONE_OPEN_CASE: PartyInOpenCase(),
                                   ONE_ACTIVE_BOOKING: PartyAlreadyBooked(party=named.position)})
    found.confirmed_at = now
    case.documents = divorce_documents(verdict)
    case.version += 1
    case.updated_at = now
    await lifecycle.apply(session, [appt], lifecycle.CONFIRM_BY_PARTY, actor=principal, now=now, office=office)
    await session.commit()
    return case_out(case, parties, await visits_of(session, case.id), office, principal, today(now, office))
