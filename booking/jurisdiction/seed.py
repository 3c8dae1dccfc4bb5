"""The policy periods the schema starts with (the data migration inserts the same rows).

Kept here as well so that the table-driven tests of ``assess`` run on exactly what a new
database holds (``tests/jurisdiction/test_jurisdiction.py`` checks the two agree).
"""

from __future__ import annotations

from datetime import date
from typing import Any

ALL_PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                 "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")

MARRIAGE = "marriage_registration"
DIVORCE = "divorce_registration"
REISSUE = "certificate_reissue"

# 国函〔2021〕48号: marriage and divorce in Liaoning, Shandong, Guangdong, Chongqing, Sichuan;
# marriage only in Jiangsu, Henan, Wuhan (4201) and Xi'an (6101).
PILOT_BOTH = ("21", "37", "44", "50", "51")
PILOT_MARRIAGE_ONLY = ("32", "41", "4201", "6101")
# 国函〔2023〕34号: the same rule, marriage and divorce, in 21 provinces.
EXTENSION = ("11", "12", "13", "15", "21", "31", "32", "33", "34", "35", "36", "37", "41", "42", "44", "45", "46",
             "50", "51", "61", "64")

SEED_PERIODS: list[dict[str, Any]] = [
    {
        "id": 1, "code": "pilot-2021",
        "title_zh": "内地居民婚姻登记“跨省通办”试点",
        "title_en": "Cross-province marriage registration pilot",
        "legal_basis": "国函〔2021〕48号",
        "effective_from": date(2021, 6, 1), "effective_to": date(2023, 5, 31),
        "rule": "residence_permit",
        "documents_local": ["id_card", "household_register"],
        "documents_nonlocal": ["id_card", "household_register", "residence_permit"],
        "prereview": True,
        "areas": {MARRIAGE: [*PILOT_BOTH, *PILOT_MARRIAGE_ONLY], DIVORCE: list(PILOT_BOTH)},
    },
    {
        # approved 2023-05-12 for two years, continuing the pilot from its end
        "id": 2, "code": "extension-2023",
        "title_zh": "婚姻登记“跨省通办”试点扩大至21个省份",
        "title_en": "Cross-province pilot extended to 21 provinces",
        "legal_basis": "国函〔2023〕34号",
        "effective_from": date(2023, 6, 1), "effective_to": date(2025, 5, 31),
        "rule": "residence_permit",
        "documents_local": ["id_card", "household_register"],
        "documents_nonlocal": ["id_card", "household_register", "residence_permit"],
        "prereview": True,
        "areas": {MARRIAGE: list(EXTENSION), DIVORCE: list(EXTENSION)},
    },
    {
        "id": 3, "code": "nationwide-2025",
        "title_zh": "婚姻登记全国通办（修订后的《婚姻登记条例》）",
        "title_en": "Registration at any office nationwide (revised Marriage Registration Regulations)",
        "legal_basis": "国务院令第804号",
        "effective_from": date(2025, 5, 10), "effective_to": None,
        "rule": "nationwide",
        "documents_local": ["id_card", "no_spouse_declaration"],
        "documents_nonlocal": ["id_card", "no_spouse_declaration"],
        "prereview": True,
        "areas": {MARRIAGE: list(ALL_PROVINCES), DIVORCE: list(ALL_PROVINCES), REISSUE: list(ALL_PROVINCES)},
    },
]
