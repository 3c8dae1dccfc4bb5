"""Start-up, the same in the API and in the worker: what the areas register with the shared
parts, in one explicit list: the notices each area renders, the followers of the
appointment lifecycle and the listeners of the seats it frees. (The per-process caches and
stores are the runtime's typed fields, ``booking.runtime``.)"""

from __future__ import annotations

from booking.applications import notices as application_notices
from booking.appointments import notices as appointment_notices
from booking.appointments.services.lifecycle import on_seat_freed, register_follower
from booking.ballots import notices as ballot_notices
from booking.ballots.promotion import refill_from_waitlist
from booking.divorce import notices as divorce_notices
from booking.divorce.services.ending import follow_visits
from booking.events import notices as event_notices
from booking.kernel.catalog import DIVORCE
from booking.notifications.registry import register_notices

# Every area that sends notices: each registers its renderers and phone lookups.
AREA_NOTICES = (appointment_notices, application_notices, event_notices, ballot_notices, divorce_notices)


def register_areas() -> None:
    """What the areas hang on the shared parts (idempotent: each app and worker calls it)."""
    for module in AREA_NOTICES:
        register_notices(module)
    register_follower(DIVORCE, follow_visits)  # a divorce case follows its visits
    on_seat_freed(refill_from_waitlist)  # a seat freed on a drawn ballot's day goes to its waitlist
