"""Reading an appointment record and what goes with it (parties, office). The access rule
and the audited refusal, which hold for any record of an office, are the kernel's
(``booking.kernel.access``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Appointment, AppointmentParty, UserAccount


async def load(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    """For reading; a change locks it with ``lifecycle.lock_for_change``."""
    return await session.get(Appointment, appointment_id)


async def parties_of(session: AsyncSession, appointment_id: uuid.UUID) -> list[AppointmentParty]:
    rows = await session.execute(select(AppointmentParty).where(AppointmentParty.appointment_id == appointment_id)
                                 .order_by(AppointmentParty.position))
    return list(rows.scalars().all())


async def account_email(session: AsyncSession, account_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    if account_id is None:
        return None, None
    account = await session.get(UserAccount, account_id)
    return (account.email, account.name) if account else (None, None)


async def parties_of_many(session: AsyncSession, ids: Sequence[uuid.UUID]
                          ) -> dict[uuid.UUID, list[AppointmentParty]]:
    """The parties of several appointments in one query, in their order."""
    found: dict[uuid.UUID, list[AppointmentParty]] = {i: [] for i in ids}
    if ids:
        for p in (await session.execute(select(AppointmentParty).where(
                AppointmentParty.appointment_id.in_(list(ids)))  # type: ignore[attr-defined]
                .order_by(AppointmentParty.position))).scalars():
            found[p.appointment_id].append(p)
    return found
