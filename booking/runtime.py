"""What every request, job and command needs, built once per process: settings, the
database, the vault, the clock, and each per-process cache, store and gate as a typed field
(built in ``__post_init__``, the same in the API, the worker and the CLI)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from booking.accounts.revocation import AccountGate
from booking.accounts.throttle import LoginThrottle
from booking.applications.documents import DocumentStore
from booking.appointments.soldout import SoldOutMemory
from booking.appointments.store import BookingDraft, booking_store
from booking.background.load import RequestLoad
from booking.clock import Clock
from booking.db.engine import Database
from booking.jurisdiction.periods import PolicyBook
from booking.kernel.ttl import TtlCache
from booking.notifications.channels import Channels
from booking.notifications.inflight import DeliveryGate
from booking.offices.directory import OfficeDirectory
from booking.security.passwords import Passwords
from booking.security.pii import PersonalDataVault
from booking.security.ratelimit import RateLimiter, build_rate_limiter
from booking.settings import Settings
from booking.slots.availability import AvailabilityReader
from booking.slots.facts import SlotFactsCache

OFFICE_PROFILE_SECONDS = 60.0  # an office page's opening hours and phone


class BookingStore(Protocol):
    """The booking write: one statement on PostgreSQL, a transaction elsewhere."""

    # whether the write checks ``draft.account_check`` itself (else the caller checks first)
    checks_accounts: bool

    async def book(self, draft: BookingDraft) -> int: ...  # the seats left


@dataclass(eq=False)
class Runtime:
    settings: Settings
    db: Database
    vault: PersonalDataVault
    passwords: Passwords
    clock: Clock = field(default_factory=Clock)
    redis: Any | None = None  # arq's ArqRedis when BOOKING_REDIS_URL is set
    # the embedded default runs the periodic jobs in-process (tests call them themselves)
    run_in_process_jobs: bool = True

    # --- built once, in __post_init__ ------------------------------------------------------
    offices: OfficeDirectory = field(init=False)
    slot_facts: SlotFactsCache = field(init=False)
    sold_out: SoldOutMemory = field(init=False)
    availability: AvailabilityReader = field(init=False)
    policy: PolicyBook = field(init=False)
    booking_store: BookingStore = field(init=False)
    account_gate: AccountGate = field(init=False)
    rate_limiter: RateLimiter = field(init=False)
    login_throttle: LoginThrottle = field(init=False)
    documents: DocumentStore = field(init=False)
    delivery_gate: DeliveryGate = field(init=False)
    upcoming_ballots: TtlCache[int, list[dict[str, Any]]] = field(init=False)
    office_profiles: TtlCache[int, dict[str, Any]] = field(init=False)
    metrics_snapshot: TtlCache[str, Any] = field(init=False)
    # e-mail and SMS channels: built at the first delivery (the SMS limiter counts in Redis,
    # which is connected after start-up); a test may put its own
    channels: Channels | None = None
    background_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # the API requests being answered now: in-process background work yields to them
    request_load: RequestLoad = field(default_factory=RequestLoad)
    next_retention_sweep: datetime | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self.offices = OfficeDirectory(self.db, ttl_seconds=s.office_cache_seconds)
        self.slot_facts = SlotFactsCache(self.db)
        self.sold_out = SoldOutMemory(s.sold_out_memory_seconds)
        self.availability = AvailabilityReader(self.db, self.offices, cache_seconds=s.availability_cache_seconds)
        self.policy = PolicyBook(self.db)
        self.booking_store = booking_store(self.db)
        self.account_gate = AccountGate(self.db, self.clock, s.account_cache_seconds)
        self.rate_limiter = build_rate_limiter(self)
        self.login_throttle = LoginThrottle(self.rate_limiter.counters, self.vault)
        self.documents = DocumentStore(s.upload_dir, self.vault)
        self.delivery_gate = DeliveryGate(s.notification_concurrency)
        self.upcoming_ballots = TtlCache(s.office_cache_seconds)
        self.office_profiles = TtlCache(OFFICE_PROFILE_SECONDS)
        self.metrics_snapshot = TtlCache(s.metrics_snapshot_seconds)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        settings.ensure_secrets()
        return cls(
            settings=settings,
            db=Database(settings),
            vault=PersonalDataVault(settings.data_key_bytes()),
            passwords=Passwords(settings.password_time_cost, settings.password_memory_cost_kib),
            clock=clock or Clock(),
        )

    async def close(self) -> None:
        try:
            if self.channels is not None:
                await self.channels.close()
        finally:
            await self._close_connections()

    async def _close_connections(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        await self.db.dispose()
