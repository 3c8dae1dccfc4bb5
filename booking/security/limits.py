"""Bounds on what comes in, before anything is parsed.

- Request bodies: ``BOOKING_JSON_MAX_BYTES`` (64 KiB) for every route, and the document
  upload (a route with ``opt={"upload": True}``) up to ``BOOKING_UPLOAD_MAX_BYTES`` plus the
  multipart envelope. A declared Content-Length over the bound is refused before a byte is
  read; a chunked body is counted as it arrives and refused at the bound. ``413``.
- JSON nesting: at most ``MAX_JSON_DEPTH`` levels (``422``); a deeper document is refused
  before it is decoded (a decoder's recursion would otherwise end in a 500).
- Multipart: at most ``MULTIPART_PART_LIMIT`` parts (the app's setting, in app.py).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.empty import value_or_default

from booking.errors import InvalidInput, PayloadTooLarge, field_error
from booking.i18n import lazy

MAX_JSON_DEPTH = 32
MULTIPART_OVERHEAD = 64 * 1024
MULTIPART_PART_LIMIT = 16

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests more than ``limit`` levels. The common case costs two
    ``bytes.count`` (fewer brackets than the limit cannot nest deeper); otherwise the
    bracket skeleton (strings removed) is peeled one innermost level per pass."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    skeleton = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        peeled = _INNERMOST.sub(b"", skeleton)
        if peeled == skeleton:
            return False  # nothing left to peel: shallow enough (or not JSON, which the decoder says)
        skeleton = peeled
    return _INNERMOST.search(skeleton) is not None


class TooDeep(InvalidInput):
    code = "json-too-deep"


class BoundedRequest(Request[Any, Any, Any]):
    """Litestar's request, refusing a too deeply nested JSON body before decoding it."""

    async def json(self) -> Any:
        if value_or_default(self._json, None) is None and value_or_default(self._connection_state.json, None) is None:
            if too_deep(await self.body()):
                raise TooDeep(errors=[field_error("body", lazy("The JSON is nested too deeply."))])
        return await super().json()


def body_limits(app: ASGIApp, json_max_bytes: int, upload_max_bytes: int) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        upload = handler is not None and handler.opt.get("upload", False)
        limit = upload_max_bytes + MULTIPART_OVERHEAD if upload else json_max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise PayloadTooLarge(limit_bytes=limit)
        seen = 0

        async def bounded() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(limit_bytes=limit)
            return message

        await app(scope, bounded, send)

    return middleware
