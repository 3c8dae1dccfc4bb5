"""Identity numbers (GB 11643-1999) and the legal marriage age, table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from booking.parties.identity import (
    IdType,
    InvalidIdentity,
    add_years,
    age_on,
    check_character,
    parse_identity,
)
from booking.parties.rules import PartyFacts, check_marriage, check_reissue
from tests.factories import resident_id

TODAY = date(2026, 9, 10)

# Real-format numbers built from their parts; the check characters are computed
# independently below from the standard's weights.
VALID = [
    "11010519491231002X",  # the standard's own example (Beijing Chaoyang, 1949-12-31, female)
    "440106199003078214",
    "510104200002290011",  # born on 29 February 2000
    "650102198512120029",
]


def _independent_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 written out from the standard, not from the code under test."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def test_standard_example_check_character():
    assert check_character("11010519491231002") == "X" == _independent_check("11010519491231002")


@pytest.mark.parametrize("number", VALID)
def test_the_valid_list_is_valid_by_the_standard(number):
    assert _independent_check(number[:17]) == number[17]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers(number):
    identity = parse_identity(IdType.RESIDENT_ID, number, TODAY)
    assert identity.number == number
    assert identity.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert identity.sex == ("M" if int(number[16]) % 2 else "F")
    assert identity.region == number[:2]


def test_lower_case_x_and_full_width_digits_are_the_same_number():
    assert parse_identity("resident_id", "11010519491231002x", TODAY).number == "11010519491231002X"
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    assert parse_identity("resident_id", full_width, TODAY).number == "11010519491231002X"
    assert parse_identity("resident_id", " 1101 0519 4912 3100 2X ", TODAY).number == "11010519491231002X"


def _corruptions(number: str):
    for position in range(18):
        for replacement in "0123456789X":
            if replacement != number[position]:
                yield number[:position] + replacement + number[position + 1:]


@pytest.mark.parametrize("number", VALID)
def test_every_single_character_corruption_is_refused(number):
    refused = 0
    for corrupted in _corruptions(number):
        with pytest.raises(InvalidIdentity):
            parse_identity(IdType.RESIDENT_ID, corrupted, TODAY)
        refused += 1
    assert refused == 18 * 10


@pytest.mark.parametrize(("number", "reason"), [
    ("440106199002308212", "date"),  # 30 February
    ("440106199013018212", "date"),  # month 13
    ("440106189912318212", "date"),  # before 1900
    ("440106202712318212", "date"),  # in the future
    ("990106199003078212", "region"),  # no province 99
    ("440000199003078212", "region"),  # a province, not a county
    ("000000199003078212", "region"),
    ("440106199003070002", "sequence"),  # sequence 000
    ("440106900307821", "15"),  # first-generation 15-digit number
    ("44010619900307821", "length"),
    ("4401061990030782123", "length"),
    ("44010619900307821A", "format"),
    ("", "length"),
])
def test_invalid_numbers(number, reason):
    if len(number) == 18 and number[:17].isdigit() and reason != "format":
        number = number[:17] + check_character(number[:17])  # only the named part is wrong
    with pytest.raises(InvalidIdentity):
        parse_identity(IdType.RESIDENT_ID, number, TODAY)


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize("number", VALID)
@pytest.mark.parametrize("script", [ARABIC_INDIC, DEVANAGARI])
def test_digits_of_other_scripts_are_refused(number, script):
    """Python's isdigit() and int() accept them and NFKC keeps them: accepted, they would
    hash differently and let one person hold many bookings."""
    for spoofed in (number.translate(script), number[:6] + number[6:10].translate(script) + number[10:]):
        with pytest.raises(InvalidIdentity):
            parse_identity(IdType.RESIDENT_ID, spoofed, TODAY)


def test_other_documents():
    assert parse_identity("hk_macao_permit", "h12345678", TODAY).number == "H12345678"
    assert parse_identity("taiwan_permit", "12345678", TODAY).sex is None
    assert parse_identity("passport", "e1234567", TODAY).number == "E1234567"
    permit = "810000199001011234"
    permit = permit[:17] + check_character(permit[:17])
    hmt = parse_identity("hmt_residence_permit", permit, TODAY)
    assert hmt.region == "81" and hmt.birth_date == date(1990, 1, 1)
    for kind, bad in [("hk_macao_permit", "X12345678"), ("taiwan_permit", "1234"), ("passport", "E1"),
                      ("hmt_residence_permit", "440106199003078212")]:
        with pytest.raises(InvalidIdentity):
            parse_identity(kind, bad, TODAY)


# --- the legal age: men 22, women 20, the birthday itself counts ----------------------


def _facts(birth_m: date, birth_f: date) -> list[PartyFacts]:
    return [PartyFacts("m", "M", birth_m), PartyFacts("f", "F", birth_f)]


@pytest.mark.parametrize(("groom", "bride", "on", "ok"), [
    (date(2004, 5, 20), date(2000, 1, 1), date(2026, 5, 20), True),   # his 22nd birthday
    (date(2004, 5, 21), date(2000, 1, 1), date(2026, 5, 20), False),  # one day short
    (date(1990, 1, 1), date(2006, 5, 20), date(2026, 5, 20), True),   # her 20th birthday
    (date(1990, 1, 1), date(2006, 5, 21), date(2026, 5, 20), False),
    (date(2004, 2, 29), date(2000, 1, 1), date(2026, 2, 28), False),  # leap-day birth: not yet
    (date(2004, 2, 29), date(2000, 1, 1), date(2026, 3, 1), True),    # ...of age on 1 March
    (date(2004, 2, 29), date(2000, 1, 1), date(2028, 2, 29), True),
])
def test_marriage_age_around_birthdays(groom, bride, on, ok):
    assert (check_marriage(_facts(groom, bride), on) == []) is ok


def test_marriage_needs_two_different_people_a_man_and_a_woman():
    same = [PartyFacts("x", "M", date(1990, 1, 1)), PartyFacts("x", "M", date(1990, 1, 1))]
    assert check_marriage(same, TODAY)[0].field == "parties.1.id_number"
    two_men = [PartyFacts("a", "M", date(1990, 1, 1)), PartyFacts("b", "M", date(1990, 1, 1))]
    assert check_marriage(two_men, TODAY)[0].field == "parties"
    # reissue: no age rule, but still the two spouses
    assert check_reissue(_facts(date(2010, 1, 1), date(2010, 1, 1)), TODAY) == []
    assert check_reissue(two_men, TODAY) != []


def test_age_helpers():
    assert add_years(date(2000, 2, 29), 1) == date(2001, 3, 1)
    assert age_on(date(2000, 9, 10), TODAY) == 26 and age_on(date(2000, 9, 11), TODAY) == 25


def test_generated_ids_are_valid():
    number = resident_id(date(1995, 3, 8), "M")
    assert parse_identity("resident_id", number, TODAY).sex == "M"
    assert parse_identity("resident_id", resident_id(date(1995, 3, 8), "F"), TODAY).sex == "F"
