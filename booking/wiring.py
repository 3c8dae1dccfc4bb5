"""The per-process helpers every runtime carries (caches, the booking store), attached the
same way in the API and in the worker, so code behaves alike in both."""

from __future__ import annotations

from booking.accounts.revocation import AccountGate
from booking.accounts.throttle import LoginThrottle
from booking.appointments.lifecycle import register_follower
from booking.appointments.soldout import SoldOutMemory
from booking.appointments.store import booking_store
from booking.divorce.ending import follow_visits
from booking.jurisdiction.periods import PolicyBook
from booking.offices.catalog import DIVORCE
from booking.offices.directory import OfficeDirectory
from booking.runtime import Runtime
from booking.security.ratelimit import build_rate_limiter
from booking.slots.availability import AvailabilityReader
from booking.slots.facts import SlotFactsCache


def wire(runtime: Runtime) -> None:
    """Attach the shared helpers the hot paths use (caches) to the runtime, and the
    followers of the appointment lifecycle (a divorce case follows its visits)."""
    register_follower(DIVORCE, follow_visits)
    directory = OfficeDirectory(runtime.db, ttl_seconds=runtime.settings.office_cache_seconds)
    runtime.extras.setdefault("offices", directory)
    runtime.extras.setdefault("booking_store", booking_store(runtime.db))
    runtime.extras.setdefault("account_gate", AccountGate(runtime.db, runtime.clock,
                                                          runtime.settings.account_cache_seconds))
    limiter = runtime.extras.setdefault("rate_limiter", build_rate_limiter(runtime))
    runtime.extras.setdefault("login_throttle", LoginThrottle(limiter.counters, runtime.vault))
    runtime.extras.setdefault("slot_facts", SlotFactsCache(runtime.db))
    runtime.extras.setdefault("sold_out", SoldOutMemory(runtime.settings.sold_out_memory_seconds))
    runtime.extras.setdefault("policy", PolicyBook(runtime.db))
    runtime.extras.setdefault(
        "availability",
        AvailabilityReader(runtime.db, directory, cache_seconds=runtime.settings.availability_cache_seconds),
    )
