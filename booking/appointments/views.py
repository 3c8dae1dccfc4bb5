"""An appointment's answer (``AppointmentOut``) from its stored record."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.appointments.schemas import AppointmentOut
from booking.db.models import Appointment, AppointmentParty, CrossProvinceApplication
from booking.offices.directory import OfficeInfo
from booking.parties.schemas import PartyOut


def appointment_out(appt: Appointment, parties: list[AppointmentParty], office: OfficeInfo,
                    application_id: uuid.UUID | None = None) -> AppointmentOut:
    return AppointmentOut.of(
        id=appt.id, code=appt.code, status=appt.status, office=office, service=appt.service, slot_id=appt.slot_id,
        starts_at=appt.starts_at, ends_at=appt.ends_at, channel=appt.channel, sequence=appt.sequence,
        review_reason=appt.review_reason, parties=[PartyOut.of(p) for p in parties], created_at=appt.created_at,
        application_id=application_id, status_reason=appt.status_reason)


async def application_id_of(session: AsyncSession, appt: Appointment) -> uuid.UUID | None:
    """Only an appointment routed to pre-review has an application: others cost no query."""
    if appt.review_reason is None:
        return None
    return (await session.execute(select(CrossProvinceApplication.id).where(
        CrossProvinceApplication.appointment_id == appt.id))).scalar_one_or_none()
