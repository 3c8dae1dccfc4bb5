"""Turning entries into confirmed appointments: the draw's winners and promoted entries.

The entries' parties stop holding the people first, then the appointments' lifecycle
allots the appointments (``lifecycle.allot``), whose parties hold them from then on: one active hold
per person and service at every moment of the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.services.lifecycle import Placement, SeatRef, allot
from booking.db.models import BallotEntry, BallotEntryParty, Slot
from booking.offices.directory import OfficeInfo


async def seat_entries(session: AsyncSession, office: OfficeInfo, service: str,
                       seats: list[tuple[BallotEntry, Slot]], now: datetime) -> dict[uuid.UUID, uuid.UUID]:
    """Give each entry its slot's seat (the slots are locked by the caller); returns each
    entry's new appointment id. The entries' ``state`` is the caller's to set."""
    if not seats:
        return {}
    entry_ids = [entry.id for entry, _slot in seats]
    parties: dict[uuid.UUID, list[BallotEntryParty]] = {}
    for start in range(0, len(entry_ids), 1000):
        chunk = entry_ids[start:start + 1000]
        for party in (await session.execute(select(BallotEntryParty).where(
                BallotEntryParty.entry_id.in_(chunk)))).scalars():  # type: ignore[attr-defined]
            parties.setdefault(party.entry_id, []).append(party)
        await session.execute(update(BallotEntryParty).where(
            BallotEntryParty.entry_id.in_(chunk)).values(active=False)  # type: ignore[attr-defined]
            .execution_options(synchronize_session=False))
    appointments = {entry.id: uuid.uuid4() for entry, _slot in seats}
    placements = [Placement(slot=SeatRef(slot.id or 0, slot.starts_at, slot.ends_at), account_id=entry.account_id,
                            locale=entry.locale, parties=sorted(parties[entry.id], key=lambda p: p.position),
                            appointment_id=appointments[entry.id]) for entry, slot in seats]
    await allot(session, office, service, placements, now)
    return appointments
