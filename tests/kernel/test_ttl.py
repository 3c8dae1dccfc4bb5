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


async def test_an_entry_just_run_out_is_answered_while_one_load_refreshes_it():
    now = [0.0]
    cache: TtlCache[int, str] = TtlCache(5, clock=lambda: now[0], stale_seconds=5)
    release = asyncio.Event()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return f"version {loads}"

    release.set()
    assert await cache.get_or_load(1, load) == "version 1"
    release.clear()
    now[0] = 6.0  # ran out one second ago: within the 5 s it may still be answered
    # 64 callers at once: none waits for the database, one load runs behind them
    answers = await asyncio.gather(*(cache.get_or_load(1, load) for _ in range(64)))
    assert answers == ["version 1"] * 64 and loads == 2
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert cache.get(1) == "version 2"
    assert await cache.get_or_load(1, load) == "version 2" and loads == 2

    now[0] = 6.0 + 5 + 5 + 0.1  # older than ttl + stale: the caller waits for a fresh load
    assert await cache.get_or_load(1, load) == "version 3"

    cache.forget(1)  # an edit in this process: never answered stale
    release.clear()
    waiting = asyncio.ensure_future(cache.get_or_load(1, load))
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    assert await waiting == "version 4"


async def test_without_stale_seconds_a_run_out_entry_waits_for_its_load():
    now = [0.0]
    cache: TtlCache[int, str] = TtlCache(5, clock=lambda: now[0])
    assert await cache.get_or_load(1, _value("old")) == "old"
    now[0] = 5.5
    assert await cache.get_or_load(1, _value("new")) == "new"


async def test_reload_reads_a_live_entry_again():
    cache: TtlCache[int, str] = TtlCache(60)
    assert await cache.get_or_load(1, _value("old")) == "old"
    assert await cache.reload(1, _value("new")) == "new"
    assert cache.get(1) == "new"


def _value(text: str):  # type: ignore[no-untyped-def]
    async def load() -> str:
        return text
    return load
