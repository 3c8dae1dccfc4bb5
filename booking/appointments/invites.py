"""The content of each kind of invite, in the recipient's language; ``ics.py`` builds the file."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr

from booking.calendar.ics import CalendarEvent, build_calendar, uid_for
from booking.db.models import Appointment
from booking.i18n import gettext
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.offices.directory import OfficeInfo
from booking.settings import Settings


def organizer(office: OfficeInfo, settings: Settings, locale: str) -> tuple[str, str]:
    email = office.email or parseaddr(settings.smtp_from)[1] or "no-reply@booking.invalid"
    return email, office.name(locale)


def appointment_event(appt: Appointment, office: OfficeInfo, settings: Settings, locale: str,
                      attendee: tuple[str, str | None] | None) -> CalendarEvent:
    service = service_title(appt.service, locale)
    lines = [
        gettext("Booking code: {code}", locale).format(code=display_code(appt.code)),
        gettext("Service: {service}", locale).format(service=service),
        gettext("Office: {office}", locale).format(office=office.name(locale)),
        gettext("Address: {address}", locale).format(address=office.address(locale)),
        gettext("Both parties come in person with their identity documents.", locale),
    ]
    if appt.status == "pending_review":
        lines.insert(0, gettext("Awaiting the office's pre-review.", locale))
    email, name = organizer(office, settings, locale)
    status = "CANCELLED" if appt.status == "cancelled" else ("TENTATIVE" if appt.status == "pending_review"
                                                             else "CONFIRMED")
    return CalendarEvent(
        uid=uid_for("appointment", appt.id),
        sequence=appt.sequence,
        start=appt.starts_at,
        end=appt.ends_at,
        timezone=office.timezone,
        summary=f"{service} · {office.name(locale)}",
        description="\n".join(lines),
        location=office.address(locale),
        status=status,
        organizer_email=email,
        organizer_name=name,
        attendees=[attendee] if attendee else [],
        alarms=[timedelta(hours=2)],
        alarm_text=gettext("Your appointment at {office} starts soon.", locale).format(office=office.name(locale)),
        url=f"{settings.public_base_url.rstrip('/')}/api/v1/appointments/{appt.id}",
    )


def appointment_calendar(appt: Appointment, office: OfficeInfo, settings: Settings, locale: str,
                         attendee: tuple[str, str | None] | None, stamp: datetime) -> tuple[bytes, str]:
    """The invite and its METHOD: REQUEST while the appointment stands, CANCEL once
    cancelled; PUBLISH when there is no attendee to ask (a walk-in without an account, a
    clerk's copy). A CANCEL names at least one ATTENDEE (RFC 5546 3.2.5): without the
    couple's address (the clerk's copy), the office's own calendar is the one it removes
    the event from."""
    if appt.status == "cancelled":
        method = "CANCEL"
        attendee = attendee or organizer(office, settings, locale)
    elif attendee is None:
        method = "PUBLISH"
    else:
        method = "REQUEST"
    event = appointment_event(appt, office, settings, locale, attendee)
    return build_calendar([event], method=method, stamp=stamp), method
