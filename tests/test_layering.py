"""The shape of ``booking/``, checked by walking its imports (nothing is imported to check).

- No import circle between ``booking`` modules, counting imports inside functions (a
  lazy import that only breaks a circle is still a circle). Imports under
  ``if TYPE_CHECKING:`` are annotations only and do not count.
- No private name (``_x``) imported from another package.
- The kernel (``booking.kernel``) and notifications import no area (the access guards
  aside); areas register what
  they render at start-up, in ``booking.background.wiring``.
- The API (everything but ``booking.background`` and the CLI) does not import the worker
  (``booking.background.worker``, arq's).
- The appointment aggregate lives in ``booking.appointments``; ``booking.applications``
  builds on it, never the other way.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "booking"
AREAS = {"accounts", "applications", "appointments", "audit", "ballots", "calendar", "divorce", "events",
         "jurisdiction", "offices", "parties", "peakdays", "schedules", "slots"}


def module_files() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_files()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return skip


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every ``booking`` import."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.startswith("booking")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("booking"):
            found += [(node.module, alias.name) for alias in node.names]
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, taken in imports_of(path):
            target = f"{module}.{taken}" if taken and f"{module}.{taken}" in MODULES else _resolve(module)
            if target and target != name:
                edges[name].add(target)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def package_of(module: str) -> str:
    """``booking.appointments.store`` -> ``booking.appointments``; top-level modules are
    their own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_the_walker_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_no_private_name_imported_across_packages():
    offenders = []
    for name, path in MODULES.items():
        for module, taken in imports_of(path):
            if taken and taken.startswith("_") and not taken.startswith("__") and package_of(module) != package_of(name):
                offenders.append(f"{name}: from {module} import {taken}")
    assert offenders == []


# Who may do what: the guards every package's controllers use, not an area's business.
SHARED = {"booking.accounts.guards", "booking.accounts.principal"}


def _importers_of(prefixes: tuple[str, ...], into: str) -> list[str]:
    return sorted(f"{name} -> {target}" for name, targets in graph().items() if name.startswith(into)
                  for target in targets if target.startswith(prefixes) and target not in SHARED)


def test_notifications_know_no_area():
    areas = tuple(f"booking.{area}" for area in AREAS)
    assert _importers_of(areas, "booking.notifications") == []


def test_the_kernel_imports_no_area():
    areas = tuple(f"booking.{area}" for area in AREAS)
    assert _importers_of(areas + ("booking.notifications", "booking.background", "booking.web"),
                         "booking.kernel") == []


def test_the_api_does_not_import_the_worker():
    edges = graph()
    allowed = ("booking.background", "booking.cli")
    assert sorted(f"{name} -> {target}" for name, targets in edges.items() if not name.startswith(allowed)
                  for target in targets if target == "booking.background.worker") == []


def test_appointments_import_nothing_of_applications():
    assert _importers_of(("booking.applications",), "booking.appointments") == []
