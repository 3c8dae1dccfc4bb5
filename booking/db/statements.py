"""Hot-path SQL written with named parameters (``:name``) for the raw asyncpg connection,
which takes numbered ones (``$n``): converted once, at import, and filled by name."""

from __future__ import annotations

import re
from typing import Any

_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters as asyncpg's ``$n``, and the names in their order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAMETER.sub(number, sql), tuple(names)


def arguments(names: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    """The statement's arguments in its ``$n`` order."""
    return [values[name] for name in names]
