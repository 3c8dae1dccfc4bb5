"""What the law requires of the two parties, per service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from booking.i18n import LazyText, lazy
from booking.parties.identity import add_years

# Civil Code art. 1047: men 22, women 20 — reached on the birthday itself.
MARRIAGE_AGE = {"M": 22, "F": 20}


@dataclass(frozen=True, slots=True)
class PartyFacts:
    id_hash: str
    sex: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class Refusal:
    field: str
    message: LazyText


def check_marriage(parties: list[PartyFacts], on: date) -> list[Refusal]:
    refusals = _distinct(parties)
    if refusals:
        return refusals
    if sorted(p.sex for p in parties) != ["F", "M"]:
        return [Refusal("parties", lazy("Marriage registration needs one man and one woman."))]
    for index, party in enumerate(parties):
        minimum = MARRIAGE_AGE[party.sex]
        if add_years(party.birth_date, minimum) > on:
            message = (lazy("A man must be at least 22 on the appointment date.") if party.sex == "M"
                       else lazy("A woman must be at least 20 on the appointment date."))
            refusals.append(Refusal(f"parties.{index}.id_number", message))
    return refusals


def check_reissue(parties: list[PartyFacts], on: date) -> list[Refusal]:
    """Reissuing a certificate: the two spouses of a registered marriage, so two different
    people, one man and one woman, both born before the appointment."""
    refusals = _distinct(parties)
    if not refusals and sorted(p.sex for p in parties) != ["F", "M"]:
        refusals.append(Refusal("parties", lazy("The two parties of a marriage are one man and one woman.")))
    return refusals


def _distinct(parties: list[PartyFacts]) -> list[Refusal]:
    if len(parties) != 2:
        return [Refusal("parties", lazy("Exactly two parties are needed."))]
    if parties[0].id_hash == parties[1].id_hash:
        return [Refusal("parties.1.id_number", lazy("The two parties must be different people."))]
    return []


def check_divorce(parties: list[PartyFacts], on: date) -> list[Refusal]:
    """Divorcing by agreement: two different people (no age rule: they are married
    already). That they are married to each other is ``booking.divorce``'s to check."""
    return _distinct(parties)


SERVICE_RULES = {"marriage_registration": check_marriage, "certificate_reissue": check_reissue,
                 "divorce_registration": check_divorce}


def check_parties(service: str, parties: list[PartyFacts], on: date) -> list[Refusal]:
    return SERVICE_RULES[service](parties, on)
