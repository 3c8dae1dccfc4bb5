"""Running the Alembic migrations from code (CLI, embedded default, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

import booking
from alembic import command


def alembic_config(database_url: str) -> Config:
    here = Path(booking.__file__).resolve().parent.parent
    ini = here / "alembic.ini"
    if not ini.exists():
        ini = Path.cwd() / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "alembic"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """The same from inside a running event loop (Alembic's env.py starts its own loop, so
    it runs in a worker thread)."""
    import asyncio

    await asyncio.to_thread(upgrade, database_url, revision)
