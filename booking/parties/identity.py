"""Identity documents of a party (当事人) and what can be derived from them.

Resident identity card numbers (居民身份证, GB 11643-1999) are validated completely:
18 characters, a province-level region code, a real birth date, a sequence code (odd for
men, even for women), and the ISO 7064 MOD 11-2 check character. Full-width characters
are folded to ASCII first (NFKC), so ``４４０１…`` is the same person as ``4401…`` and hashes
the same: the one-booking rule cannot be sidestepped by typing the number differently.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from booking.i18n import LazyText, lazy
from booking.kernel.idnumbers import check_character
from booking.kernel.regions import HMT_PERMIT_REGIONS, PROVINCES


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证 (GB 11643 numbers, region 81/82/83)
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    PASSPORT = "passport"  # 护照


class InvalidIdentity(ValueError):
    def __init__(self, message: LazyText) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True, slots=True)
class Identity:
    id_type: IdType
    number: str  # normalised: ASCII, upper case
    sex: str | None  # "M" / "F", derived where the number carries it
    birth_date: date | None
    region: str | None  # two-digit province code carried by the number, if any


def normalise(raw: str) -> str:
    """Full-width forms fold to ASCII (NFKC); digits of other scripts (Arabic-Indic,
    Devanagari...) do not, and are refused below: Python's ``isdigit``/``int`` accept
    them, so without this one person could hash to many and hold many bookings."""
    return unicodedata.normalize("NFKC", raw).strip().upper().replace(" ", "")


_GB11643_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _gb11643(number: str, today: date, *, permit: bool) -> Identity:
    if len(number) == 15 and _ascii_digits(number):
        raise InvalidIdentity(lazy("15-digit first-generation ID numbers are no longer valid; use the 18-digit number."))
    if len(number) != 18:
        raise InvalidIdentity(lazy("An ID number has 18 characters."))
    if not _GB11643_SHAPE.fullmatch(number):
        raise InvalidIdentity(lazy("An ID number is 17 digits followed by a digit or X."))
    region = number[:6]
    if permit:
        if region not in HMT_PERMIT_REGIONS:
            raise InvalidIdentity(lazy("The region code of the ID number is not valid."))
        province = HMT_PERMIT_REGIONS[region]
    else:
        province = region[:2]
        if province not in PROVINCES or region[2:] == "0000":
            raise InvalidIdentity(lazy("The region code of the ID number is not valid."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentity(lazy("The birth date in the ID number is not a real date.")) from None
    if born.year < 1900 or born > today:
        raise InvalidIdentity(lazy("The birth date in the ID number is not possible."))
    if number[14:17] == "000":
        raise InvalidIdentity(lazy("The sequence code of the ID number is not valid."))
    if check_character(number[:17]) != number[17]:
        raise InvalidIdentity(lazy("The check character of the ID number does not match."))
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return Identity(IdType.HMT_RESIDENCE_PERMIT if permit else IdType.RESIDENT_ID, number, sex, born, province)


# Travel permits: the permanent number, then optionally a two-digit count of issues
# (H12345678 and H1234567801 are the same person's permit, issued the first time).
_HK_MACAO = re.compile(r"^[HM][0-9]{8}([0-9]{2})?$")
_TAIWAN = re.compile(r"^[0-9]{8}([0-9]{2})?$")
_PERMANENT_LENGTH = {IdType.HK_MACAO_PERMIT: 9, IdType.TAIWAN_PERMIT: 8}
_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")
# A resident ID number, of either generation: accepted as a resident ID only, so one
# person cannot book a second time as a "passport" (and skip the age rule on the way).
_RESIDENT_ID_SHAPE = re.compile(r"^([0-9]{17}[0-9X]|[0-9]{15})$")


def parse_identity(id_type: IdType | str, raw: str, today: date) -> Identity:
    """Validate a document number; raises ``InvalidIdentity`` with a translatable reason."""
    kind = IdType(id_type)
    number = normalise(raw)
    if kind is IdType.RESIDENT_ID:
        return _gb11643(number, today, permit=False)
    if kind is IdType.HMT_RESIDENCE_PERMIT:
        return _gb11643(number, today, permit=True)
    if kind is IdType.PASSPORT and _RESIDENT_ID_SHAPE.match(number):
        raise InvalidIdentity(lazy("This is a resident identity card number: give it as a resident ID."))
    pattern = {IdType.HK_MACAO_PERMIT: _HK_MACAO, IdType.TAIWAN_PERMIT: _TAIWAN, IdType.PASSPORT: _PASSPORT}[kind]
    if not pattern.match(number):
        raise InvalidIdentity(lazy("The document number has the wrong format."))
    return Identity(kind, number, None, None, None)


def person_key(identity: Identity) -> str:
    """What names one person: the document's kind and its permanent number (a travel
    permit's issue count left off). Hashed, it is the key of the one-active-booking rule
    and of no-show bans."""
    length = _PERMANENT_LENGTH.get(identity.id_type)
    return f"{identity.id_type.value}:{identity.number[:length] if length else identity.number}"


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 1 March in common years
    (a person born on 29 February comes of age on 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def age_on(birth_date: date, on: date) -> int:
    years = on.year - birth_date.year
    return years if add_years(birth_date, years) <= on else years - 1
