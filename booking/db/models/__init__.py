"""All table models; importing this module registers them on ``SQLModel.metadata``."""

from booking.db.models._base import BookedParty, PartyIdentity, booked_party_values
from booking.db.models.accounts import RecoveryCode, RevokedToken, UserAccount
from booking.db.models.applications import ApplicationDocument, CrossProvinceApplication
from booking.db.models.appointments import (
    ACTIVE_STATUSES,
    APPOINTMENT_STATUSES,
    Appointment,
    AppointmentParty,
    AppointmentStatus,
)
from booking.db.models.audit import AuditEntry
from booking.db.models.ballots import (
    BALLOT_STATES,
    ENTRY_STATES,
    Ballot,
    BallotEntry,
    BallotEntryParty,
    OfficePeakDay,
)
from booking.db.models.calendars import CalendarFeed
from booking.db.models.divorce import DivorceCase, DivorceParty, DivorceVisit
from booking.db.models.events import (
    ACTIVE_SIGNUP_STATUSES,
    EVENT_KINDS,
    HOLDING_STATUSES,
    SIGNUP_STATUSES,
    Event,
    Signup,
    SignupParty,
)
from booking.db.models.idempotency import IdempotencyRecord
from booking.db.models.jurisdiction import JurisdictionArea, JurisdictionPeriod
from booking.db.models.notifications import Notification
from booking.db.models.offices import Office
from booking.db.models.schedules import OfficeDay, ScheduleWindow
from booking.db.models.slots import ClosedReason, Slot

__all__ = [
    "BookedParty",
    "PartyIdentity",
    "booked_party_values",
    "ACTIVE_SIGNUP_STATUSES",
    "ACTIVE_STATUSES",
    "APPOINTMENT_STATUSES",
    "ApplicationDocument",
    "Appointment",
    "AppointmentParty",
    "AppointmentStatus",
    "AuditEntry",
    "BALLOT_STATES",
    "Ballot",
    "BallotEntry",
    "BallotEntryParty",
    "CalendarFeed",
    "ClosedReason",
    "CrossProvinceApplication",
    "DivorceCase",
    "DivorceParty",
    "DivorceVisit",
    "ENTRY_STATES",
    "EVENT_KINDS",
    "Event",
    "HOLDING_STATUSES",
    "IdempotencyRecord",
    "JurisdictionArea",
    "JurisdictionPeriod",
    "Notification",
    "Office",
    "RecoveryCode",
    "RevokedToken",
    "OfficeDay",
    "OfficePeakDay",
    "SIGNUP_STATUSES",
    "ScheduleWindow",
    "Signup",
    "SignupParty",
    "Slot",
    "UserAccount",
]
