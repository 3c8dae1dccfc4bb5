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
