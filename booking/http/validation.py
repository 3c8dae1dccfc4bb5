"""Validation failures as field errors with translatable messages: pydantic's error types
(the API's bodies, the pages' forms) and msgspec's English prose (query, path and header
parameters) mapped to the same messages."""

from __future__ import annotations

import re
from typing import Any

from litestar.exceptions import ValidationException

from booking.errors import field_error
from booking.i18n import N_, LazyText, lazy

# pydantic error types → translatable messages; custom validators raise
# PydanticCustomError("booking", "<message id>") and are translated by their message id.
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "string_type": N_("Must be text."),
    "string_too_short": N_("Must be at least {min_length} characters."),
    "string_too_long": N_("Must be at most {max_length} characters."),
    "string_pattern_mismatch": N_("Has the wrong format."),
    "int_type": N_("Must be a whole number."),
    "int_parsing": N_("Must be a whole number."),
    "int_from_float": N_("Must be a whole number."),
    "float_type": N_("Must be a number."),
    "float_parsing": N_("Must be a number."),
    "decimal_parsing": N_("Must be a number."),
    "bool_type": N_("Must be true or false."),
    "bool_parsing": N_("Must be true or false."),
    "greater_than": N_("Must be greater than {gt}."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than": N_("Must be less than {lt}."),
    "less_than_equal": N_("Must be at most {le}."),
    "too_short": N_("Must have at least {min_length} items."),
    "too_long": N_("Must have at most {max_length} items."),
    "literal_error": N_("Must be one of: {expected}."),
    "enum": N_("Must be one of: {expected}."),
    "date_type": N_("Must be a date (YYYY-MM-DD)."),
    "date_parsing": N_("Must be a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("Must be a date (YYYY-MM-DD)."),
    "datetime_type": N_("Must be a date and time with an offset."),
    "datetime_parsing": N_("Must be a date and time with an offset."),
    "datetime_from_date_parsing": N_("Must be a date and time with an offset."),
    "timezone_aware": N_("Must include a timezone offset."),
    "time_type": N_("Must be a time (HH:MM)."),
    "time_parsing": N_("Must be a time (HH:MM)."),
    "uuid_type": N_("Must be a UUID."),
    "uuid_parsing": N_("Must be a UUID."),
    "json_invalid": N_("The body is not valid JSON."),
    "dict_type": N_("Must be an object."),
    "list_type": N_("Must be a list."),
    "model_type": N_("Must be an object."),
    "model_attributes_type": N_("Must be an object."),
    "extra_forbidden": N_("Unknown field."),
    "value_error": N_("Has an invalid value."),
    "assertion_error": N_("Has an invalid value."),
    "url_parsing": N_("Must be a URL."),
}


def _message_for(error: dict[str, Any]) -> LazyText:
    kind = error.get("type", "value_error")
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (str, int, float))}
    if kind == "booking":  # our own validators: the message template is the message id
        return LazyText(error.get("msg_template") or error.get("msg", ""), tuple(ctx.items()))
    template = _PYDANTIC_MESSAGES.get(kind, "Has an invalid value.")
    try:
        template.format(**ctx)
    except (KeyError, IndexError):
        return lazy("Has an invalid value.")
    return LazyText(template, tuple(ctx.items()))


_MSGSPEC_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `(?:int|float)` <= (?P<le>[-\d.]+)"), "less_than_equal"),
    (re.compile(r"Expected `(?:int|float)` >= (?P<ge>[-\d.]+)"), "greater_than_equal"),
    (re.compile(r"Expected `(?:int|float)` < (?P<lt>[-\d.]+)"), "less_than"),
    (re.compile(r"Expected `(?:int|float)` > (?P<gt>[-\d.]+)"), "greater_than"),
    (re.compile(r"Expected `int`"), "int_type"),
    (re.compile(r"Expected `(?:float|number)`"), "float_type"),
    (re.compile(r"Expected `bool`"), "bool_type"),
    (re.compile(r"Expected `str` matching regex"), "string_pattern_mismatch"),
    (re.compile(r"Expected `str` of length <= (?P<max_length>\d+)"), "string_too_long"),
    (re.compile(r"Expected `str` of length >= (?P<min_length>\d+)"), "string_too_short"),
    (re.compile(r"Invalid enum value"), "enum_value"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?date"), "date_parsing"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?datetime"), "datetime_parsing"),
    (re.compile(r"Invalid (?:RFC 3339 encoded )?time"), "time_parsing"),
    (re.compile(r"Invalid UUID"), "uuid_parsing"),
    (re.compile(r"Missing required"), "missing"),
]


def _msgspec_message(message: str) -> LazyText:
    """Query, path and header parameters are validated by msgspec, whose messages are
    English prose; map the common ones to the same translatable messages."""
    for pattern, kind in _MSGSPEC_PATTERNS:
        match = pattern.search(message)
        if match:
            if kind == "enum_value":
                return lazy("Is not one of the allowed values.")
            return _message_for({"type": kind, "ctx": match.groupdict()})
    return lazy("Has an invalid value.")


def _field_name(loc: Any, source: str | None) -> str:
    parts = [str(p) for p in (loc if isinstance(loc, (list, tuple)) else [loc])]
    if parts and parts[0] == "data":
        parts = parts[1:]
    return ".".join(parts) if parts else (source or "body")


def pydantic_field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Field errors, with translatable messages, from pydantic's ``errors()`` (the API's
    bodies, and the pages' forms, which are read with the same schemas)."""
    return [field_error(_field_name(err.get("loc", ()), "body"), _message_for(err)) for err in errors]


def validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    """Field errors from a Litestar validation failure, with translatable messages."""
    cause = exc.__cause__
    detailed = getattr(cause, "errors", None)
    out: list[dict[str, Any]] = []
    if isinstance(detailed, list) and detailed and isinstance(detailed[0], dict) and "type" in detailed[0]:
        return pydantic_field_errors(detailed)
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key = item.get("key") or item.get("source") or "body"
        out.append(field_error(str(key), _msgspec_message(str(item.get("message", "")))))
    if not out:
        out.append(field_error("body", lazy("The body is not valid JSON.")))
    return out
