"""Offices at the HTTP boundary."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from booking.kernel.catalog import ServiceName
from booking.offices.rules import BookingRules
from booking.schemas import Email, OneLine, Output, ProvinceCode, Schema, invalid_value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid_value("Must be an IANA timezone such as Asia/Shanghai.") from None
    return value


# what the validators accept, stated in the schema too (a client's own validation agrees)
Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone),
                     Field(json_schema_extra={"enum": sorted(available_timezones())})]
OfficeCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name200 = Annotated[Text200, OneLine]  # e-mail sender names and calendar ORGANIZERs
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


def _services(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise invalid_value("Each service may be listed once.")
    return value


class OfficeCreate(Schema):
    code: OfficeCode
    name_zh: Name200
    name_en: Name200
    province_code: ProvinceCode
    division_code: DivisionCode | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    address_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    address_en: Text300 = ""
    timezone: Timezone = "Asia/Shanghai"
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    services: Annotated[list[ServiceName], Field(min_length=1, json_schema_extra={"uniqueItems": True}),
                       AfterValidator(_services)]
    rules: BookingRules = Field(default_factory=BookingRules)

    @field_validator("division_code")
    @classmethod
    def _division_in_province(cls, value: str | None, info: object) -> str | None:
        data = getattr(info, "data", {})
        if value is not None and data.get("province_code") and not value.startswith(data["province_code"]):
            raise invalid_value("The division code must lie in the office's province.")
        return value


class OfficeUpdate(Schema):
    name_zh: Name200 | None = None
    name_en: Name200 | None = None
    province_code: ProvinceCode | None = None
    division_code: DivisionCode | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    address_zh: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    address_en: Text300 | None = None
    timezone: Timezone | None = None
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    services: Annotated[list[ServiceName], Field(min_length=1, json_schema_extra={"uniqueItems": True}),
                       AfterValidator(_services)] | None = None
    rules: BookingRules | None = None
    is_active: bool | None = None


class OfficeOut(Output):
    id: int
    code: str
    name: str = Field(description="in the caller's language")
    name_zh: str
    name_en: str
    province_code: str
    division_code: str | None
    city: str
    address: str = Field(description="in the caller's language")
    timezone: str
    email: str | None
    phone: str | None
    services: list[str]
    rules: BookingRules


class OfficeList(Output):
    data: list[OfficeOut]
    total: int
    limit: int
    offset: int


