"""``booking serve`` freezes its start-up heap once the app has started (a full collection
then skips it); an app built any other way (tests, scripts) leaves the collector alone."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

_PROBE = """
import asyncio, gc, sys
from booking.app import create_app, serve_app

async def main():
    app = serve_app() if sys.argv[1] == "serve" else create_app()
    before = gc.get_freeze_count()
    async with app.lifespan():
        print(before, gc.get_freeze_count())

asyncio.run(main())
"""


def _freeze_counts(kind: str, tmp_path) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update({"BOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'heap.sqlite3'}",
                "BOOKING_DATA_DIR": str(tmp_path), "BOOKING_LOG_LEVEL": "WARNING"})
    subprocess.run([sys.executable, "-m", "booking.cli", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", _PROBE, kind], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    return int(before), int(after)


def test_serving_app_freezes_its_startup_heap(tmp_path):
    before, after = _freeze_counts("serve", tmp_path)
    assert before == 0
    assert after > 10_000  # modules, routes, catalogs: everything start-up built


def test_other_apps_leave_the_collector_alone(tmp_path):
    assert _freeze_counts("plain", tmp_path) == (0, 0)
