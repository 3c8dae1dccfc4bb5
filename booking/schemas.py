"""Building blocks shared by the HTTP schemas of every area."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from litestar.params import HeaderParameter, QueryParameter
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError


def invalid_value(message_id: str, **ctx: Any) -> PydanticCustomError:
    """A field error whose message is a catalog id, translated when the problem is rendered."""
    return PydanticCustomError("booking", message_id, ctx or None)


class Schema(BaseModel):
    """Input schemas refuse unknown fields: a client cannot set what it does not own."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise invalid_value("Must be an email address.")
    return value.lower()


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_INTL = re.compile(r"^\+[0-9]{7,15}$")


def _phone(value: str) -> str:
    # [0-9], not \\d: digits of other scripts would make one number look like many
    compact = re.sub(r"[\s-]", "", value)
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MOBILE.match(compact) or _INTL.match(compact):
        return compact
    raise invalid_value("Must be a mobile phone number.")


Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), AfterValidator(_phone)]

Locale = Annotated[str, AfterValidator(lambda v: _locale(v))]


def _locale(value: str) -> str:
    if value.lower().replace("-", "_") in ("zh", "zh_cn", "zh_hans", "zh_hans_cn"):
        return "zh_Hans_CN"
    if value.lower().startswith("en"):
        return "en"
    raise invalid_value("Must be zh-CN or en.")


def iso(value: datetime, tz: tzinfo | None = None) -> str:
    """A time as the API writes it: ISO 8601 with an offset (the office's when ``tz`` is
    given), UTC written as Z, as pydantic writes it."""
    text = value.astimezone(tz or UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", required=False, max_length=200, pattern=r"^[\x21-\x7e]{1,200}$",
    description="retrying with the same key and body returns the first answer and creates nothing more")]


# Bounds for list parameters: deep paging past a million rows is not a use, and an
# unbounded integer would reach the database as an out-of-range value.
MAX_OFFSET = 1_000_000
Offset = Annotated[int, QueryParameter(description="rows to skip", ge=0, le=MAX_OFFSET)]
