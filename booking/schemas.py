"""Building blocks shared by the HTTP schemas of every area."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from booking.errors import invalid
from booking.i18n import N_, lazy
from booking.kernel.regions import PROVINCES, is_province


def invalid_value(message_id: str, **ctx: Any) -> PydanticCustomError:
    """A field error whose message is a catalog id, translated when the problem is rendered."""
    return PydanticCustomError("booking", message_id, ctx or None)


def _leaf_types(annotation: Any) -> frozenset[Any]:
    args = get_args(annotation)
    if not args:
        return frozenset({annotation})
    if get_origin(annotation) is Literal:
        return frozenset(type(a) for a in args)
    if get_origin(annotation) is Annotated:
        return _leaf_types(args[0])
    if get_origin(annotation) in (list, dict, set, tuple, frozenset):
        return frozenset({get_origin(annotation)})
    return frozenset().union(*(_leaf_types(a) for a in args))


_NUMBERS = (int, float, Decimal)


class Schema(BaseModel):
    """Input schemas refuse unknown fields: a client cannot set what it does not own.

    And no coercion the document does not state: ``true`` is not the number 1, nor ``0`` the
    date 1970-01-01 (pydantic's lax mode takes both), so what the schema calls invalid is."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool | int | float) and info.field_name is not None:
            types = _leaf_types(cls.model_fields[info.field_name].annotation)
            if not isinstance(value, bool) and bool in types and not any(
                    isinstance(t, type) and issubclass(t, _NUMBERS) and t is not bool for t in types):
                raise invalid_value("Must be true or false.")
            if isinstance(value, bool):
                if bool not in types and any(isinstance(t, type) and issubclass(t, _NUMBERS) for t in types):
                    if int in types:
                        raise invalid_value("Must be a whole number.")
                    raise invalid_value("Must be a number.")
            elif not any(isinstance(t, type) and issubclass(t, _NUMBERS) for t in types) and Any not in types:
                raise invalid_value("Has an invalid value.")  # e.g. a Unix time for a date
        return value


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _AnswerMeta(msgspec.StructMeta):
    # every answer's fields are keyword-only (msgspec's kw_only is not inherited), so a
    # required field may follow one with a default, in the order the document shows
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **config: Any) -> Any:
        config.setdefault("kw_only", True)
        return super().__new__(mcls, name, bases, namespace, **config)


class Answer(msgspec.Struct, metaclass=_AnswerMeta):
    """A response body that the handler returns as it is: the class the document describes
    is the object Litestar encodes (no dict beside it). A ``msgspec.Struct`` is built and
    encoded about as fast as a dict (bench/encode_response.py); constraints and descriptions
    go in ``Annotated[..., Meta(...)]``. Times are ``datetime`` values already in the zone
    they are shown in (``local``), UTC written as Z."""


def as_json(answer: Any) -> Any:
    """An answer as the API sends it (strings for ids and times): what the pages read. A
    replayed answer (already JSON) passes unchanged."""
    return msgspec.to_builtins(answer)


def local(value: datetime, tz: tzinfo | None = None) -> datetime:
    """A time as an answer shows it: in ``tz`` (an office's or venue's zone), else in UTC."""
    return value.astimezone(tz or UTC)


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise invalid_value("Must be an email address.")
    return value.lower()


# the schema states the same rule (surrounding blanks are stripped before it applies)
EMAIL_PATTERN = r"^\s*[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}\s*$"
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email),
                  Field(json_schema_extra={"pattern": EMAIL_PATTERN})]

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_INTL = re.compile(r"^\+[0-9]{7,15}$")


def _phone(value: str) -> str:
    # [0-9], not \d: digits of other scripts would make one number look like many
    compact = re.sub(r"[\s-]", "", value)
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MOBILE.match(compact) or _INTL.match(compact):
        return compact
    raise invalid_value("Must be a mobile phone number.")


# blanks and hyphens anywhere; a mainland mobile (optionally +86) or an international number
PHONE_PATTERN = (r"^[\s-]*(\+[\s-]*8[\s-]*6[\s-]*)?1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
                 r"|^[\s-]*\+([\s-]*[0-9]){7,15}[\s-]*$")
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), AfterValidator(_phone),
                  Field(json_schema_extra={"pattern": PHONE_PATTERN})]

LOCALE_PATTERN = r"^\s*([zZ][hH]([-_]([cC][nN]|[hH][aA][nN][sS]([-_][cC][nN])?))?|[eE][nN][^\n]*)\s*$"
Locale = Annotated[str, AfterValidator(lambda v: _locale(v)), Field(json_schema_extra={"pattern": LOCALE_PATTERN})]


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


# --- bounds at the boundary: out-of-range input is the caller's 422, never a driver's 500 ---

# Row ids are PostgreSQL ``integer``s: anything larger cannot name a row, and asyncpg refuses
# to encode it. Offsets share the bound (a page that far is empty anyway).
INT_MAX = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=INT_MAX)]
PathId = Annotated[int, PathParameter(ge=1, le=INT_MAX)]
Offset = Annotated[int, QueryParameter(ge=0, le=INT_MAX)]

# Dates far enough either way for any appointment or act of law, near enough that a day or a
# timezone more never overflows Python's calendar.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
# the bounds written out: a field error's message is its catalog id, without arguments
DATE_RANGE = N_("Must be a date from 1900-01-01 to 2199-12-31.")


def _in_date_range(value: date) -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise invalid_value(DATE_RANGE)
    return value


ApiDate = Annotated[date, AfterValidator(_in_date_range)]


def check_date(field: str, value: date | None) -> date | None:
    """The same bound for a query parameter (Litestar parses those without pydantic)."""
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        raise invalid(field, lazy(DATE_RANGE))
    return value


def _no_control_characters(value: str) -> str:
    """Free text may span lines, but no other control character: PostgreSQL refuses NUL
    in text, and the rest would reach e-mails and clerks' screens."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise invalid_value("Must not contain control characters.")
    return value


class _Checked:
    """An after-validator that also states its rule in the JSON Schema (a pattern)."""

    def __init__(self, check: Any, pattern: str) -> None:
        self.check, self.pattern = check, pattern

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        rendered = handler(schema)
        rendered["pattern"] = self.pattern
        return rendered


# no C0/C1 control character but tab, line feed and carriage return
PlainText = _Checked(_no_control_characters, "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$")


def _local_time(value: time) -> time:
    """Times of day in rules and schedules are the office's local times: an offset would be
    stored, and every later reader comparing it with a local time would fail."""
    if value.tzinfo is not None:
        raise invalid_value("Must be a local time without a UTC offset (HH:MM).")
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]


def _one_line(value: str) -> str:
    """Names, titles, venues and addresses are one line: they become e-mail headers,
    calendar and CSV fields. No control character, no line or paragraph separator."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value) or not value.isprintable():
        raise invalid_value("Has an invalid value.")
    return value


# the pattern states the controls and separators; "printable" (no format or unassigned
# character, no blank but the space) is more than a pattern can say
OneLine = _Checked(_one_line, "^[^\\x00-\\x1f\\x7f-\\xa0\\u2028\\u2029]*$")


def _province(value: str) -> str:
    if not is_province(value):
        raise invalid_value("Must be a two-digit GB/T 2260 province code.")
    return value


# a province-level division by its two-digit GB/T 2260 code (an office's, a party's hukou)
ProvinceCode = Annotated[str, AfterValidator(_province), Field(json_schema_extra={"enum": sorted(PROVINCES)})]


class DecisionIn(Schema):
    """A clerk's decision on what a couple asked for: approving needs no reason, every other
    decision does (the couple reads it as written). Each area states its decisions and how
    long a reason may be: ``SignupDecisionIn``, ``ApplicationDecisionIn``."""

    decision: str
    reason: str | None = Field(default=None, validate_default=True)

    @field_validator("reason")
    @classmethod
    def _reason_unless_approving(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and info.data.get("decision", "approve") != "approve":
            raise invalid_value("A reason is required for this decision.")
        return value or None


class CheckInIn(Schema):
    """A booking code typed or scanned at a desk (an appointment's or a sign-up's)."""

    # what the schema says is what is checked: letters, digits, spaces and dashes, no
    # surrounding whitespace (the pages strip what a clerk typed; the API takes it as sent)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    code: Annotated[str, StringConstraints(min_length=4, max_length=16,
                                           pattern=r"^[0-9A-Za-z][0-9A-Za-z -]{2,14}[0-9A-Za-z]$")]
