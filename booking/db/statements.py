"""Hot-path SQL written with named parameters (``:name``) for the raw asyncpg connection,
which takes numbered ones (``$n``): converted once, at import, and filled by name."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from booking.db.models import BookedParty

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


_ENCODER = msgspec.json.Encoder()


def json_text(value: Any) -> str:
    """A ``json`` parameter's text (asyncpg takes JSON as text)."""
    return _ENCODER.encode(value).decode()


def arguments(names: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    """The statement's arguments in its ``$n`` order."""
    return [values[name] for name in names]


# A booked party's stored columns (appointment, sign-up and ballot-entry parties: the
# ``BookedParty`` of db/models), as the one-statement writes insert them: one array
# parameter per column (``:p_<column>``), unnested into rows ``p``.
PARTY_COLUMNS = ("id", *BookedParty.model_fields)
_PARTY_TYPES = {"id": "uuid", "position": "smallint"}
PARTIES_UNNEST = ("unnest(" + ", ".join(f":p_{c}::{_PARTY_TYPES.get(c, 'text')}[]" for c in PARTY_COLUMNS)
                  + ") AS p(" + ", ".join(PARTY_COLUMNS) + ")")


def party_arrays(parties: list[Any]) -> dict[str, list[Any]]:
    """The ``:p_<column>`` arguments of ``PARTIES_UNNEST`` for prepared parties."""
    return {f"p_{column}": [getattr(party, column) for party in parties] for column in PARTY_COLUMNS}
