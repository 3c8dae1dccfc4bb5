"""The shared counters' batching: the counts asked for in one turn of the event loop reach
Redis as one script call, each caller gets its own counts, and a Redis failure leaves every
caller of the turn counted in the process instead."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from booking.security.counters import PREFIX, Counters
from tests.conftest import REDIS_URL
from tests.helpers import record_calls


@pytest.mark.asyncio
async def test_the_counts_of_one_turn_reach_redis_in_one_call():
    redis = Redis.from_url(REDIS_URL)
    try:
        counters = Counters(lambda: redis)
        tag = secrets.token_hex(4)
        await counters.incr([(f"t:{tag}:warm", 60)])  # the script is loaded on the server
        sent = record_calls(redis, "evalsha")
        shared = (f"t:{tag}:shared", 60)
        results = await asyncio.gather(*(counters.incr([shared, (f"t:{tag}:own{i}", 30)]) for i in range(20)))
        assert len(sent) == 1
        # the shared key was counted once per caller, in some order; each own key once
        assert sorted(r[0] for r in results) == list(range(1, 21))
        assert [r[1] for r in results] == [1] * 20
        assert 50 < await redis.ttl(PREFIX + shared[0]) <= 60
        assert 20 < await redis.ttl(PREFIX + f"t:{tag}:own3") <= 30
        # a later turn is another call, on the same counts
        assert await counters.incr([shared]) == [21]
        assert len(sent) == 2
    finally:
        await redis.aclose()


@pytest.mark.asyncio
async def test_when_redis_fails_every_caller_of_the_turn_counts_in_the_process():
    nobody = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.1)
    try:
        counters = Counters(lambda: nobody)
        results = await asyncio.gather(*(counters.incr([("k", 60)]) for _ in range(5)))
        assert sorted(r[0] for r in results) == [1, 2, 3, 4, 5]
        assert await counters.local.get(["k"]) == [5]
    finally:
        await nobody.aclose()


@pytest.mark.asyncio
async def test_a_send_cancelled_before_it_ran_leaves_no_caller_waiting():
    redis = Redis.from_url(REDIS_URL)
    try:
        counters = Counters(lambda: redis)
        callers = [asyncio.ensure_future(counters.incr([(f"t:{secrets.token_hex(4)}", 60)])) for _ in range(3)]
        await asyncio.sleep(0)  # the callers have asked; the turn's send is scheduled
        await asyncio.sleep(0)  # the send task exists, not run yet
        sending = list(counters._batcher._sending)
        assert sending
        for task in sending:
            task.cancel()
        # they fall back to the process's counters instead of waiting for ever
        assert await asyncio.wait_for(asyncio.gather(*callers), 1) == [[1], [1], [1]]
    finally:
        await redis.aclose()
