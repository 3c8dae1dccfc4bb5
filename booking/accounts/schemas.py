"""Accounts at the HTTP boundary."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from booking.schemas import Email, Locale, OneLine, Output, Phone, Schema, invalid_value

Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# a name is one line: it becomes the display name of e-mail headers
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine]


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


class MfaChallengeOut(Output):
    """A staff login's first step: the password was right; the second factor comes next."""

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="for POST /api/v1/auth/mfa/enrol and /api/v1/auth/mfa/verify")
    expires_in: int
    enrolled: bool = Field(description="false: enrol first (POST /api/v1/auth/mfa/enrol)")


MfaToken = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class MfaEnrolIn(Schema):
    mfa_token: MfaToken


class MfaEnrolOut(Output):
    secret: str = Field(description="base32 TOTP secret for an authenticator app")
    otpauth_uri: str = Field(description="the same as an otpauth:// URI (show it as a QR code)")


class MfaVerifyIn(Schema):
    # exactly one of the two, as the document says (oneOf: a string in one field, and not
    # in both); the validator below is the same rule
    model_config = ConfigDict(**Schema.model_config, json_schema_extra={"oneOf": [
        {"required": ["code"], "properties": {"code": {"type": "string"}}},
        {"required": ["recovery_code"], "properties": {"recovery_code": {"type": "string"}}}]})

    mfa_token: MfaToken
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None
    # six characters once the surrounding blanks are stripped
    recovery_code: Annotated[str, StringConstraints(min_length=6, max_length=32),
                             Field(json_schema_extra={"pattern": r"^\s*\S.{4,}\S\s*$"})] | None = None

    @model_validator(mode="after")
    def _one(self) -> MfaVerifyIn:
        if (self.code is None) == (self.recovery_code is None):
            raise invalid_value("Give either a code or a recovery code.")
        return self


class MfaTokenOut(TokenOut):
    recovery_codes: list[str] | None = Field(
        default=None, description="at enrolment only: ten one-time codes, shown this once")


class UserCreate(Schema):
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


class AccountList(Output):
    data: list[AccountOut]


class OfficeMoveIn(Schema):
    office_id: int = Field(ge=1, le=2**31 - 1)
