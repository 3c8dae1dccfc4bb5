"""The draw as pure functions: what anyone can recompute from what a ballot publishes.

The recipe (the README and ``GET /api/v1/ballots/{id}`` say the same):

1. The seed is 32 random bytes, published as 64 lowercase hex digits. Before the entry
   window opens only its commitment is public: ``sha256(seed).hexdigest()``.
2. Each entry's key is ``hmac.new(seed, str(entry_id).encode("ascii"), sha256).hexdigest()``
   where ``str(entry_id)`` is the lowercase hyphenated UUID as published.
3. The draw order is the entries sorted by key, ascending (ties, never seen with
   SHA-256, by entry id).
4. Walking that order, each entry takes one seat in the earliest slot of the day, by
   start time, that has a seat left among the times it named (any time when it named
   none). An entry that finds none waits. The entries that took a seat are the winners;
   everyone else waits in draw order.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence

SEED_BYTES = 32


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def draw_key(seed: bytes, entry_id: uuid.UUID) -> str:
    return hmac.new(seed, str(entry_id).encode("ascii"), hashlib.sha256).hexdigest()


def draw_order(seed: bytes, entry_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    return sorted(entry_ids, key=lambda entry_id: (draw_key(seed, entry_id), str(entry_id)))


def allot(order: Sequence[uuid.UUID], times: Mapping[uuid.UUID, Sequence[str] | None],
          seats: Mapping[str, int]) -> dict[uuid.UUID, str]:
    """The winners and the start time ("HH:MM") each takes. ``seats`` maps each of the
    day's start times to its free seats; ``times`` what each entry named (None: any)."""
    left = dict(sorted(seats.items()))
    remaining = sum(left.values())
    won: dict[uuid.UUID, str] = {}
    for entry_id in order:
        if remaining <= 0:
            break
        accepted = times.get(entry_id)
        for start, free in left.items():
            if free > 0 and (not accepted or start in accepted):
                won[entry_id] = start
                left[start] = free - 1
                remaining -= 1
                break
    return won
