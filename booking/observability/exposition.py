"""Producing the Prometheus text: this process's metrics, or the sum over every process of
the host (multi-process mode), plus the figures read at scrape time (``snapshot.py``).

Multi-process mode is on when ``PROMETHEUS_MULTIPROC_DIR`` names a directory shared by the
processes of one host (``booking serve --workers N`` makes one by itself). Start every run
with an empty directory (a fresh ``emptyDir`` or tmpfs); counters of processes that have
ended stay in it (their counts still happened), while the per-process gauges of dead
processes (pool use) are forgotten at the next scrape.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(processes: int) -> Callable[[], None]:
    """Before the server starts: with several processes and no directory given, make one
    (removed when the server stops) so their metrics add up. Returns the clean-up."""
    given = multiprocess_dir()
    if given:
        os.makedirs(given, exist_ok=True)
        return lambda: None
    if processes <= 1:
        return lambda: None
    made = tempfile.mkdtemp(prefix="booking-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return lambda: shutil.rmtree(made, ignore_errors=True)


def forget_dead_processes(path: str) -> None:
    """Drop the per-process gauges of processes that are gone (a restarted server worker)."""
    from prometheus_client import multiprocess

    pids = {int(m.group(1)) for f in glob.glob(os.path.join(path, "gauge_live*.db"))
            if (m := _LIVE_GAUGE_FILE.search(os.path.basename(f)))}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:
            pass  # alive, someone else's


def collect_text(*extra: Any) -> bytes:
    """The exposition of the process-wide metrics and of ``extra`` collectors."""
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        forget_dead_processes(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if extra:
        scrape_time = CollectorRegistry(auto_describe=False)
        for collector in extra:
            scrape_time.register(collector)
        text += generate_latest(scrape_time)
    return text


async def exposition(runtime: Any) -> tuple[bytes, str]:
    """What ``GET /metrics`` answers on the API."""
    from booking.observability.pools import sample_pools
    from booking.observability.snapshot import SnapshotCollector, current_snapshot

    sample_pools(runtime.db)  # this process's figures are fresh; the others' are a few seconds old
    snapshot = await current_snapshot(runtime)
    return collect_text(SnapshotCollector(snapshot)), CONTENT_TYPE_LATEST
