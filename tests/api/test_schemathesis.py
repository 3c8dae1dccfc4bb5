"""Schemathesis over the whole API, as an integrator would run it (issue 13).

A real server (uvicorn, PostgreSQL migrated from empty, seeded by ``booking demo``: offices,
schedules, slots, events, a clerk and an admin) is fuzzed by the ``st`` command line with
``--checks all``, a fixed seed and a few cases per operation. Every protected operation is
called with a token of a role it allows (the document's ``x-roles``), so the fuzzer gets past
the guards; ``ignored_auth`` still checks that it is refused without one. The stateful phase
follows the document's links between create and read operations.

Bounded: ``FUZZ_EXAMPLES`` cases per operation (default 3), done in about two minutes here.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from booking.accounts.tokens import build_jwt_auth, issue_token
from booking.app import create_app
from booking.clock import FixedClock
from booking.demo import seed_demo
from booking.runtime import Runtime
from tests.conftest import DEFAULT_NOW, make_settings, scratch_database
from tests.helpers import live_server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SEED = 20261207
ST = Path(sys.executable).with_name("st")
# where a role's token is needed, the first role the operation allows is used
ROLE_ORDER = ("couple", "clerk", "admin")


async def _accounts(url: str) -> dict[str, tuple[str, str, int | None]]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT DISTINCT ON (role) id, role, office_id FROM user_account "
                                "WHERE is_active ORDER BY role, office_id NULLS LAST, email")
    finally:
        await conn.close()
    return {r["role"]: (r["id"], r["role"], r["office_id"]) for r in rows}


async def _couple(base: str, email: str) -> str:
    """A couple signed up through the API itself."""
    async with httpx.AsyncClient(base_url=base) as client:
        body = {"email": email, "password": "fuzz-password-123", "name": "Fuzz Couple"}
        answer = await client.post("/api/v1/auth/register", json=body)
        assert answer.status_code in (200, 201), answer.text
        login = await client.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
        assert login.status_code == 200, login.text
        return login.json()["access_token"]


# Operations whose schema-valid input may still be refused with 422, for a rule no JSON Schema
# of one field can state: a relation between fields, a checksum, or the state of the data.
CROSS_FIELD_RULES = {
    ("GET", "/api/v1/offices/{office_id}/availability"): "the service must be one the office offers",
    ("GET", "/api/v1/offices/{office_id}/slots"): "`to` not before `from`, at most 92 days",
    ("GET", "/api/v1/offices/{office_id}/ballots"): "`to` not before `from`",
    ("GET", "/api/v1/peak-days"): "`to` not before `from`",
    ("POST", "/api/v1/offices/{office_id}/slots/generate"): "`to` not before `from`, within the horizon",
    ("POST", "/api/v1/offices/{office_id}/ballots"): "entries open < close <= draw",
    ("POST", "/api/v1/cross-province-applications/{application_id}/decision"): "a reason for some decisions",
    ("POST", "/api/v1/signups/{signup_id}/decision"): "a reason to reject",
    ("POST", "/api/v1/offices/{office_id}/appointments"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/appointments"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/cross-province-applications"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/divorce-cases"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/divorce-cases/confirm"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/events/{event_id}/signups"): "ID numbers' check digit, birth date and age",
    ("POST", "/api/v1/cross-province-applications/{application_id}/documents"):
        "the kinds of document the application asks for",
    ("PATCH", "/api/v1/jurisdiction/periods/{period_id}"): "a field left out is unchanged, null is refused",
    ("POST", "/api/v1/jurisdiction/periods"): "area codes under a province the period names",
    ("POST", "/api/v1/offices/{office_id}/special-openings"): "a window ends after it starts",
    ("PUT", "/api/v1/offices/{office_id}/schedule"): "a window ends after it starts, services the office offers",
    ("POST", "/api/v1/users"): "a clerk belongs to an office, an admin to none",
    ("POST", "/api/v1/offices"): "the division lies in the office's province",
    ("PATCH", "/api/v1/offices/{office_id}"): "the division lies in the office's province",
    ("POST", "/api/v1/events"): "in the future, ends after it starts, sign-ups close before it starts",
    ("PATCH", "/api/v1/events/{event_id}"): "in the future, ends after it starts, sign-ups close before it starts",
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def _config(document: dict, tokens: dict[str, str], path: Path) -> Path:
    lines = []
    for route, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            roles = operation.get("x-roles")
            rule = CROSS_FIELD_RULES.get((method.upper(), route))
            if not roles and not rule:
                continue
            lines += ["[[operations]]", f'include-operation-id = "{operation["operationId"]}"']
            if roles:
                # the logout ends its session: a token of its own, the others stay valid
                role = "logout" if route == "/api/v1/auth/logout" else next(r for r in ROLE_ORDER if r in roles)
                lines.append(f'headers = {{ Authorization = "Bearer {tokens[role]}" }}')
            if rule:
                lines.append(f"checks.positive_data_acceptance.expected-statuses = {json.dumps([*ACCEPTED, '422'])}")
            lines.append("")
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory):
    with scratch_database(prefix="booking_fuzz") as url:
        settings = make_settings(url, tmp_path_factory.mktemp("fuzz"), office_cache_seconds=0)
        clock = FixedClock(DEFAULT_NOW)
        asyncio.run(seed_demo(settings, clock))
        runtime = Runtime.build(settings, clock=clock)
        runtime.run_in_process_jobs = False
        with live_server(create_app(runtime=runtime, close_runtime=True)) as base:
            yield base, settings, url


def test_schemathesis_all_operations(fuzz_server, tmp_path: Path) -> None:
    base, settings, url = fuzz_server
    accounts = asyncio.run(_accounts(url))
    auth = build_jwt_auth(settings)
    tokens = {role: issue_token(auth, settings, subject=account_id, role=role, office_id=office_id)
              for role, (account_id, _, office_id) in accounts.items() if role != "couple"}
    tokens["couple"] = asyncio.run(_couple(base, "fuzz-couple@example.com"))
    tokens["logout"] = asyncio.run(_couple(base, "fuzz-logout@example.com"))
    document = httpx.get(f"{base}/schema/openapi.json").json()
    config = _config(document, tokens, tmp_path / "schemathesis.toml")
    started = time.monotonic()
    run = subprocess.run(
        [str(ST), "--config-file", str(config), "run", f"{base}/schema/openapi.json",
         "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
         "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1",  # hypothesis describes filters with ast.parse, not thread-safe on 3.11
         "--report", "junit", "--report-dir", str(tmp_path / "report"),
         "--suppress-health-check", "all", "--output-sanitize", "true", "--no-color"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path)  # its cache (.schemathesis/) stays out of the work tree
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    (Path(os.environ.get("FUZZ_LOG", tmp_path / "schemathesis.log"))).write_text(output)
    summary = re.findall(r"^.*(?:operations?|passed|failed|Test cases).*$", output, re.M)
    print(f"schemathesis: {elapsed:.0f} s, exit {run.returncode}\n" + "\n".join(summary[-12:]))
    assert run.returncode == 0, output[-20000:]
    assert json.dumps(document)  # the document it ran against
