"""What an event looks like in a calendar: a couple's invite (one UID per sign-up) and the
entries of the office's public feed. ``booking.calendar.ics`` builds the files."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from booking.appointments.invites import organizer
from booking.calendar.ics import CalendarEvent, build_calendar, uid_for
from booking.events.messages import invite_sequence
from booking.i18n import gettext, lazy
from booking.kernel.codes import display_code
from booking.offices.directory import OfficeInfo
from booking.settings import Settings

KIND_TITLES = {
    "collective": lazy("Collective wedding"),
    "charity": lazy("Charity wedding"),
    "memorial": lazy("Memorial wedding"),
}
# sign-ups whose invite stands (REQUEST); cancelled and rejected ones get a CANCEL
INVITED = ("pending_approval", "confirmed", "attended", "no_show")


def _zh(locale: str) -> bool:
    return locale.startswith("zh")


def kind_title(kind: str, locale: str) -> str:
    text = KIND_TITLES.get(kind)
    return text.render(locale) if text else kind


def event_title(event: Any, locale: str) -> str:
    return event.title_zh if _zh(locale) or not event.title_en else event.title_en


def event_venue(event: Any, locale: str) -> str:
    return event.venue_zh if _zh(locale) or not event.venue_en else event.venue_en


def event_address(event: Any, locale: str) -> str:
    return event.address_zh if _zh(locale) or not event.address_en else event.address_en


def event_location(event: Any, locale: str) -> str:
    return gettext("{venue}, {address}", locale).format(venue=event_venue(event, locale),
                                                        address=event_address(event, locale))


def event_description(event: Any, locale: str) -> str:
    text = event.description_zh if _zh(locale) or not event.description_en else event.description_en
    lines = [kind_title(event.kind, locale)]
    if event.status == "cancelled":
        lines.insert(0, gettext("This event has been cancelled.", locale))
    return "\n".join(lines + ([text] if text else []))


def signup_calendar(signup: Any, event: Any, office: OfficeInfo, settings: Settings, locale: str,
                    attendee: tuple[str, str | None] | None, stamp: datetime) -> tuple[bytes, str]:
    """A sign-up's invite and its METHOD. With the couple as attendee: REQUEST while their
    place stands (TENTATIVE while the organiser has not approved it), CANCEL once cancelled
    or rejected or the event is cancelled. Without one (an organiser's copy, or a couple
    with no e-mail address): PUBLISH, a plain calendar entry whose STATUS tells the same."""
    cancelled = event.status == "cancelled" or signup.status not in INVITED
    lines = [
        gettext("Check-in code: {code}", locale).format(code=display_code(signup.code)),
        gettext("Event: {event}", locale).format(event=kind_title(event.kind, locale)),
        gettext("Address: {address}", locale).format(address=event_address(event, locale)),
        gettext("Guests: {guests}", locale).format(guests=signup.guests),
    ]
    if signup.status == "pending_approval":
        lines.insert(0, gettext("Awaiting the organiser's approval.", locale))
    email, name = organizer(office, settings, locale)
    item = CalendarEvent(
        uid=uid_for("signup", signup.id),
        sequence=invite_sequence(event, signup),
        start=event.starts_at,
        end=event.ends_at,
        timezone=event.timezone,
        summary=event_title(event, locale),
        description="\n".join(lines),
        location=event_location(event, locale),
        status="CANCELLED" if cancelled else ("TENTATIVE" if signup.status == "pending_approval" else "CONFIRMED"),
        organizer_email=email,
        organizer_name=name,
        attendees=[attendee] if attendee else [],
        alarms=[timedelta(hours=2)],
        alarm_text=gettext("{event} starts soon.", locale).format(event=event_title(event, locale)),
        url=f"{settings.public_base_url.rstrip('/')}/api/v1/signups/{signup.id}",
    )
    method = "PUBLISH" if not attendee else ("CANCEL" if cancelled else "REQUEST")
    return build_calendar([item], method=method, stamp=stamp), method
