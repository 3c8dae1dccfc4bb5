"""The staff second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s) and recovery codes.

Clerks and admins enrol at their first login when ``BOOKING_STAFF_MFA_REQUIRED`` is on (the
default in production; off by default in development and tests, where staff who have
enrolled still must use it). The secret is kept encrypted under the data key; a code is
accepted once (its time step is recorded, so a seen code cannot be replayed); each of the
ten recovery codes, shown once at enrolment, is stored as a keyed hash and works once.
Enrolment, every sign-in with the second factor, every refused code and an admin's reset
are audited.

Services on account ids, so the API (``booking.accounts.controllers``) and web pages share
them; how the half-logged-in state is carried (a short token, a cookie) is the caller's.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.accounts.revocation import AccountGate
from booking.accounts.tokens import read_mfa_token
from booking.context import Context
from booking.db.models import RecoveryCode, UserAccount
from booking.errors import Conflict, Forbidden, NotFound, Unauthorized
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.runtime import Runtime

ISSUER = "婚姻登记预约"
RECOVERY_CODES = 10
STAFF_ROLES = ("clerk", "admin")


class InvalidSecondFactor(Unauthorized):
    code = "invalid-mfa-code"
    title = lazy("The code is not correct.")


class AlreadyEnrolled(Conflict):
    code = "mfa-enrolled"
    title = lazy("A second factor is already set up for this account.")


class SecondFactorRequired(Forbidden):
    code = "mfa-required"
    title = lazy("Staff accounts sign in with their second factor through the staff sign-in.")


class NotEnrolling(Conflict):
    code = "mfa-not-started"
    title = lazy("Start setting up the second factor first.")


def needs_second_factor(rt: Runtime, account: UserAccount) -> bool:
    return account.role in STAFF_ROLES and (account.totp_enabled_at is not None or rt.settings.staff_mfa_required)


def _context(account_id: uuid.UUID) -> str:
    return f"account.totp:{account_id}"


def _recovery_hash(rt: Runtime, account_id: uuid.UUID, code: str) -> str:
    return rt.vault.lookup_hash(f"{account_id}:{code.replace('-', '').replace(' ', '').lower()}",
                                kind="recovery_code")


def _actor(account: UserAccount) -> Principal:
    return Principal(account.id, account.role, account.office_id)


async def _staff(session: AsyncSession, account_id: uuid.UUID) -> UserAccount:
    account = await session.get(UserAccount, account_id)
    if account is None or not account.is_active or account.role not in STAFF_ROLES:
        raise NotFound()
    return account


async def start_enrolment(session: AsyncSession, rt: Runtime, account_id: uuid.UUID) -> tuple[str, str]:
    """A new secret (replacing one not yet confirmed): the secret and its otpauth:// URI."""
    account = await _staff(session, account_id)
    if account.totp_enabled_at is not None:
        raise AlreadyEnrolled()
    secret = pyotp.random_base32()
    await session.execute(update(UserAccount).where(UserAccount.id == account_id, UserAccount.totp_enabled_at.is_(
        None)).values(totp_secret_enc=rt.vault.encrypt(secret, context=_context(account_id)),  # type: ignore[union-attr]
                      totp_last_step=None))
    await session.commit()
    return secret, provisioning_uri(account.email, secret)


def provisioning_uri(email: str, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code) for ``secret``."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)  # type: ignore[no-any-return]


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None


async def _take_step(session: AsyncSession, account_id: uuid.UUID, step: int) -> bool:
    """Record the step as used, unless it (or a later one) was: each code works once."""
    taken = await session.execute(
        update(UserAccount).where(UserAccount.id == account_id,
                                  (UserAccount.totp_last_step.is_(None)) | (UserAccount.totp_last_step < step))  # type: ignore[union-attr,operator]
        .values(totp_last_step=step).returning(UserAccount.id))
    return taken.first() is not None


async def _refuse(session: AsyncSession, account: UserAccount, method: str, now: datetime) -> InvalidSecondFactor:
    actor, office_id = _actor(account), account.office_id  # read before the rollback expires them
    await session.rollback()
    record(session, actor, "account.mfa_verify", target_type="account", target_id=actor.id,
           office_id=office_id, outcome="refused", at=now, method=method)
    await session.commit()
    return InvalidSecondFactor()


async def confirm_enrolment(session: AsyncSession, rt: Runtime, account_id: uuid.UUID, code: str) -> list[str]:
    """The first code from the app confirms the secret; returns the recovery codes (shown once)."""
    now = rt.clock.now()
    account = await _staff(session, account_id)
    if account.totp_enabled_at is not None:
        raise AlreadyEnrolled()
    if account.totp_secret_enc is None:
        raise NotEnrolling()
    step = _matching_step(rt.vault.decrypt(account.totp_secret_enc, context=_context(account_id)), code, now)
    if step is None or not await _take_step(session, account_id, step):
        raise await _refuse(session, account, "totp", now)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    session.add_all([RecoveryCode(account_id=account_id, code_hash=_recovery_hash(rt, account_id, c)) for c in codes])
    await session.execute(update(UserAccount).where(UserAccount.id == account_id).values(totp_enabled_at=now))
    record(session, _actor(account), "account.mfa_enrol", target_type="account", target_id=account_id,
           office_id=account.office_id, at=now)
    await session.commit()
    return codes


async def verify(session: AsyncSession, rt: Runtime, account_id: uuid.UUID, *, code: str | None = None,
                 recovery_code: str | None = None) -> UserAccount:
    """The second step of a staff login: a current TOTP code or an unused recovery code."""
    now = rt.clock.now()
    account = await _staff(session, account_id)
    if account.totp_enabled_at is None or account.totp_secret_enc is None:
        raise NotEnrolling()
    if code is not None:
        step = _matching_step(rt.vault.decrypt(account.totp_secret_enc, context=_context(account_id)), code, now)
        if step is None or not await _take_step(session, account_id, step):
            raise await _refuse(session, account, "totp", now)
        method = "totp"
    else:
        used = await session.execute(
            update(RecoveryCode).where(RecoveryCode.account_id == account_id,
                                       RecoveryCode.code_hash == _recovery_hash(rt, account_id, recovery_code or ""),
                                       RecoveryCode.used_at.is_(None))  # type: ignore[union-attr]
            .values(used_at=now).returning(RecoveryCode.code_hash))
        if used.first() is None:
            raise await _refuse(session, account, "recovery_code", now)
        method = "recovery_code"
    left = len((await session.execute(select(RecoveryCode.code_hash).where(
        RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)))).all())  # type: ignore[union-attr]
    record(session, _actor(account), "account.mfa_verify", target_type="account", target_id=account_id,
           office_id=account.office_id, at=now, method=method, recovery_codes_left=left)
    await session.commit()
    return account


async def reset(ctx: Context, gate: AccountGate, account_id: uuid.UUID) -> None:
    """An admin clears a staff member's second factor (a lost phone and codes): they enrol
    again at their next login; their sessions end."""
    session, actor = ctx.session, ctx.caller
    account = await _staff(session, account_id)
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    await session.execute(update(UserAccount).where(UserAccount.id == account_id).values(
        totp_secret_enc=None, totp_enabled_at=None, totp_last_step=None,
        session_version=UserAccount.session_version + 1))
    record(session, actor, "account.mfa_reset", target_type="account", target_id=account_id,
           office_id=account.office_id)
    await session.commit()
    gate.forget(account_id)


async def half_logged_in(session: AsyncSession, runtime: Runtime, mfa_token: str) -> UserAccount:
    """The account of a password sign-in waiting for its second factor (the short-lived
    token the first step gave), while it is still active and not logged out since."""
    found = read_mfa_token(runtime.settings, mfa_token)
    account = await session.get(UserAccount, found[0]) if found else None
    if found is None or account is None or not account.is_active or account.session_version != found[1]:
        raise Unauthorized()
    return account
