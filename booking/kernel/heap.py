"""The serving process's heap after start-up.

Everything ``booking serve`` builds before its first request (modules, routes, the OpenAPI
document, translation catalogs, compiled templates, the ORM's mappers) lives as long as
the process. CPython's cyclic collector still walks all of it on every full (oldest
generation) collection, and the request load triggers those: measured in
``bench/release_rush.py`` on one server process, full collections of 100 to 220 ms in
the middle of the release rush, each one stalling every request in flight. Frozen, those
objects are left out of every later collection (they are still freed by reference
counting if they ever go); the same collections then took 7 to 13 ms.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, then move all that remains out of the collector's
    walk (``gc.freeze``). Called once, by the serving process, after its start-up."""
    gc.collect()
    gc.freeze()
