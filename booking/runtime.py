"""What every request, job and command needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from booking.clock import Clock
from booking.db.engine import Database
from booking.security.passwords import Passwords
from booking.security.pii import PersonalDataVault
from booking.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    vault: PersonalDataVault
    passwords: Passwords
    clock: Clock = field(default_factory=Clock)
    redis: Any | None = None  # arq's ArqRedis when BOOKING_REDIS_URL is set
    extras: dict[str, Any] = field(default_factory=dict)

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
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        await self.db.dispose()
