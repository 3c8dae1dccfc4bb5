"""Nothing at rest narrows an ID number or a phone without the data key: a full pg_dump,
taken after a scenario through every area, holds no full number, no birth date, sex or
region of a party, and no mask that leaves fewer than 10^6 candidates."""

from __future__ import annotations

import re
import subprocess
from datetime import date

import pytest

from booking.security.pii import id_candidates
from tests.privacy_scenario import run_scenario

pytestmark = pytest.mark.asyncio
MIN_CANDIDATES = 10**6
MASK = re.compile(r"[0-9X]*\*{4,}[0-9X]*")


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


async def test_a_dump_does_not_narrow_any_number(client, runtime, pg_database):
    secrets = await run_scenario(client, runtime)
    database = pg_database.rsplit("/", 1)[1]
    dump = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-d", database],
                          check=True, capture_output=True, text=True).stdout
    assert "COPY public.appointment_party" in dump and "COPY public.signup_party" in dump

    for number in secrets.id_numbers:
        assert number not in dump and number.lower() not in dump
        assert number[:14] not in dump  # region and birth date together
    for number in secrets.phones:
        assert number not in dump
        assert number[:7] not in dump and number[-7:] not in dump  # not even most of it
    for born in secrets.birth_dates:
        for form in (born.isoformat(), born.strftime("%Y%m%d")):
            assert form not in dump, form
    for region in set(secrets.regions):
        assert region not in dump, region

    # every mask in the dump (parties, accounts, contacts, stored answers) leaves enough:
    # an ID's shown characters with the region granted, a phone's hidden digits
    appointment_day = date(2026, 9, 15)
    born_from, born_to = _years_before(appointment_day, 100), _years_before(appointment_day, 20)
    masks = MASK.findall(dump)
    assert len(masks) >= 10, "too few masks found: did the scenario store its parties?"
    for mask in masks:
        shown = mask.replace("*", "")
        if len(mask) == 18:  # a resident ID
            assert len(shown) <= 1 and mask.endswith(shown), mask
            for region in set(secrets.regions):
                assert id_candidates(region, shown or "0", born_from, born_to) >= MIN_CANDIDATES
        elif len(mask) == 11:  # a mainland mobile: 1, then 3-9, then digits
            hidden = len(mask) - len(shown)
            assert mask.endswith(shown) and 7 * 10 ** (hidden - 2) >= MIN_CANDIDATES, mask
        else:
            pytest.fail(f"an unexpected mask in the dump: {mask}")
    # sex and birth date are no columns of a party any more
    for table in ("appointment_party", "signup_party"):
        header = re.search(rf"COPY public\.{table} \(([^)]*)\)", dump).group(1)
        assert "sex" not in header and "birth_date" not in header and "facts_enc" in header
