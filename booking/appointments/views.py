"""The one JSON shape of an appointment (documented by ``AppointmentOut``), built without ORM
or schema objects because the booking hot path returns it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Appointment, AppointmentParty, CrossProvinceApplication
from booking.kernel.parties import party_body
from booking.offices.directory import OfficeInfo
from booking.schemas import iso


def appointment_body(*, id: uuid.UUID, code: str, status: str, office: OfficeInfo, service: str, slot_id: int,
                     starts_at: datetime, ends_at: datetime, channel: str, sequence: int, review_reason: str | None,
                     parties: list[dict[str, Any]], created_at: datetime,
                     application_id: uuid.UUID | None = None,
                     status_reason: str | None = None) -> dict[str, Any]:
    """The one JSON shape of an appointment (``AppointmentOut`` documents it): built
    directly, without ORM or schema objects, because the booking hot path returns it."""
    tz = office.tz
    base = f"/api/v1/appointments/{id}"
    links = {"self": base, "invite": f"{base}/invite.ics", "qr": f"{base}/qr.svg"}
    if application_id is not None:  # the cross-province application that holds this seat
        links["application"] = f"/api/v1/cross-province-applications/{application_id}"
    return {
        "id": str(id), "code": code, "status": status, "office_id": office.id, "service": service,
        "slot_id": slot_id, "starts_at": iso(starts_at, tz), "ends_at": iso(ends_at, tz),
        "cancel_deadline": iso(office.rules.cancel_deadline(starts_at), tz), "channel": channel,
        "sequence": sequence, "review_reason": review_reason, "status_reason": status_reason,
        "parties": parties, "created_at": iso(created_at),
        "links": links,
    }


def appointment_out(appt: Appointment, parties: list[AppointmentParty], office: OfficeInfo,
                    application_id: uuid.UUID | None = None) -> dict[str, Any]:
    return appointment_body(
        id=appt.id, code=appt.code, status=appt.status, office=office, service=appt.service, slot_id=appt.slot_id,
        starts_at=appt.starts_at, ends_at=appt.ends_at, channel=appt.channel, sequence=appt.sequence,
        review_reason=appt.review_reason, parties=[party_body(p) for p in parties], created_at=appt.created_at,
        application_id=application_id, status_reason=appt.status_reason)


async def application_id_of(session: AsyncSession, appt: Appointment) -> uuid.UUID | None:
    """Only an appointment routed to pre-review has an application: others cost no query."""
    if appt.review_reason is None:
        return None
    return (await session.execute(select(CrossProvinceApplication.id).where(
        CrossProvinceApplication.appointment_id == appt.id))).scalar_one_or_none()
