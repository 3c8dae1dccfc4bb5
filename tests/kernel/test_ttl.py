"""The per-process cache's single-flight load: concurrent misses of one key load it once."""

from __future__ import annotations

import asyncio

import pytest

from booking.kernel.ttl import MISSING, TtlCache

pytestmark = pytest.mark.asyncio


async def test_concurrent_misses_load_once_and_share_the_value():
    cache: TtlCache[int, str] = TtlCache(60)
    loads = 0
    release = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "office 7"

    waiting = [asyncio.ensure_future(cache.get_or_load(7, load)) for _ in range(64)]
    await asyncio.sleep(0)  # every caller has asked
    release.set()
    assert await asyncio.gather(*waiting) == ["office 7"] * 64
    assert loads == 1 and cache.get(7) == "office 7"


async def test_a_forget_during_the_load_keeps_its_value_out_and_failures_are_not_kept():
    cache: TtlCache[int, str] = TtlCache(60)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "before the edit"

    pending = asyncio.ensure_future(cache.get_or_load(1, slow))
    await asyncio.sleep(0)
    cache.forget(1)  # an edit while the old value is being read
    release.set()
    assert await pending == "before the edit"
    assert cache.get(1) is MISSING  # the next caller reads again

    async def failing() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await cache.get_or_load(2, failing)

    async def ok() -> str:
        return "back"

    assert await cache.get_or_load(2, ok) == "back"


async def test_a_caller_that_gives_up_does_not_cancel_the_others_load():
    cache: TtlCache[int, str] = TtlCache(60)
    release = asyncio.Event()

    async def load() -> str:
        await release.wait()
        return "slot"

    first = asyncio.ensure_future(cache.get_or_load(3, load))
    second = asyncio.ensure_future(cache.get_or_load(3, load))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "slot"
    assert first.cancelled()


async def test_a_caller_after_forget_does_not_join_the_load_from_before():
    """An office edited while its old record was being loaded: a request after the edit
    starts a load of its own instead of waiting for the stale one."""
    cache: TtlCache[int, str] = TtlCache(60)
    stored = "before the edit"
    first_release, first_read = asyncio.Event(), asyncio.Event()

    async def load() -> str:
        value = stored
        if value == "before the edit":
            first_read.set()
            await first_release.wait()
        return value

    old = asyncio.ensure_future(cache.get_or_load(7, load))
    await first_read.wait()  # the first load has read the old record and waits
    stored = "after the edit"
    cache.forget(7)
    # joining the old load would wait for it forever (it is held until after this line)
    assert await asyncio.wait_for(cache.get_or_load(7, load), 10) == "after the edit"
    first_release.set()
    assert await old == "before the edit"  # its own caller gets what it read ...
    assert cache.get(7) == "after the edit"  # ... but the cache keeps the new value
