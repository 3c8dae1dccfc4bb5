"""All table models; importing this module registers them on ``SQLModel.metadata``."""

from booking.db.models.accounts import UserAccount
from booking.db.models.audit import AuditEntry
from booking.db.models.offices import Office
from booking.db.models.schedules import OfficeDay, ScheduleWindow
from booking.db.models.slots import Slot

__all__ = ["AuditEntry", "Office", "OfficeDay", "ScheduleWindow", "Slot", "UserAccount"]
