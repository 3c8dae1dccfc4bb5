"""The jurisdiction policy: the pure ``assess`` as a table over the three seeded periods,
the seed as the migration writes it, and the admin endpoints that keep the periods."""

from __future__ import annotations

from datetime import date

import pytest

from booking.jurisdiction.periods import PolicyBook
from booking.jurisdiction.policy import (
    STANDING_DOCUMENTS,
    UNANSWERED,
    OfficeArea,
    PartyHome,
    Period,
    assess,
    missing_documents,
)
from booking.jurisdiction.seed import SEED_PERIODS
from tests.factories import couple_parties, create_office, make_actor, weekday_schedule


def seed_periods() -> tuple[Period, ...]:
    return tuple(
        Period(id=p["id"], code=p["code"], effective_from=p["effective_from"], effective_to=p["effective_to"],
               rule=p["rule"], documents_local=tuple(p["documents_local"]),
               documents_nonlocal=tuple(p["documents_nonlocal"]), prereview=p["prereview"],
               areas=frozenset((svc, code) for svc, codes in p["areas"].items() for code in codes))
        for p in SEED_PERIODS)


PERIODS = seed_periods()

GUANGZHOU = OfficeArea("44", "440106")
NANJING = OfficeArea("32", "320102")
WUHAN = OfficeArea("42", "420102")
YICHANG = OfficeArea("42", "420502")  # Hubei outside Wuhan: not in the 2021 pilot
XIAN = OfficeArea("61", "610102")
BEIJING = OfficeArea("11", "110105")  # not in the pilot, in the 2023 extension
CHONGQING = OfficeArea("50", "500103")  # a municipality: any of its districts or counties is local
CHANGSHA = OfficeArea("43", "430102")  # Hunan: in neither pilot nor extension
GUANGZHOU_NO_REVIEW = OfficeArea("44", "440106", prereview_nonlocal=False)

M, D, R = "marriage_registration", "divorce_registration", "certificate_reissue"
BOTH_LOCAL = [PartyHome("44"), PartyHome("44")]
ONE_LOCAL = [PartyHome("44"), PartyHome("51")]
SICHUAN = [PartyHome("51"), PartyHome("51")]  # both from elsewhere
FOREIGN = [PartyHome(None, "passport"), PartyHome("51")]

PILOT_DOCS = ("id_card", "household_register", "residence_permit")
PILOT_LOCAL = ("id_card", "household_register")
NATIONWIDE_DOCS = ("id_card", "no_spouse_declaration")

BEFORE_PILOT, IN_PILOT, PILOT_LAST = date(2021, 5, 31), date(2022, 3, 1), date(2023, 5, 31)
EXTENSION_FIRST, IN_EXTENSION = date(2023, 6, 1), date(2024, 6, 1)
BEFORE_NATIONWIDE, NATIONWIDE_FIRST, OVERLAP = date(2025, 5, 9), date(2025, 5, 10), date(2025, 5, 20)
AFTER_EXTENSION, LATER = date(2025, 6, 1), date(2030, 1, 1)

# (case, office, service, parties, residence permit, date) -> (may, prereview, reason, documents, period)
CASES = [
    # before the pilot: the standing rule (a party's hukou in the office's province)
    ("same province, before the pilot", GUANGZHOU, M, BOTH_LOCAL, UNANSWERED, BEFORE_PILOT,
     (True, False, None, STANDING_DOCUMENTS, None)),
    ("one party local, before the pilot", GUANGZHOU, M, ONE_LOCAL, UNANSWERED, BEFORE_PILOT,
     (True, False, None, STANDING_DOCUMENTS, None)),
    ("elsewhere with a permit, before the pilot", GUANGZHOU, M, SICHUAN, "440106", BEFORE_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("elsewhere without a permit, before the pilot", GUANGZHOU, M, SICHUAN, None, BEFORE_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    # inside the pilot (2021-06-01 .. 2023-05-31)
    ("same province, pilot", GUANGZHOU, M, BOTH_LOCAL, UNANSWERED, IN_PILOT,
     (True, False, None, PILOT_LOCAL, "pilot-2021")),
    ("one party local, pilot", GUANGZHOU, M, ONE_LOCAL, None, IN_PILOT,
     (True, False, None, PILOT_LOCAL, "pilot-2021")),
    ("elsewhere, permit issued in Guangzhou, pilot", GUANGZHOU, M, SICHUAN, "440106", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("elsewhere, permit issued in Shenzhen (not this city), pilot", GUANGZHOU, M, SICHUAN, "440306", IN_PILOT,
     (False, False, "residence_permit_required", (), "pilot-2021")),
    ("elsewhere without a permit, pilot", GUANGZHOU, M, SICHUAN, None, IN_PILOT,
     (False, False, "residence_permit_required", (), "pilot-2021")),
    ("elsewhere, permit not asked (plain booking): the clerk checks it", GUANGZHOU, M, SICHUAN, UNANSWERED,
     IN_PILOT, (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("divorce in Guangdong, pilot", GUANGZHOU, D, SICHUAN, "440106", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("marriage in Jiangsu (marriage only), pilot", NANJING, M, SICHUAN, "320105", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("divorce in Jiangsu is not in the pilot", NANJING, D, SICHUAN, "320105", IN_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("Wuhan, a city in the pilot", WUHAN, M, SICHUAN, "420106", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("Hubei outside Wuhan is not in the pilot", YICHANG, M, SICHUAN, "420502", IN_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("Xi'an, marriage, pilot", XIAN, M, SICHUAN, "610113", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("Xi'an, divorce is not in the pilot", XIAN, D, SICHUAN, "610113", IN_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("Chongqing: a permit from any of its districts or counties", CHONGQING, M, SICHUAN, "500235", IN_PILOT,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    ("Beijing is not in the pilot", BEIJING, M, SICHUAN, "110108", IN_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("reissue is not in the pilot", GUANGZHOU, R, SICHUAN, "440106", IN_PILOT,
     (False, False, "not_in_jurisdiction", (), None)),
    ("the pilot's last day", GUANGZHOU, M, SICHUAN, "440106", PILOT_LAST,
     (True, True, "residence_permit", PILOT_DOCS, "pilot-2021")),
    # the 2023 extension (2023-06-01 .. 2025-05-31, 21 provinces)
    ("the extension's first day", GUANGZHOU, M, SICHUAN, "440106", EXTENSION_FIRST,
     (True, True, "residence_permit", PILOT_DOCS, "extension-2023")),
    ("Beijing joins in the extension", BEIJING, M, SICHUAN, "110108", IN_EXTENSION,
     (True, True, "residence_permit", PILOT_DOCS, "extension-2023")),
    ("divorce in Jiangsu joins in the extension", NANJING, D, SICHUAN, "320105", IN_EXTENSION,
     (True, True, "residence_permit", PILOT_DOCS, "extension-2023")),
    ("Hubei outside Wuhan joins in the extension", YICHANG, M, SICHUAN, "420502", IN_EXTENSION,
     (True, True, "residence_permit", PILOT_DOCS, "extension-2023")),
    ("elsewhere without a permit, extension", BEIJING, M, SICHUAN, None, IN_EXTENSION,
     (False, False, "residence_permit_required", (), "extension-2023")),
    ("same province, extension", BEIJING, M, [PartyHome("11"), PartyHome("11")], UNANSWERED, IN_EXTENSION,
     (True, False, None, PILOT_LOCAL, "extension-2023")),
    ("Hunan is in neither", CHANGSHA, M, SICHUAN, "430102", IN_EXTENSION,
     (False, False, "not_in_jurisdiction", (), None)),
    ("Hunan, a local couple, standing rule", CHANGSHA, M, [PartyHome("43"), PartyHome("51")], UNANSWERED,
     IN_EXTENSION, (True, False, None, STANDING_DOCUMENTS, None)),
    ("the day before nationwide registration", GUANGZHOU, M, SICHUAN, None, BEFORE_NATIONWIDE,
     (False, False, "residence_permit_required", (), "extension-2023")),
    # nationwide from 2025-05-10: it supersedes the extension's last weeks
    ("nationwide's first day, no permit needed", GUANGZHOU, M, SICHUAN, None, NATIONWIDE_FIRST,
     (True, True, "nonlocal", NATIONWIDE_DOCS, "nationwide-2025")),
    ("extension and nationwide overlap: the newer act governs", GUANGZHOU, M, SICHUAN, "440106", OVERLAP,
     (True, True, "nonlocal", NATIONWIDE_DOCS, "nationwide-2025")),
    ("Hunan, nationwide", CHANGSHA, M, SICHUAN, None, OVERLAP,
     (True, True, "nonlocal", NATIONWIDE_DOCS, "nationwide-2025")),
    ("same province, nationwide: no household register", GUANGZHOU, M, BOTH_LOCAL, UNANSWERED, AFTER_EXTENSION,
     (True, False, None, NATIONWIDE_DOCS, "nationwide-2025")),
    ("one party local, nationwide", GUANGZHOU, M, ONE_LOCAL, UNANSWERED, LATER,
     (True, False, None, NATIONWIDE_DOCS, "nationwide-2025")),
    ("elsewhere, nationwide, later", GUANGZHOU, M, SICHUAN, UNANSWERED, LATER,
     (True, True, "nonlocal", NATIONWIDE_DOCS, "nationwide-2025")),
    ("an office that does not pre-review nonlocal couples", GUANGZHOU_NO_REVIEW, M, SICHUAN, None, LATER,
     (True, False, None, NATIONWIDE_DOCS, "nationwide-2025")),
    ("reissue anywhere, nationwide", GUANGZHOU, R, SICHUAN, None, LATER,
     (True, True, "nonlocal", NATIONWIDE_DOCS, "nationwide-2025")),
    ("a party who is not a mainland resident", GUANGZHOU, M, FOREIGN, UNANSWERED, LATER,
     (True, True, "foreign_or_hmt", ("identity_document",), "nationwide-2025")),
]


@pytest.mark.parametrize(("office", "service", "parties", "permit", "on", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_assess_across_the_three_periods(office, service, parties, permit, on, expected):
    verdict = assess(office, service, parties, on, PERIODS, residence_permit=permit)
    may, prereview, reason, documents, period = expected
    assert (verdict.may_register, verdict.prereview, verdict.reason, verdict.documents,
            verdict.period.code if verdict.period else None) == (may, prereview, reason, documents, period)


def test_a_newer_period_supersedes_and_an_office_without_division_matches_only_provinces():
    stricter = Period(id=9, code="stricter-2027", effective_from=date(2027, 1, 1), effective_to=None,
                      rule="local_hukou", documents_local=("id_card",), documents_nonlocal=(), prereview=False,
                      areas=frozenset({(M, "44")}))
    periods = (*PERIODS, stricter)
    assert assess(GUANGZHOU, M, SICHUAN, date(2026, 12, 31), periods).may_register
    late = assess(GUANGZHOU, M, SICHUAN, date(2027, 1, 1), periods)
    assert (late.may_register, late.reason, late.period.code) == (False, "not_in_jurisdiction", "stricter-2027")
    assert assess(GUANGZHOU, M, BOTH_LOCAL, date(2027, 1, 1), periods).documents == ("id_card",)
    # Wuhan's city-level scope needs the office's division code
    assert not assess(OfficeArea("42", None), M, SICHUAN, IN_PILOT, PERIODS, residence_permit="420106").may_register


def test_missing_documents():
    required = ["id_card", "no_spouse_declaration", "residence_permit"]
    assert missing_documents(required, []) == [("id_card", 1), ("id_card", 2), ("no_spouse_declaration", 1),
                                               ("no_spouse_declaration", 2), ("residence_permit", None)]
    present = [("id_card", 1), ("id_card", 2), ("no_spouse_declaration", 2), ("residence_permit", 2),
               ("other", None)]
    assert missing_documents(required, present) == [("no_spouse_declaration", 1)]


# --- on PostgreSQL --------------------------------------------------------------------------

pg = pytest.mark.asyncio


@pg
async def test_the_migration_seeds_the_three_periods(runtime):
    loaded = await PolicyBook(runtime.db).periods()
    assert loaded == PERIODS


@pg
async def test_admins_add_and_edit_periods_and_bookings_follow_at_once(client, runtime, admin, couple):
    listed = await client.get("/api/v1/jurisdiction/periods", headers={"Accept-Language": "en"})
    assert listed.status_code == 200
    codes = [p["code"] for p in listed.json()["data"]]
    assert codes == ["pilot-2021", "extension-2023", "nationwide-2025"]
    pilot = listed.json()["data"][0]
    assert pilot["areas"]["marriage_registration"] == sorted(["21", "37", "44", "50", "51", "32", "41", "4201",
                                                               "6101"])
    assert pilot["title"] == "Cross-province marriage registration pilot"

    office = await create_office(client, admin)
    clerk = await make_actor(runtime, "clerk", office["id"])
    await client.put(f"/api/v1/offices/{office['id']}/schedule", json=weekday_schedule(), headers=clerk.headers)
    await client.post(f"/api/v1/offices/{office['id']}/slots/generate", json={"from": "2026-09-10", "to": "2026-10-31"},
                      headers=clerk.headers)
    slots = (await client.get(f"/api/v1/offices/{office['id']}/slots?from=2026-09-15&to=2026-09-21",
                              headers=clerk.headers)).json()["data"]
    early = slots[0]["id"]  # 2026-09-15
    late = next(s["id"] for s in slots if s["date"] == "2026-09-21")

    # a (hypothetical) stricter act from 2026-09-20 in Guangdong: only local couples
    period = {"code": "test-local-2026", "title_zh": "测试：仅限本省户籍", "title_en": "Test: local hukou only",
              "effective_from": "2026-09-20", "rule": "local_hukou", "documents_local": ["id_card"],
              "prereview": False, "areas": {"marriage_registration": ["44"]}}
    for actor in (clerk, couple):
        assert (await client.post("/api/v1/jurisdiction/periods", json=period,
                                  headers=actor.headers)).status_code == 403
    bad = await client.post("/api/v1/jurisdiction/periods", headers={**admin.headers, "Accept-Language": "en"},
                            json={**period, "effective_to": "2026-01-01",
                                  "areas": {"marriage_registration": ["99", "4"]}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"areas.marriage_registration.0",
                                                          "areas.marriage_registration.1"}
    created = await client.post("/api/v1/jurisdiction/periods", json=period, headers=admin.headers)
    assert created.status_code == 201, created.text
    again = await client.post("/api/v1/jurisdiction/periods", json=period, headers=admin.headers)
    assert again.status_code == 409 and again.json()["code"] == "policy-period-code-taken"
    new_id = created.json()["id"]
    assert new_id == 4  # after the seeded ids

    def booking(slot_id: int) -> dict:
        return {"slot_id": slot_id, "service": "marriage_registration",
                "parties": couple_parties(region="510104", hukou="51")}

    refused = await client.post("/api/v1/appointments", json=booking(late),
                                headers={**couple.headers, "Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["code"] == "not-in-jurisdiction"
    before = await client.post("/api/v1/appointments", json=booking(early), headers=couple.headers)
    assert before.status_code == 201 and before.json()["status"] == "pending_review"

    # the admin takes Guangdong out of the period's scope: the next booking follows at once
    edited = await client.patch(f"/api/v1/jurisdiction/periods/{new_id}", headers=admin.headers,
                                json={"areas": {"marriage_registration": ["4201"]}, "note": "Wuhan only"})
    assert edited.status_code == 200 and edited.json()["areas"] == {"marriage_registration": ["4201"]}
    other = await make_actor(runtime, "couple")
    allowed = await client.post("/api/v1/appointments", json=booking(late), headers=other.headers)
    assert allowed.status_code == 201 and allowed.json()["status"] == "pending_review"
    wrong = await client.patch(f"/api/v1/jurisdiction/periods/{new_id}", headers=admin.headers,
                               json={"effective_to": "2026-01-01"})
    assert wrong.status_code == 422
    assert (await client.patch("/api/v1/jurisdiction/periods/999", headers=admin.headers,
                               json={"note": "x"})).status_code == 404

    audit = (await client.get("/api/v1/audit", headers=admin.headers)).json()["data"]
    actions = [e["action"] for e in audit]
    assert "jurisdiction.period.create" in actions and "jurisdiction.period.update" in actions


@pg
async def test_assessment_endpoint_names_the_documents(client, runtime, admin):
    office = await create_office(client, admin)
    body = {"office_id": office["id"], "service": "marriage_registration", "date": "2022-03-01",
            "parties": [{"hukou_province": "51"}, {"hukou_province": "51"}]}
    unanswered = await client.post("/api/v1/jurisdiction/assessment", json=body, headers={"Accept-Language": "en"})
    assert unanswered.status_code == 200
    assert unanswered.json()["may_register"] and unanswered.json()["prereview"]
    assert [d["kind"] for d in unanswered.json()["documents"]] == list(PILOT_DOCS)
    assert unanswered.json()["period"]["code"] == "pilot-2021"
    no_permit = await client.post("/api/v1/jurisdiction/assessment",
                                  json={**body, "residence_permit_division": None})
    assert no_permit.json()["may_register"] is False and no_permit.json()["reason"] == "residence_permit_required"
    now = await client.post("/api/v1/jurisdiction/assessment", json={**body, "date": "2026-09-15"})
    assert [d["title"] for d in now.json()["documents"]] == ["居民身份证", "本人无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明"]


@pg
async def test_out_of_range_input_is_refused_not_a_server_error(client, runtime, admin):
    office = await create_office(client, admin)
    body = {"office_id": office["id"], "service": "marriage_registration", "date": "2026-09-15",
            "parties": [{"hukou_province": "51"}, {"hukou_province": "51"}]}
    period = {"code": "bounds-test", "title_zh": "测试", "title_en": "Test", "effective_from": "2026-09-01",
              "rule": "nationwide", "areas": {"marriage_registration": ["44"]}}
    cases = [
        ("a huge office id", "POST", "/api/v1/jurisdiction/assessment", {**body, "office_id": 2**31}, "office_id"),
        ("office id 0", "POST", "/api/v1/jurisdiction/assessment", {**body, "office_id": 0}, "office_id"),
        ("year 1", "POST", "/api/v1/jurisdiction/assessment", {**body, "date": "0001-01-01"}, "date"),
        ("year 9999", "POST", "/api/v1/jurisdiction/assessment", {**body, "date": "9999-12-31"}, "date"),
        ("a huge period id", "PATCH", "/api/v1/jurisdiction/periods/99999999999", {"note": "x"}, "period_id"),
        ("period id 0", "PATCH", "/api/v1/jurisdiction/periods/0", {"note": "x"}, "period_id"),
        ("a NUL in the note", "PATCH", "/api/v1/jurisdiction/periods/3", {"note": "a\x00b"}, "note"),
        ("a period from year 1", "PATCH", "/api/v1/jurisdiction/periods/3", {"effective_from": "0001-01-01"},
         "effective_from"),
        ("a NUL in a title", "POST", "/api/v1/jurisdiction/periods", {**period, "title_en": "T\x00"}, "title_en"),
        ("a period to year 9999", "POST", "/api/v1/jurisdiction/periods", {**period, "effective_to": "9999-12-31"},
         "effective_to"),
    ]
    for case, method, url, data, field in cases:
        response = await client.request(method, url, json=data, headers={**admin.headers, "Accept-Language": "en"})
        assert (case, response.status_code) == (case, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], (case, response.text)
    assert (await client.post("/api/v1/jurisdiction/assessment", json=body)).status_code == 200
    assert (await PolicyBook(runtime.db).periods()) == PERIODS  # nothing changed
