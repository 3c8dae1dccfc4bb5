"""OpenAPI at /schema describes every endpoint."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio


async def test_every_route_is_documented(client, app):
    schema = (await client.get("/schema/openapi.json")).json()
    documented = {(path, method.upper()) for path, item in schema["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    routes = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.resolve_include_in_schema():  # the pages' router leaves its routes out
                continue
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                routes.add((route.path_format if hasattr(route, "path_format") else route.path, method))
    assert routes, "no routes found"
    missing = {r for r in routes if r not in documented and not r[0].startswith("/schema")}
    assert not missing, missing
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert operation.get("summary"), (method, path)
            assert operation.get("tags"), (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
    assert schema["components"]["securitySchemes"], "bearer auth is described"
    booking = schema["paths"]["/api/v1/appointments"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in booking.get("parameters", [])}
    assert booking["requestBody"]["content"]["application/json"]["schema"]


async def test_the_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


async def test_every_operation_documents_its_problems_security_and_media(client):
    document = (await client.get("/schema/openapi.json")).json()
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}
    assert "errors" in problem["properties"]
    public = {("get", "/api/v1/offices"), ("get", "/api/v1/offices/{office_id}"), ("get", "/health"),
              ("get", "/api/v1/offices/{office_id}/availability"), ("get", "/api/v1/events"),
              ("get", "/api/v1/jurisdiction/periods"), ("get", "/api/v1/calendars/feeds/{feed_file}"),
              ("get", "/api/v1/calendars/offices/{office_id}/events.ics")}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            for code, response in responses.items():
                if code.startswith(("4", "5")) and (method, path, code) != ("get", "/ready", "503"):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)
                    assert "Content-Language" in response["headers"]
                    if code in ("429", "503"):
                        assert "Retry-After" in response["headers"], (method, path, code)
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "Accept-Language" in names, (method, path)
            if operation["security"] != []:
                assert operation["security"] == [{"BearerToken": []}] and operation["x-roles"], (method, path)
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    ready = document["paths"]["/ready"]["get"]["responses"]["503"]  # the checks, not a problem
    assert ready["content"]["application/json"]["schema"]["$ref"].endswith("/Readiness")
    for key in public:
        assert document["paths"][key[1]][key[0]]["security"] == [], key
    ics = document["paths"]["/api/v1/appointments/{appointment_id}/invite.ics"]["get"]["responses"]["200"]
    assert list(ics["content"]) == ["text/calendar"]
    feed = document["paths"]["/api/v1/calendars/feeds/{feed_file}"]["get"]["responses"]["200"]
    assert list(feed["content"]) == ["text/calendar"]
    # what validation checks, the schema states
    register = document["components"]["schemas"]["RegisterIn"]
    assert register["additionalProperties"] is False
    assert "pattern" in register["properties"]["email"]


async def test_x_roles_names_who_may_call(client):
    """The roles a route's guards admit, also where a couple check and a rate limit run as
    one guard (``in_order``): the couples' writes are not offered to clerks."""
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/appointments", "/api/v1/cross-province-applications", "/api/v1/divorce-cases",
                 "/api/v1/divorce-cases/confirm", "/api/v1/events/{event_id}/signups"):
        assert paths[path]["post"]["x-roles"] == ["couple"], path
    assert paths["/api/v1/appointments"]["get"]["x-roles"] == ["couple"]
    assert paths["/api/v1/offices/{office_id}/roster"]["get"]["x-roles"] == ["clerk", "admin"]
    assert paths["/api/v1/appointments/{appointment_id}"]["get"]["x-roles"] == ["couple", "clerk", "admin"]


async def test_offices_answer_what_their_schema_says(client, admin):
    from jsonschema import Draft202012Validator

    from tests.factories import create_office

    created = await create_office(client, admin)
    document = (await client.get("/schema/openapi.json")).json()
    for path, answer in (("/api/v1/offices", await client.get("/api/v1/offices")),
                         ("/api/v1/offices/{office_id}", await client.get(f"/api/v1/offices/{created['id']}"))):
        assert answer.status_code == 200
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [e.message for e in validator.iter_errors(answer.json())]
        assert not errors, (path, errors)


async def test_options_lists_every_method_of_the_path(client):
    answer = await client.options("/api/v1/appointments")
    assert set(answer.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST", "OPTIONS"}


async def test_a_body_field_named_like_a_dependency_is_a_422_not_a_500(client, admin):
    answer = await client.post("/api/v1/users", headers=admin.headers, json={
        "email": "clerk@example.com", "password": "password-123456", "name": "x", "role": "admin", "locale": {}})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_numbers_are_not_taken_for_dates_or_booleans_for_numbers(client, admin):
    from tests.factories import create_office

    office = await create_office(client, admin)
    answer = await client.post("/api/v1/jurisdiction/assessment", json={
        "date": "2026-10-01", "office_id": True, "service": "marriage_registration",
        "parties": [{"hukou_province": "44"}, {"hukou_province": "44"}]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "office_id"
    answer = await client.post("/api/v1/jurisdiction/assessment", json={
        "date": 0, "office_id": office["id"], "service": "marriage_registration",
        "parties": [{"hukou_province": "44"}, {"hukou_province": "44"}]})
    assert answer.status_code == 422, answer.text


async def test_a_check_in_code_is_refused_exactly_when_its_schema_refuses_it(client, runtime, admin):
    """The fuzzer's stateful run found ``"<two astral characters>(\\f"``: four characters by
    the schema's ``minLength``, three once the server stripped the form feed, so a
    schema-valid body got a 422. The schema now states the rule the server checks."""
    import re

    from tests.factories import open_office

    office = await open_office(client, runtime, admin)
    document = (await client.get("/schema/openapi.json")).json()
    rule = document["components"]["schemas"]["CheckInIn"]["properties"]["code"]
    pattern = re.compile(rule["pattern"])
    url = f"/api/v1/offices/{office.id}/check-in"
    for code in ("\U000f35a5(\U000eaf90\f", " ABCD-EFGH", "ABCD\n", "AB", "ABCD_EFGH"):
        assert not pattern.fullmatch(code)  # as JSON Schema reads it: "$" is the very end
        answer = await client.post(url, json={"code": code}, headers=office.clerk.headers)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "code", (code, answer.text)
    for code in ("abcd-efgh", "ABCD EFGH", "2345"):  # schema-valid: looked up (no such code here)
        assert pattern.fullmatch(code) and rule["minLength"] <= len(code) <= rule["maxLength"]
        answer = await client.post(url, json={"code": code}, headers=office.clerk.headers)
        assert answer.status_code == 404, (code, answer.text)
