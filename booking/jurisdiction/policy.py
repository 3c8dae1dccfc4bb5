"""Where a couple may register, what they must submit, and whether a clerk pre-reviews.

The question is asked of an office, the two parties and a date, against the policy
periods (办理地规则, DESIGN.md section 5), which are data: ``assess`` is a pure function of
its arguments, so it is tested as a table without a database, and the booking hot path
calls it with periods cached in-process (``booking.jurisdiction.periods``).

Choosing the period: of the periods in force on the appointment date whose scope holds
the office's area and the service, the latest to take effect governs (on a tie, the one
added last). That is how a newer act supersedes an older one where they overlap, as the
revised 婚姻登记条例 (2025-05-10) overtook the last weeks of the 2023 extension. Where no
period governs, the standing rule of the 2003 婚姻登记条例 applies: an office registers
couples of whom at least one party's hukou (户籍) is in its province.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from booking.i18n import LazyText, lazy


@dataclass(frozen=True, slots=True)
class DocumentKind:
    per_party: bool  # each party submits one (else one for the couple)
    title: LazyText


DOCUMENT_KINDS: Final[dict[str, DocumentKind]] = {
    "id_card": DocumentKind(True, lazy("Resident identity card")),
    "household_register": DocumentKind(True, lazy("Household register (hukou booklet)")),
    "residence_permit": DocumentKind(False, lazy("Residence permit issued in the office's area")),
    "no_spouse_declaration": DocumentKind(
        True, lazy("Signed declaration of no spouse and no prohibited kinship with the other party")),
    "identity_document": DocumentKind(True, lazy("Passport or travel permit")),
    # a divorce (婚姻登记条例 art. 11): the marriage certificates and the signed agreement
    "marriage_certificate": DocumentKind(True, lazy("Marriage certificate")),
    "divorce_agreement": DocumentKind(False, lazy("Divorce agreement signed by both parties")),
    # never required by a period: what a clerk asks for besides
    "other": DocumentKind(False, lazy("Other document")),
}

# The 2003 婚姻登记条例 before any pilot: the office of either party's hukou, with the
# household registers and identity cards.
STANDING_DOCUMENTS: Final = ("id_card", "household_register")
# Municipalities directly under the central government: their districts share no
# prefecture-level prefix, so a residence permit anywhere in them counts as local.
MUNICIPALITIES: Final = frozenset({"11", "12", "31", "50"})


@dataclass(frozen=True, slots=True)
class Period:
    """One policy period as ``assess`` sees it (the table rows, flattened)."""

    id: int | None
    code: str
    effective_from: date
    effective_to: date | None  # inclusive; None = until changed
    rule: str  # "local_hukou" | "residence_permit" | "nationwide"
    documents_local: tuple[str, ...]
    documents_nonlocal: tuple[str, ...]
    prereview: bool
    areas: frozenset[tuple[str, str]]  # (service, GB/T 2260 prefix)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def covers(self, office: OfficeArea, service: str) -> bool:
        """The office's division starts with an area code of the scope (three set lookups:
        this runs on every booking)."""
        where = office.division_code or office.province_code
        return any((service, where[:n]) in self.areas for n in (2, 4, 6) if len(where) >= n)


@dataclass(frozen=True, slots=True)
class OfficeArea:
    province_code: str
    # GB/T 2260 six digits; without it only province-wide scopes can match the office
    division_code: str | None = None
    # in the nationwide period an office may still pre-review couples with neither hukou local
    prereview_nonlocal: bool = True


@dataclass(frozen=True, slots=True)
class PartyHome:
    home_province: str | None
    id_type: str = "resident_id"


class Unanswered:
    def __repr__(self) -> str:
        return "UNANSWERED"


# The couple has not said whether a party holds a residence permit (a plain booking asks
# nothing): under the residence-permit route the clerk checks it in the pre-review.
UNANSWERED: Final = Unanswered()


@dataclass(frozen=True, slots=True)
class Assessment:
    may_register: bool
    prereview: bool
    # "nonlocal" | "residence_permit" | "foreign_or_hmt" (why a clerk reviews), or why not:
    # "not_in_jurisdiction" | "residence_permit_required"
    reason: str | None = None
    documents: tuple[str, ...] = field(default=())
    period: Period | None = None


def governing_period(office: OfficeArea, service: str, on: date, periods: tuple[Period, ...] | list[Period]
                     ) -> Period | None:
    candidates = [p for p in periods if p.in_force(on) and p.covers(office, service)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.effective_from, p.id or 0))


def permit_issued_here(permit_division: str, office: OfficeArea) -> bool:
    """A residence permit counts where it was issued: the office's prefecture-level city
    (its first four digits), or anywhere in the province for a municipality or an office
    whose division is not recorded."""
    if office.province_code in MUNICIPALITIES or not office.division_code or len(permit_division) < 4:
        return permit_division[:2] == office.province_code
    return permit_division[:4] == office.division_code[:4]


def assess(office: OfficeArea, service: str, parties: list[PartyHome], on: date,
           periods: tuple[Period, ...] | list[Period], *,
           residence_permit: str | None | Unanswered = UNANSWERED) -> Assessment:
    """May these two parties register ``service`` at ``office`` on ``on``; which documents;
    must a clerk pre-review?

    ``residence_permit`` is the GB/T 2260 division where a party's residence permit
    (居住证) was issued, None when neither party holds one, or ``UNANSWERED``.
    """
    period = governing_period(office, service, on, periods)
    if any(p.id_type != "resident_id" for p in parties):
        # Not a mainland resident: the office checks the identity documents first, in
        # every period (the other rules are written for hukou holders).
        return Assessment(True, True, "foreign_or_hmt", ("identity_document",), period)
    local = any(p.home_province == office.province_code for p in parties)
    if period is None:
        if local:
            return Assessment(True, False, None, STANDING_DOCUMENTS)
        return Assessment(False, False, "not_in_jurisdiction")
    if local:
        return Assessment(True, False, None, period.documents_local, period)
    if period.rule == "nationwide":
        prereview = period.prereview and office.prereview_nonlocal
        return Assessment(True, prereview, "nonlocal" if prereview else None, period.documents_nonlocal, period)
    if period.rule == "residence_permit":
        if isinstance(residence_permit, Unanswered) or (
                residence_permit is not None and permit_issued_here(residence_permit, office)):
            return Assessment(True, period.prereview, "residence_permit" if period.prereview else None,
                              period.documents_nonlocal, period)
        return Assessment(False, False, "residence_permit_required", (), period)
    return Assessment(False, False, "not_in_jurisdiction", (), period)


def missing_documents(required: list[str] | tuple[str, ...], present: list[tuple[str, int | None]]
                      ) -> list[tuple[str, int | None]]:
    """What is still to upload: (kind, party) for per-party kinds, (kind, None) for the
    couple's. ``present`` is (kind, party) of the documents uploaded so far; a couple's
    document counts whichever party it names."""
    have = set(present)
    kinds_present = {kind for kind, _ in present}
    missing: list[tuple[str, int | None]] = []
    for kind in required:
        spec = DOCUMENT_KINDS.get(kind)
        if spec is not None and spec.per_party:
            missing += [(kind, party) for party in (1, 2) if (kind, party) not in have]
        elif kind not in kinds_present:
            missing.append((kind, None))
    return missing
