"""Start-up, the same in the API and in the worker: the per-process helpers every runtime
carries (caches, the booking store), and what the areas register with the shared parts (the
one explicit list of them): the notices each area renders, the followers of the appointment
lifecycle and the listeners of the seats it frees."""

from __future__ import annotations

from booking.accounts.revocation import AccountGate
from booking.accounts.throttle import LoginThrottle
from booking.applications import notices as application_notices
from booking.appointments import notices as appointment_notices
from booking.appointments.lifecycle import on_seat_freed, register_follower
from booking.appointments.store import booking_store
from booking.ballots import notices as ballot_notices
from booking.ballots.promotion import refill_from_waitlist
from booking.divorce import notices as divorce_notices
from booking.divorce.ending import follow_visits
from booking.events import notices as event_notices
from booking.jurisdiction.periods import PolicyBook
from booking.kernel.catalog import DIVORCE
from booking.notifications.registry import register_notices
from booking.offices.directory import OfficeDirectory
from booking.runtime import Runtime
from booking.security.ratelimit import build_rate_limiter
from booking.slots.availability import AvailabilityReader
from booking.slots.facts import SlotFactsCache

# Every area that sends notices: each registers its renderers and phone lookups.
AREA_NOTICES = (appointment_notices, application_notices, event_notices, ballot_notices, divorce_notices)


def register_areas() -> None:
    """What the areas hang on the shared parts (idempotent: each app and worker calls it)."""
    for module in AREA_NOTICES:
        register_notices(module)
    register_follower(DIVORCE, follow_visits)  # a divorce case follows its visits
    on_seat_freed(refill_from_waitlist)  # a seat freed on a drawn ballot's day goes to its waitlist


def wire(runtime: Runtime) -> None:
    """Register the areas, and attach the shared helpers the hot paths use (caches) to the
    runtime."""
    register_areas()
    directory = OfficeDirectory(runtime.db, ttl_seconds=runtime.settings.office_cache_seconds)
    runtime.extras.setdefault("offices", directory)
    runtime.extras.setdefault("booking_store", booking_store(runtime.db))
    runtime.extras.setdefault("account_gate", AccountGate(runtime.db, runtime.clock,
                                                          runtime.settings.account_cache_seconds))
    limiter = runtime.extras.setdefault("rate_limiter", build_rate_limiter(runtime))
    runtime.extras.setdefault("login_throttle", LoginThrottle(limiter.counters, runtime.vault))
    runtime.extras.setdefault("slot_facts", SlotFactsCache(runtime.db))
    runtime.extras.setdefault("policy", PolicyBook(runtime.db))
    runtime.extras.setdefault(
        "availability",
        AvailabilityReader(runtime.db, directory, cache_seconds=runtime.settings.availability_cache_seconds),
    )
