"""Accounts at the HTTP boundary."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from booking.schemas import Email, Locale, Output, Phone, Schema

Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RegisterIn(Schema):
    email: Email
    password: Password
    name: Name
    phone: Phone | None = None
    locale: Locale | None = None


class RegisteredOut(Output):
    id: uuid.UUID
    email: str
    role: Literal["couple"] = "couple"


class LoginIn(Schema):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TokenOut(Output):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class UserCreateIn(Schema):
    """An admin creates a clerk (bound to one office) or another admin."""

    email: Email
    password: Password
    name: Name
    role: Literal["clerk", "admin"]
    office_id: int | None = Field(default=None, ge=1)
    locale: Locale | None = None


class AccountOut(Output):
    id: uuid.UUID
    email: str
    name: str
    role: str
    office_id: int | None = None
    locale: str
    phone: str | None = Field(default=None, description="masked")
    active: bool = True


class OfficeMoveIn(Schema):
    office_id: int = Field(ge=1, le=2**31 - 1)
