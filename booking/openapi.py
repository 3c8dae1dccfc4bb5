"""The OpenAPI document tells what the API answers (issue 13).

Litestar documents each handler's success answer from its signature. What it cannot see —
the problem answers, who may call an operation, the headers read and set — is derived here,
in one place, from what each route declares anyway:

- public or not: ``exclude_from_auth`` (or a path the bearer middleware skips) → ``security: []``,
  else ``BearerToken`` with the role its guard asks for (``x-roles``);
- 401 where a token is needed, 403 where a guard or a per-office check can refuse, 404 where the
  path names a resource, 422 where anything is read from the request, 400/413/415 where a body is,
  409 and 429 on writes (and the login), 503 everywhere (database busy or restarting) — each as
  ``application/problem+json`` with the one ``Problem`` schema;
- ``Accept-Language`` read by every operation, ``Content-Language`` on every problem answer,
  ``Retry-After`` on 429 and 503;
- non-JSON success bodies (iCalendar, CSV, SVG, scans) from the handler's ``opt["media_types"]``.

A route with an answer of its own beyond these lists it in ``opt["problems"]`` (e.g. 409 on a
read that refuses while on a waitlist).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import (
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute
from pydantic import BaseModel

from booking.accounts import guards
from booking.http.problems import PROBLEM_JSON

# paths the bearer middleware never looks at (booking.accounts.tokens.build_jwt_auth)
PUBLIC_PREFIXES = ("/health", "/ready", "/schema", "/metrics")

STATUS_TEXT = {
    400: "The body is not valid JSON, or the request is otherwise malformed.",
    401: "No valid bearer token.",
    403: "The token's account may not do this (role, office or ownership).",
    404: "Not found (or not visible to this account).",
    409: "Conflicts with the current state (full, already booked, already decided, key reused ...).",
    413: "The body is larger than this operation takes.",
    415: "The body's media type is not one this operation takes.",
    422: "The input is not valid: `errors` lists the fields at fault, in the caller's language.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    503: "Busy or restarting (database): retry after `Retry-After` seconds.",
}

_ROLES = {
    guards.requires_admin: ["admin"],
    guards.requires_staff: ["clerk", "admin"],
    guards.requires_couple: ["couple"],
    guards.requires_account: ["couple", "clerk", "admin"],
}

_PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="An error, RFC 9457 problem details; `title` and `errors[].message` in the caller's language.",
    required=["type", "title", "status", "code"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="urn:booking:problem:<code>", examples=[
            "urn:booking:problem:invalid-input"]),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "code": Schema(type=OpenAPIType.STRING, pattern=r"^[a-z0-9-]+$", description="stable machine-readable code"),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING, description="the request's path"),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Reference(ref="#/components/schemas/FieldError")),
    },
)
_FIELD_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    required=["field", "message"],
    properties={"field": Schema(type=OpenAPIType.STRING, description="dotted path of the field, or the parameter"),
                "message": Schema(type=OpenAPIType.STRING)},
)


def _header(description: str, schema: Schema) -> OpenAPIHeader:
    return OpenAPIHeader(description=description, schema=schema)


_CONTENT_LANGUAGE = _header("the language of `title` and messages", Schema(type=OpenAPIType.STRING,
                                                                         enum=["zh-CN", "en"]))
_RETRY_AFTER = _header("seconds to wait before retrying", Schema(type=OpenAPIType.INTEGER, minimum=0))

ACCEPT_LANGUAGE = Parameter(
    name="Accept-Language", param_in="header", required=False,
    description="zh-CN (default) or en: the language of titles, messages, calendar text and e-mails",
    schema=Schema(type=OpenAPIType.STRING))


def problem_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] = {"Content-Language": _CONTENT_LANGUAGE}
    if status in (429, 503):
        headers["Retry-After"] = _RETRY_AFTER
    return OpenAPIResponse(
        description=STATUS_TEXT.get(status, "An error."),
        headers=headers,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


def _public(handler: HTTPRouteHandler, path: str) -> bool:
    return bool(handler.opt.get("exclude_from_auth")) or path.startswith(PUBLIC_PREFIXES)


def _roles(handler: HTTPRouteHandler) -> list[str]:
    for resolved in handler.resolve_guards():
        for guard in getattr(resolved, "guards", (resolved,)):  # the guards of an ``in_order``
            if guard in _ROLES:
                return _ROLES[guard]
    return ["couple", "clerk", "admin"]


def statuses(handler: HTTPRouteHandler, method: str, path: str, operation: Operation) -> set[int]:
    """The problem statuses an operation can answer, from what its route declares."""
    public = _public(handler, path)
    found = {503}
    if not public:
        found |= {401, 403}
    if "{" in path:
        found |= {404, 422}
    if any(getattr(p, "name", "").lower() != "accept-language" for p in operation.parameters or []):
        found.add(422)  # Accept-Language is never refused: an unknown one gets the default
    if operation.request_body is not None:
        found |= {400, 404, 413, 415, 422}  # a body names offices, slots, accounts ...
    if method != "GET":
        found |= {409, 429}
    found |= set(handler.opt.get("problems", ()))
    return found


def _operations(app: Litestar) -> Iterable[tuple[HTTPRouteHandler, str, str]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in handler.http_methods:
                if method not in ("HEAD", "OPTIONS"):
                    yield handler, method, route.path_format


_PATH_TYPE = re.compile(r"\{([^}:]+):[^}]+\}")


# a time of day as the API writes and reads it (Litestar writes `time` as a duration)
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _walk(schema: Any, seen: set[int]) -> Iterable[Schema]:
    if isinstance(schema, Schema) and id(schema) not in seen:
        seen.add(id(schema))
        yield schema
        for child in (*(schema.properties or {}).values(), schema.items, schema.additional_properties,
                      *(schema.one_of or ()), *(schema.any_of or ()), *(schema.all_of or ())):
            yield from _walk(child, seen)


def _closed_inputs(document: OpenAPI, schemas: dict[str, Any]) -> None:
    """Request bodies refuse unknown fields (booking.schemas.Schema: extra="forbid"): say so."""
    todo: list[Any] = []
    for item in (document.paths or {}).values():
        for method in ("post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            body = operation.request_body if operation is not None else None
            for media in (getattr(body, "content", None) or {}).values():
                todo.append(media.schema)
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if isinstance(node, Reference):
            node = schemas.get(node.ref.rsplit("/", 1)[-1])
        if not isinstance(node, Schema) or id(node) in seen:
            continue
        seen.add(id(node))
        if node.properties is not None and node.additional_properties is None:
            node.additional_properties = False
        todo.extend([*(node.properties or {}).values(), node.items, *(node.one_of or ()), *(node.any_of or ()),
                     *(node.all_of or ())])


def _fix_times(document: OpenAPI, schemas: dict[str, Any]) -> None:
    roots: list[Any] = list(schemas.values())
    for item in (document.paths or {}).values():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            roots += [p.schema for p in operation.parameters or [] if isinstance(p, Parameter)]
            body = operation.request_body
            roots += [m.schema for m in (getattr(body, "content", None) or {}).values()]
            for response in (operation.responses or {}).values():
                roots += [m.schema for m in (getattr(response, "content", None) or {}).values()]
    seen: set[int] = set()
    for root in roots:
        for node in _walk(root, seen):
            if node.format == "duration":
                node.format = None
                node.pattern = TIME_PATTERN


def complete(document: OpenAPI, app: Litestar) -> OpenAPI:
    """Add to the generated document what the routes declare but Litestar does not write."""
    components = document.components
    schemas = components.schemas if components.schemas is not None else {}
    _closed_inputs(document, schemas)
    _fix_times(document, schemas)
    schemas["Problem"] = _PROBLEM
    schemas["FieldError"] = _FIELD_ERROR
    components.schemas = schemas
    for handler, method, path in _operations(app):
        item = (document.paths or {}).get(_PATH_TYPE.sub(r"{\1}", path))
        operation = getattr(item, method.lower(), None) if item is not None else None
        if operation is None:
            continue
        public = _public(handler, path)
        operation.security = [] if public else [{"BearerToken": []}]
        parameters = list(operation.parameters or [])
        if not any(getattr(p, "name", "").lower() == "accept-language" for p in parameters):
            parameters.append(ACCEPT_LANGUAGE)
        operation.parameters = parameters
        responses = operation.responses or {}
        media_types = handler.opt.get("media_types")
        if media_types:
            for code, response in responses.items():
                if code.startswith("2") and isinstance(response, OpenAPIResponse) and response.content:
                    response.content = {m: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
                                        for m in media_types}
        # what the handler documents itself (``responses=``) stands
        found = statuses(handler, method, path, operation) - set(handler.responses or {})
        if 400 not in found:
            responses.pop("400", None)  # Litestar's generic one; validation failures answer 422 here
        for status in sorted(found):
            responses[str(status)] = problem_response(status)
        operation.responses = responses
    _link_created(document)
    return document


# the path parameter that names what a collection's POST creates, where it is not <singular>_id
_CREATED_PARAMETER = {"cross-province-applications": "application_id", "divorce-cases": "case_id",
                      "entries": "entry_id", "feeds": "feed_id"}


def _created_parameter(path: str) -> str | None:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if "{" in last:
        return None
    if last in _CREATED_PARAMETER:
        return _CREATED_PARAMETER[last]
    return f"{last[:-1]}_id" if last.endswith("s") else None


def _link_created(document: OpenAPI) -> None:
    """Links from each creating operation (201 with an ``id``) to every operation that takes
    what it created as a path parameter (POST /appointments → GET, cancel, reschedule
    /appointments/{appointment_id} ...): clients and stateful fuzzers follow them."""
    paths = document.paths or {}
    consumers: dict[str, list[tuple[str, str, Operation]]] = {}
    for path, item in paths.items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            for name in re.findall(r"\{([^}]+)\}", path):
                consumers.setdefault(name, []).append((path, method, operation))
    for path, item in paths.items():
        producer = item.post
        created = _created_parameter(path)
        response = (producer.responses or {}).get("201") if producer is not None else None
        if created is None or not isinstance(response, OpenAPIResponse) or created not in consumers:
            continue
        known = set(re.findall(r"\{([^}]+)\}", path))
        links: dict[str, Link | Reference] = {}
        for target, method, operation in consumers[created]:
            needed = set(re.findall(r"\{([^}]+)\}", target))
            if not needed - {created} <= known:
                continue
            parameters: dict[str, Any] = {name: f"$request.path.{name}" for name in needed - {created}}
            parameters[created] = "$response.body#/id"
            name = operation.operation_id or f"{method}{target}"
            links[name] = Link(operation_id=operation.operation_id, parameters=parameters)
        if links:
            response.links = links


def document_truthfully(app: Litestar) -> None:
    """Complete the document when Litestar builds it (lazily, on the first request for it, and
    again if routes are added later)."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _CompletingOpenAPIPlugin  # same slots: only provide_openapi differs


class _CompletingOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def provide_openapi(self) -> OpenAPI:
        if not self._openapi:
            self._openapi = complete(self._build_openapi(), self.app)
        return self._openapi

    def provide_openapi_schema(self) -> dict[str, Any]:
        if not self._openapi_schema:
            schema = self.provide_openapi().to_schema()
            # who may call each protected operation (Litestar's Operation has no extensions)
            for handler, method, path in _operations(self.app):
                operation = schema["paths"].get(_PATH_TYPE.sub(r"{\1}", path), {}).get(method.lower())
                if operation is not None and not _public(handler, path):
                    operation["x-roles"] = _roles(handler)
            pydantic_components(schema)
            self._openapi_schema = schema
        return self._openapi_schema


SCALAR = "vendor/scalar-api-reference-1.76.4.js"


def docs_page() -> ScalarRenderPlugin:
    """/schema: Scalar, served from /static (pinned, with its licence), no request leaving the
    service: no CDN script or stylesheet, no web fonts, no remote favicon."""
    from booking.web.templates import static_url

    return ScalarRenderPlugin(
        js_url=static_url(SCALAR), css_url=static_url("scalar.css"), favicon="",
        options={"withDefaultFonts": False, "hideClientButton": True, "telemetry": False,
                 "showDeveloperTools": "never", "agent": {"disabled": True}, "mcp": {"disabled": True}})


def allowed_methods(app: Litestar) -> dict[str, str]:
    """Each route template's methods. Litestar answers OPTIONS with the methods of the first
    controller that registered a path, even when another adds more to it (GET and POST of
    /api/v1/appointments): ``fix_allow`` answers with them all, as the document lists them."""
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found.setdefault(route.path_format, set()).update(route.methods)
    return {path: ", ".join(sorted(methods)) for path, methods in found.items()}


async def fix_allow(message: Any, scope: Any) -> None:
    """``before_send`` hook: the Allow header of an OPTIONS answer lists every method of the path."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    methods = getattr(scope["app"].state, "allowed_methods", {}).get(scope.get("path_template"))
    if methods:
        message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
        message["headers"].append((b"allow", methods.encode()))


# --- the schemas of the pydantic models, as pydantic validates them ------------------------

DATE_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}$"  # booking.schemas: 1900-01-01 to 2199-12-31


def _models() -> dict[str, type[BaseModel]]:
    """Every pydantic model of the API by the names Litestar gives components: the class name,
    or module and class name where two share a name (``<area>_schemas_<Class>``)."""
    import booking.schemas as base

    found: dict[str, type[BaseModel]] = {}
    todo: list[type[BaseModel]] = [base.Schema, base.Output]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("booking."):
            found.setdefault(cls.__name__, cls)
            found["_".join(cls.__module__.split(".")[1:] + [cls.__name__])] = cls
    return found


def _state_formats(node: Any) -> None:
    """Formats as the API reads and writes them: a time of day has no offset (JSON Schema's
    `time` wants one), a date lies from 1900 to 2199."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") in ("time", "duration"):
            del node["format"]
            node["pattern"] = TIME_PATTERN
        elif node.get("type") == "string" and node.get("format") == "date":
            node["pattern"] = DATE_PATTERN
        for value in node.values():
            _state_formats(value)
    elif isinstance(node, list):
        for value in node:
            _state_formats(value)


def pydantic_components(document: dict[str, Any]) -> None:
    """Replace Litestar's rendering of each pydantic model by pydantic's own JSON Schema
    (2020-12, as OpenAPI 3.1 takes it): the constraints of optional fields, ``extra="forbid"``
    and ``json_schema_extra`` (patterns, enums) stay, so the schema says what validation does."""
    import booking.schemas as base

    components: dict[str, Any] = document.get("components", {}).get("schemas", {})
    models = _models()
    template = "#/components/schemas/{model}"
    for name in list(components):
        model = models.get(name)
        if model is None:
            continue
        mode = "validation" if issubclass(model, base.Schema) else "serialization"
        rendered = model.model_json_schema(ref_template=template, mode=mode)
        for def_name, definition in rendered.pop("$defs", {}).items():
            components.setdefault(def_name, definition)
        rendered["title"] = name  # one name per model: generated clients name their classes by it
        components[name] = rendered
    _state_formats(document)
