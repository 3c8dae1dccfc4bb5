"""The appointment aggregate (its cross-province seat hold included) lives in
``booking.appointments``; ``booking.applications`` builds on it, never the other way."""

from __future__ import annotations

import ast
from pathlib import Path

APPOINTMENTS = Path(__file__).resolve().parent.parent / "booking" / "appointments"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):  # lazy imports inside functions too
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_appointments_import_nothing_of_applications():
    offenders = {path.name: sorted(m for m in imported_modules(path) if m.startswith("booking.applications"))
                 for path in APPOINTMENTS.glob("*.py")}
    assert {name: mods for name, mods in offenders.items() if mods} == {}
