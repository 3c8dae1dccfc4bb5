"""Turning submitted parties into what is stored: validated, derived, encrypted, hashed, masked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from booking.errors import InvalidInput, field_error
from booking.i18n import lazy
from booking.parties.identity import Identity, InvalidIdentity, parse_identity, person_key
from booking.parties.rules import PartyFacts
from booking.parties.schemas import PartyIn
from booking.security.pii import PersonalDataVault, mask_id_number, mask_phone


@dataclass(frozen=True, slots=True)
class PreparedParty:
    id: uuid.UUID
    position: int  # 1 or 2
    name: str
    id_type: str
    id_hash: str
    id_enc: str
    id_masked: str
    phone_enc: str
    phone_hash: str
    phone_masked: str
    facts_enc: str
    sex: str  # in memory only: stored encrypted in facts_enc
    birth_date: date
    # as the party answered; never guessed from the ID number's region, which is where the
    # person was first registered, not where their hukou is now (None counts as non-local)
    hukou_province: str | None

    @property
    def facts(self) -> PartyFacts:
        return PartyFacts(self.id_hash, self.sex, self.birth_date)


FACTS_CONTEXT = "party.facts"


def stored_facts(vault: PersonalDataVault, party: Any) -> PartyFacts:
    """A stored party's sex and birth date, for the rules (decrypted: never kept in plain)."""
    sex, born = vault.decrypt(party.facts_enc, context=FACTS_CONTEXT).split("|")
    return PartyFacts(party.id_hash, sex, date.fromisoformat(born))


def id_lookup_hash(vault: PersonalDataVault, identity: Identity) -> str:
    """One person, one key, however the number was written (``person_key``)."""
    return vault.lookup_hash(person_key(identity), kind="id_number")


def prepare_parties(vault: PersonalDataVault, parties: list[PartyIn], today: date) -> list[PreparedParty]:
    """Validate every party and collect every error before refusing (nothing is half-done)."""
    errors = []
    prepared: list[PreparedParty] = []
    for index, party in enumerate(parties):
        try:
            identity = parse_identity(party.id_type, party.id_number, today)
        except InvalidIdentity as exc:
            errors.append(field_error(f"parties.{index}.id_number", exc.message))
            continue
        sex = identity.sex or party.sex
        birth = identity.birth_date or party.birth_date
        if identity.sex and party.sex and party.sex != identity.sex:
            errors.append(field_error(f"parties.{index}.sex", lazy("Does not match the ID number.")))
        if identity.birth_date and party.birth_date and party.birth_date != identity.birth_date:
            errors.append(field_error(f"parties.{index}.birth_date", lazy("Does not match the ID number.")))
        if sex is None:
            errors.append(field_error(f"parties.{index}.sex", lazy("This field is required.")))
        if birth is None:
            errors.append(field_error(f"parties.{index}.birth_date", lazy("This field is required.")))
        elif birth > today or birth.year < 1900:
            errors.append(field_error(f"parties.{index}.birth_date", lazy("The birth date is not possible.")))
        if errors or sex is None or birth is None:
            continue
        prepared.append(PreparedParty(
            id=uuid.uuid4(),
            position=index + 1,
            name=party.name,
            id_type=identity.id_type.value,
            id_hash=id_lookup_hash(vault, identity),
            id_enc=vault.encrypt(identity.number, context="party.id_number"),
            id_masked=mask_id_number(identity.number),
            phone_enc=vault.encrypt(party.phone, context="party.phone"),
            phone_hash=vault.lookup_hash(party.phone, kind="phone"),
            phone_masked=mask_phone(party.phone),
            facts_enc=vault.encrypt(f"{sex}|{birth.isoformat()}", context=FACTS_CONTEXT),
            sex=sex,
            birth_date=birth,
            hukou_province=party.hukou_province,
        ))
    if errors:
        raise InvalidInput(errors=errors)
    return prepared
