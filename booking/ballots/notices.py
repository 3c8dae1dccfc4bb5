"""What couples are told about their ballot entries. A winner hears through the appointment
it won (the usual confirmation with its invite, then reminders)."""

from __future__ import annotations

import uuid
from typing import Any

from booking.db.models import Ballot, BallotEntry, BallotEntryParty
from booking.i18n import N_
from booking.i18n.formatting import format_date, format_when
from booking.kernel.catalog import service_title
from booking.notifications.registry import RenderContext, Rendered, SubjectGone, Wording, notice, phone_resolver
from booking.offices.directory import office_for
from booking.runtime import Runtime


@phone_resolver("ballot_entry")
async def _party_phone(rt: Runtime, session: Any, party_id: uuid.UUID) -> tuple[str, str] | None:
    party = await session.get(BallotEntryParty, party_id)
    if party is None:
        return None
    return rt.vault.decrypt(party.phone_enc, context="party.phone"), party.phone_hash


async def _facts(ctx: RenderContext) -> tuple[BallotEntry, dict[str, str]]:
    entry = await ctx.session.get(BallotEntry, ctx.row.subject_id)
    ballot = await ctx.session.get(Ballot, entry.ballot_id) if entry is not None else None
    if entry is None or ballot is None:
        raise SubjectGone("entry gone")
    office = await office_for(ctx, ballot.office_id)
    loc = ctx.locale
    return entry, {
        "service": service_title(ballot.service, loc), "office": office.name(loc),
        "date": format_date(ballot.day, loc), "draw": format_when(ballot.draw_at, office.timezone, loc),
        "commitment": ballot.seed_commitment, "entry": str(entry.id),
        "position": str(ctx.row.payload.get("position", "")),
    }


ENTRY_NUMBER = N_("Entry number: {entry}")
ENTERED = Wording(
    N_("Ballot entry received: {service}, {date}"),
    (N_("Your entry in the ballot for {service} at {office} on {date} is received."),
     N_("The draw is at {draw}. Its seed is committed to in advance (SHA-256 {commitment}) and "
        "published at the draw, so anyone can check the result."), ENTRY_NUMBER),
    N_("[Marriage registration] Ballot entry received: {service}, {date}. Draw at {draw}."))
WAITLISTED = Wording(
    N_("Ballot result: on the waitlist for {date}"),
    (N_("The draw for {service} at {office} on {date} did not give you a seat."),
     N_("You are number {position} on the day's waitlist: a seat that comes free goes to the next couple "
        "in the draw order, and you will be told if it is yours."), ENTRY_NUMBER),
    N_("[Marriage registration] Ballot for {service}, {date}: no seat drawn; you are number {position} "
       "on the waitlist."))


async def _while(ctx: RenderContext, state: str, wording: Wording) -> Rendered:
    """The wording, while the entry is still in ``state``."""
    entry, facts = await _facts(ctx)
    if entry.state != state:
        raise SubjectGone(f"no longer {state}")
    return wording.render(ctx.locale, facts)


@notice("ballot.entered")
async def entered(ctx: RenderContext) -> Rendered:
    return await _while(ctx, "entered", ENTERED)


@notice("ballot.waitlisted")
async def waitlisted(ctx: RenderContext) -> Rendered:
    return await _while(ctx, "waitlisted", WAITLISTED)
