"""Registering, logging in, and creating staff accounts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.accounts.schemas import AccountOut, RegisterIn, UserCreateIn
from booking.audit.services import record
from booking.db.models import Office, UserAccount
from booking.errors import Conflict, NotFound, TooManyRequests, Unauthorized, invalid
from booking.i18n import lazy
from booking.runtime import Runtime
from booking.security.pii import mask_phone


class EmailTaken(Conflict):
    code = "email-taken"
    title = lazy("An account with this email already exists.")


class InvalidCredentials(Unauthorized):
    code = "invalid-credentials"
    title = lazy("The email or password is not correct.")


class LoginLocked(TooManyRequests):
    code = "login-locked"
    title = lazy("Too many failed logins; try again later.")


async def register_couple(session: AsyncSession, rt: Runtime, data: RegisterIn) -> UserAccount:
    account = UserAccount(
        email=data.email,
        password_hash=await rt.passwords.hash(data.password),
        name=data.name,
        role="couple",
        locale=data.locale or rt.settings.default_locale,
    )
    if data.phone:
        account.phone_enc = rt.vault.encrypt(data.phone, context="account.phone")
        account.phone_masked = mask_phone(data.phone)
    session.add(account)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken() from exc
    return account


async def create_staff(session: AsyncSession, rt: Runtime, data: UserCreateIn, actor: Principal) -> UserAccount:
    if data.role == "clerk":
        if data.office_id is None:
            raise invalid("office_id", lazy("A clerk must belong to an office."))
        if await session.get(Office, data.office_id) is None:
            raise invalid("office_id", lazy("No such office."))
    account = UserAccount(
        email=data.email,
        password_hash=await rt.passwords.hash(data.password),
        name=data.name,
        role=data.role,
        office_id=data.office_id if data.role == "clerk" else None,
        locale=data.locale or rt.settings.default_locale,
    )
    session.add(account)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken() from exc
    record(session, actor, "account.create", target_type="account", target_id=account.id,
           office_id=account.office_id, role=account.role)
    await session.commit()
    return account


async def login(session: AsyncSession, rt: Runtime, email: str, password: str) -> UserAccount:
    """Check a password; lock the account for a while after repeated failures.

    The failure counter is updated with one conditional statement, so concurrent wrong
    guesses cannot slip past the limit.
    """
    now = rt.clock.now()
    account = (await session.execute(select(UserAccount).where(UserAccount.email == email))).scalar_one_or_none()
    if account is not None:
        session.expunge(account)  # keep what was read: the rollback below would expire it
    await session.rollback()  # nothing written yet: no transaction is held while hashing
    if account is not None and account.locked_until is not None and account.locked_until > now:
        retry = max(1, int((account.locked_until - now).total_seconds()))
        raise LoginLocked(headers={"Retry-After": str(retry)})
    ok = await rt.passwords.verify(account.password_hash if account else None, password)
    if account is None or not account.is_active:
        raise InvalidCredentials()
    if not ok:
        await _count_failure(session, rt, account.id, now)
        raise InvalidCredentials()
    if account.failed_logins:
        await session.execute(
            update(UserAccount).where(UserAccount.id == account.id).values(failed_logins=0, locked_until=None)
        )
        await session.commit()
    return account


async def _count_failure(session: AsyncSession, rt: Runtime, account_id: uuid.UUID, now: datetime) -> None:
    limit = rt.settings.login_max_failures
    result = await session.execute(
        update(UserAccount)
        .where(UserAccount.id == account_id)
        .values(failed_logins=UserAccount.failed_logins + 1)
        .returning(UserAccount.failed_logins)
    )
    failures = result.scalar_one()
    if failures >= limit:
        await session.execute(
            update(UserAccount)
            .where(UserAccount.id == account_id)
            .values(failed_logins=0, locked_until=now + timedelta(seconds=rt.settings.login_lockout_seconds))
        )
    await session.commit()


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> UserAccount:
    account = await session.get(UserAccount, account_id)
    if account is None or not account.is_active:
        raise NotFound()
    return account


def account_out(account: UserAccount) -> AccountOut:
    return AccountOut(
        id=account.id,
        email=account.email,
        name=account.name,
        role=account.role,
        office_id=account.office_id,
        locale=account.locale,
        phone=account.phone_masked,
        active=account.is_active,
    )
