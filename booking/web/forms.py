"""Forms of the pages, posted as ordinary HTML forms and read with the API's own schemas.

Field names are the API's JSON paths (``parties.0.id_number``), so a field error from a
schema or from a service (``InvalidInput(errors=[{"field": "parties.0.id_number", ...}])``)
lands beside the field it names without any mapping table, and no rule is checked twice:
the page builds the API's input model and calls the API's service.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from booking.context import Context
from booking.errors import InvalidInput, Problem
from booking.http.validation import pydantic_field_errors
from booking.i18n import LazyText

M = TypeVar("M", bound=BaseModel)

# the two parties' fields, as the booking, application and sign-up forms show them
PARTY_FIELDS = ("name", "id_type", "id_number", "phone", "hukou_province", "sex", "birth_date")
PARTIES_SHOWN = tuple(f"parties.{i}.{f}" for i in (0, 1) for f in PARTY_FIELDS)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # as the API's Idempotency-Key header


def idempotency_key(form: Mapping[str, Any]) -> str | None:
    """The form's own key (drawn when the form was shown): a double tap or a retried post
    gets the first answer instead of a second booking."""
    key = form.get("idempotency_key")
    return key if isinstance(key, str) and _KEY.match(key) else None


def unflatten(form: Mapping[str, Any], roots: Iterable[str]) -> dict[str, Any]:
    """``{"parties.0.name": "张伟"}`` → ``{"parties": [{"name": "张伟"}]}``, for the fields
    under ``roots`` only (the CSRF token and the page's own fields stay out). Empty fields
    are left out, so an optional field is absent and a required one is reported missing."""
    wanted = set(roots)
    out: dict[str, Any] = {}
    for key, value in form.items():
        if not isinstance(value, str) or key.split(".", 1)[0] not in wanted:
            continue
        value = value.strip()
        if value == "":
            continue
        node: Any = out
        parts = key.split(".")
        for part, following in zip(parts, parts[1:], strict=False):
            child: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                node[index] = node[index] if node[index] is not None else child
                node = node[index]
            else:
                node = node.setdefault(part, child)
        if isinstance(node, list):
            index = int(parts[-1])
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[parts[-1]] = value
    return _no_holes(out)


def _no_holes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_holes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_holes(v) if v is not None else {} for v in value]
    return value


def parse(schema: type[M], data: dict[str, Any]) -> M:
    """The API's input model, or the API's 422 with its field errors."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(errors=pydantic_field_errors(exc.errors())) from None


@dataclass
class FormState:
    """What a form shows again after a refusal: the values typed, a message per field, and
    the problem's title and detail at the top (announced to screen readers)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, LazyText | str] = field(default_factory=dict)
    title: LazyText | None = None
    detail: LazyText | None = None
    others: list[LazyText | str] = field(default_factory=list)  # field errors no field shows

    @property
    def failed(self) -> bool:
        return self.title is not None

    def key(self) -> str:
        """The idempotency key for the form shown: the one it was posted with, else a new one."""
        return self.values.get("idempotency_key") or uuid.uuid4().hex


def refused(problem: Problem, form: Mapping[str, Any] | None = None, shown: Iterable[str] = ()) -> FormState:
    """The form again, with ``problem``'s field errors beside the fields in ``shown`` (the
    form's field names) and the rest listed at the top."""
    visible = set(shown)
    state = FormState(values={k: v for k, v in (form or {}).items() if isinstance(v, str) and k != "_csrf_token"},
                      title=problem.title, detail=problem.detail)
    for error in problem.errors or []:
        name = str(error.get("field", ""))
        if name in visible and name not in state.errors:
            state.errors[name] = error["message"]
        else:
            state.others.append(error["message"])
    party = problem.extra.get("party")
    if isinstance(party, int) and f"parties.{party - 1}.id_number" in visible:
        state.errors.setdefault(f"parties.{party - 1}.id_number", problem.title)
    return state


async def posted(request: Any) -> dict[str, Any]:
    """The posted form as a plain dict (one value per name; uploaded files as ``UploadFile``)."""
    form = await request.form()
    return {key: form.get(key) for key in form}


Again = Callable[[FormState, int], Awaitable[Any]]


async def submit(ctx: Context, form: Mapping[str, Any], shown: Iterable[str],
                 act: Callable[[], Awaitable[Any]], again: Again, *,
                 passes: tuple[type[Problem], ...] = ()) -> Any:
    """A page's post: ``act`` parses the form, calls the service and answers (a redirect).
    A refusal rolls the request's transaction back and renders the page ``again`` with the
    form as typed, the problem beside the fields in ``shown``, and the problem's status.
    Problems of the types in ``passes`` are not the form's: they go on (a 404 page)."""
    try:
        return await act()
    except Problem as problem:
        if isinstance(problem, passes):
            raise
        await ctx.session.rollback()
        return await again(refused(problem, form, shown), problem.status)
