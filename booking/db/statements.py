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


# A booked party's stored columns (appointment, sign-up and ballot-entry parties: the
# ``BookedParty`` of db/models/_base.py), as the one-statement writes insert them: one array
# parameter per column (``:p_<column>``), unnested into rows ``p``.
PARTY_COLUMNS = ("id", "position", "name", "id_type", "id_hash", "id_enc", "id_masked", "phone_enc", "phone_hash",
                 "phone_masked", "facts_enc", "hukou_province")
_PARTY_TYPES = {"id": "uuid", "position": "smallint"}
PARTIES_UNNEST = ("unnest(" + ", ".join(f":p_{c}::{_PARTY_TYPES.get(c, 'text')}[]" for c in PARTY_COLUMNS)
                  + ") AS p(" + ", ".join(PARTY_COLUMNS) + ")")


def party_arrays(parties: list[Any]) -> dict[str, list[Any]]:
    """The ``:p_<column>`` arguments of ``PARTIES_UNNEST`` for prepared parties."""
    return {f"p_{column}": [getattr(party, column) for party in parties] for column in PARTY_COLUMNS}
