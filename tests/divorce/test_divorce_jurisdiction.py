"""Where a divorce may be registered, as the policy periods' data say (DESIGN.md 5): the 2021
pilot covered divorce in five provinces only, the 2023 extension in 21, and since
2025-05-10 every office registers divorces nationwide."""

from __future__ import annotations

from datetime import date

import pytest

from booking.jurisdiction.periods import PolicyBook
from booking.jurisdiction.policy import OfficeArea, PartyHome, assess
from booking.jurisdiction.seed import EXTENSION, PILOT_BOTH

DIVORCE = "divorce_registration"
NONLOCAL = [PartyHome("11"), PartyHome("11")]  # both from Beijing, registering elsewhere


@pytest.mark.asyncio
async def test_the_divorce_scopes_are_data_in_a_new_database(runtime):
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT p.code, a.area_code FROM jurisdiction_area a JOIN jurisdiction_period p "
                                "ON p.id = a.period_id WHERE a.service = $1", DIVORCE)
    scopes: dict[str, set[str]] = {}
    for row in rows:
        scopes.setdefault(row["code"], set()).add(row["area_code"])
    assert scopes["pilot-2021"] == set(PILOT_BOTH) == {"21", "37", "44", "50", "51"}
    assert scopes["extension-2023"] == set(EXTENSION) and len(EXTENSION) == 21
    assert len(scopes["nationwide-2025"]) == 31
    periods = await PolicyBook(runtime.db).periods()

    def may(province: str, on: date) -> bool:
        return assess(OfficeArea(province), DIVORCE, NONLOCAL, on, periods, residence_permit=province).may_register

    assert may("44", date(2022, 3, 1)) and not may("32", date(2022, 3, 1))  # Jiangsu piloted marriage only
    assert may("32", date(2024, 3, 1)) and not may("62", date(2024, 3, 1))  # Gansu not in the extension
    assert may("62", date(2026, 3, 1))  # nationwide
