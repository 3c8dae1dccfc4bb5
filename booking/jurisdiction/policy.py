"""Where a couple may register, and whether a clerk must pre-review first.

The question is asked of an office, the two parties and a date: the policy in force on
the appointment date decides (DESIGN.md section 5). This module is the seam the booking
calls; the cross-province work keeps the periods as effective-dated data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

NATIONWIDE_SINCE = date(2025, 5, 10)  # revised 婚姻登记条例 (国务院令第804号): 全国通办


@dataclass(frozen=True, slots=True)
class PartyHome:
    home_province: str | None
    id_type: str


@dataclass(frozen=True, slots=True)
class Assessment:
    may_register: bool
    prereview: bool
    reason: str | None = None  # "nonlocal" | "foreign_or_hmt" | "not_in_jurisdiction"
    documents: tuple[str, ...] = field(default=())


def assess(office_province: str, service: str, parties: list[PartyHome], on: date, *,
           prereview_nonlocal: bool = True) -> Assessment:
    """The nationwide period: any office may register any couple; an office pre-reviews
    couples with neither hukou in its province (their records are not local) when its
    rules say so, and couples where a party is not a mainland resident."""
    if any(p.id_type != "resident_id" for p in parties):
        return Assessment(True, True, "foreign_or_hmt", ("identity_documents",))
    local = any(p.home_province == office_province for p in parties)
    if on >= NATIONWIDE_SINCE:
        if not local and prereview_nonlocal:
            return Assessment(True, True, "nonlocal", ("id_scans", "no_spouse_declarations"))
        return Assessment(True, False)
    if local:
        return Assessment(True, False)
    return Assessment(False, False, "not_in_jurisdiction")
