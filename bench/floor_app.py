"""The floor under the booking endpoint: a minimal Litestar POST that does only the raw
primitive (DESIGN.md section 8: "a minimal Litestar POST doing only that primitive").

No authentication, validation, encryption, rate limit, outbox or metrics: it reads the JSON
body, takes a seat with the conditional UPDATE and writes one row, in one transaction, on a
plain asyncpg pool. ``bench/release_rush.py`` serves it with uvicorn exactly as ``booking
serve`` is served and drives it with the same client, requests and connections as the real
endpoint, so that the same run shows how much of the gap to the primitive is HTTP and the
framework on this machine, and how much is the service.

Configured from the environment: ``FLOOR_DSN`` (the bench's database, tables
``floor_slot``/``floor_booking`` made by the bench), ``FLOOR_POOL`` (connections).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, Response, get, post

POOL: list[asyncpg.Pool] = []


@asynccontextmanager
async def lifespan(_app: Litestar) -> AsyncIterator[None]:
    size = int(os.environ.get("FLOOR_POOL", "10"))
    POOL.append(await asyncpg.create_pool(os.environ["FLOOR_DSN"], min_size=size, max_size=size))
    try:
        yield
    finally:
        await POOL.pop().close()


@post("/api/v1/appointments")
async def book(data: dict[str, Any]) -> Response[dict[str, str]]:
    async with POOL[0].acquire() as conn, conn.transaction():
        slot = await conn.fetchval("UPDATE floor_slot SET booked = booked + 1 "
                                   "WHERE id = $1 AND booked < capacity RETURNING id", int(data["slot_id"]))
        if slot is None:
            return Response({"code": "slot-full"}, status_code=409, media_type="application/problem+json")
        await conn.execute("INSERT INTO floor_booking (id, slot_id) VALUES ($1, $2)", uuid.uuid4(), slot)
    return Response({"status": "confirmed"}, status_code=201)


@get("/health")
async def health() -> dict[str, str]:  # the bench's client opens its connections with it
    return {"status": "ok"}


app = Litestar(route_handlers=[book, health], lifespan=[lifespan])
