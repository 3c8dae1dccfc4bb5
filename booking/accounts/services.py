"""Registering, logging in, and creating staff accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.schemas import AccountOut, RegisterIn, UserCreate
from booking.context import Context
from booking.db.models import Office, UserAccount
from booking.db.unique import flush_or
from booking.errors import Conflict, NotFound, Unauthorized, invalid
from booking.i18n import lazy
from booking.kernel.audit import record
from booking.runtime import Runtime
from booking.security.pii import mask_phone


class EmailTaken(Conflict):
    code = "email-taken"
    title = lazy("An account with this email already exists.")


class InvalidCredentials(Unauthorized):
    code = "invalid-credentials"
    title = lazy("The email or password is not correct.")


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
    await flush_or(session, EmailTaken())
    await session.commit()
    return account


async def create_staff(ctx: Context, data: UserCreate) -> UserAccount:
    session, rt, actor = ctx.session, ctx.rt, ctx.caller
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
    await flush_or(session, EmailTaken())
    record(session, actor, "account.create", target_type="account", target_id=account.id,
           office_id=account.office_id, role=account.role)
    await session.commit()
    return account


async def login(session: AsyncSession, rt: Runtime, email: str, password: str, address: str) -> UserAccount:
    """Check a password under the login throttle (``booking.accounts.throttle``): the same
    answers for an unknown e-mail, a wrong password and a deactivated account (401), and
    for any of them while throttled (429)."""
    throttle = rt.login_throttle
    now = rt.clock.now().timestamp()
    await throttle.check(email, address, now)
    account = (await session.execute(select(UserAccount).where(UserAccount.email == email))).scalar_one_or_none()
    if account is not None:
        session.expunge(account)  # keep what was read: the rollback below would expire it
    await session.rollback()  # nothing written: no transaction is held while hashing
    ok = await rt.passwords.verify(account.password_hash if account else None, password)
    if account is None or not account.is_active or not ok:
        await throttle.failed(email, address, now)
        raise InvalidCredentials()
    await throttle.succeeded(email, address)
    return account


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
