"""A unique index's refusal as the caller's problem: flush, and when the database refuses,
roll the transaction back (nothing was written) and raise what the caller should hear."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


def violated(exc: IntegrityError, *names: str) -> bool:
    """Which unique index refused: PostgreSQL names it (in the driver's error, where a
    trigger's refusal names its constraint too), SQLite names its columns in its message."""
    said = [str(exc.orig)]
    current: BaseException | None = exc.orig
    while current is not None:
        if name := getattr(current, "constraint_name", None):
            said.append(str(name))
            break
        current = current.__cause__
    return any(name in text for text in said for name in names)


async def flush_or(session: AsyncSession, problem: BaseException | type[BaseException]) -> None:
    """Flush; any integrity error becomes ``problem`` (the transaction is rolled back)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise problem from exc


async def flush_refusing(session: AsyncSession, problems: Mapping[tuple[str, ...], BaseException]) -> None:
    """Flush; a unique index's refusal becomes its problem (the transaction is rolled back);
    a refusal of another index is raised as it is."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        for names, problem in problems.items():
            if violated(exc, *names):
                raise problem from None
        raise
