"""What a divorce asks beyond the appointment's rules (``placement.py``): that the two
parties are married to each other as far as the office can tell, and which documents
they bring.

What the office can tell: a marriage registration, or a certificate reissue, completed
through this service for the same two people (the keyed hashes of their ID numbers), and
no divorce registered for them since. Without such a record the marriage may well exist
(registered before this service, or elsewhere): then the clerk checks the marriage
certificate at the counter and records that check with the receipt. A divorce registered
for the two since their last marriage record refuses the booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from booking.db.models import Appointment, AppointmentParty, DivorceCase, DivorceParty
from booking.divorce.problems import NotMarriedHere
from booking.jurisdiction.policy import Assessment

MARRIAGE_RECORDS = {"marriage_registration": "registration", "certificate_reissue": "reissue"}
# the couple's documents for a divorce, whatever the period asks of a marriage (婚姻登记条例
# art. 11): identity cards (and household registers where the period wants them), the
# marriage certificates and the agreement; no declaration of having no spouse
NOT_FOR_DIVORCE = frozenset({"no_spouse_declaration"})
DIVORCE_DOCUMENTS = ("marriage_certificate", "divorce_agreement")


@dataclass(frozen=True, slots=True)
class MarriageRecord:
    kind: str  # "registration" | "reissue"
    at: datetime


async def marriage_record(session: AsyncSession, first_hash: str, second_hash: str) -> MarriageRecord | None:
    """The latest completed registration or reissue here for exactly these two people,
    unless a divorce of theirs was registered since; raises ``NotMarriedHere`` then."""
    p1, p2 = aliased(AppointmentParty), aliased(AppointmentParty)
    found = (await session.execute(
        select(Appointment.service, Appointment.completed_at)
        .join(p1, and_(p1.appointment_id == Appointment.id, p1.id_hash == first_hash))
        .join(p2, and_(p2.appointment_id == Appointment.id, p2.id_hash == second_hash))
        .where(Appointment.status == "completed", Appointment.service.in_(list(MARRIAGE_RECORDS)))  # type: ignore[attr-defined]
        .order_by(Appointment.completed_at.desc()).limit(1))).first()  # type: ignore[union-attr]
    d1, d2 = aliased(DivorceParty), aliased(DivorceParty)
    divorced = (await session.execute(
        select(DivorceCase.ended_at)
        .join(d1, and_(d1.case_id == DivorceCase.id, d1.id_hash == first_hash))
        .join(d2, and_(d2.case_id == DivorceCase.id, d2.id_hash == second_hash))
        .where(DivorceCase.status == "registered")
        .order_by(DivorceCase.ended_at.desc()).limit(1))).scalar()  # type: ignore[union-attr]
    if divorced is not None and (found is None or found.completed_at is None or found.completed_at < divorced):
        raise NotMarriedHere()
    if found is None or found.completed_at is None:
        return None
    return MarriageRecord(MARRIAGE_RECORDS[found.service], found.completed_at)


def divorce_documents(verdict: Assessment) -> list[str]:
    return [d for d in verdict.documents if d not in NOT_FOR_DIVORCE] + list(DIVORCE_DOCUMENTS)
