"""Bounds on what comes in: body sizes (413), JSON nesting (422) and multipart parts, all
answered as problem+json before anything is parsed or written."""

from __future__ import annotations

import pytest

from booking.security.limits import MAX_JSON_DEPTH, too_deep


def _nested(depth: int) -> bytes:
    return b'{"slot_id": 1, "service": "marriage_registration", "parties": ' + b"[" * depth + b"]" * depth + b"}"


def _problem(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code:
        assert response.json()["code"] == code


@pytest.mark.asyncio
async def test_json_bodies_are_bounded(client, couple):
    big = b'{"email": "a@example.com", "password": "password-1", "name": "' + b"x" * 70_000 + b'"}'
    _problem(await client.post("/api/v1/auth/register", content=big,
                               headers={"content-type": "application/json"}), 413, "payload-too-large")

    async def chunks():
        for _ in range(40):
            yield b" " * 4096  # no Content-Length: counted as it arrives
        yield b"{}"

    _problem(await client.post("/api/v1/auth/register", content=chunks(),
                               headers={"content-type": "application/json"}), 413, "payload-too-large")
    # under the bound, the same route answers as usual
    _problem(await client.post("/api/v1/auth/register", content=b'{"email": 1}',
                               headers={"content-type": "application/json"}), 422, "invalid-input")


@pytest.mark.asyncio
async def test_json_nesting_is_bounded(client, couple):
    for depth in (MAX_JSON_DEPTH + 1, 100, 30_000):
        response = await client.post("/api/v1/appointments", content=_nested(depth),
                                     headers={**couple.headers, "content-type": "application/json"})
        _problem(response, 422, "json-too-deep")
    shallow = await client.post("/api/v1/appointments", content=_nested(3),
                                headers={**couple.headers, "content-type": "application/json"})
    _problem(shallow, 422, "invalid-input")  # refused by validation, not by the nesting bound


@pytest.mark.asyncio
async def test_multipart_parts_are_bounded(client, couple):
    files = [(f"f{i}", (f"f{i}.pdf", b"%PDF-1.4", "application/pdf")) for i in range(40)]
    response = await client.post("/api/v1/cross-province-applications/00000000-0000-0000-0000-000000000001/documents",
                                 files=files, headers=couple.headers)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


def test_depth_counts_brackets_outside_strings_only():
    assert not too_deep(b'{"a": "' + b"[" * 100 + b'"}')
    assert not too_deep(b"[" + b"[]," * 200 + b"[]]")  # wide, not deep
    assert too_deep(b'{"a":' * 33 + b"1" + b"}" * 33)
    assert not too_deep(b'{"a":' * 32 + b"1" + b"}" * 32)
    assert not too_deep(b'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[}')  # not JSON: left to the decoder
