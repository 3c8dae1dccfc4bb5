"""Admins end and restore access: deactivate and reactivate accounts, move a clerk to another
office. Each change raises the account's session version, so every token issued before it
is refused (at once in this process, within the account cache period in the others), and
each is audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.revocation import AccountGate
from booking.context import Context
from booking.db.models import Office, UserAccount
from booking.errors import Conflict, NotFound, invalid
from booking.i18n import lazy
from booking.kernel.audit import record


class CannotChangeOwnAccount(Conflict):
    code = "own-account"
    title = lazy("Admins cannot deactivate their own account.")


class NotAClerk(Conflict):
    code = "not-a-clerk"
    title = lazy("Only a clerk belongs to an office.")


async def _account(session: AsyncSession, account_id: uuid.UUID) -> UserAccount:
    account = await session.get(UserAccount, account_id, with_for_update=True)
    if account is None:
        raise NotFound()
    return account


async def _bump(session: AsyncSession, account_id: uuid.UUID, **values: object) -> None:
    await session.execute(update(UserAccount).where(UserAccount.id == account_id)
                          .values(session_version=UserAccount.session_version + 1, **values))


async def set_active(ctx: Context, gate: AccountGate, account_id: uuid.UUID,
                     active: bool) -> UserAccount:
    session, actor = ctx.session, ctx.caller
    if account_id == actor.id and not active:
        raise CannotChangeOwnAccount()
    account = await _account(session, account_id)
    if account.is_active != active:
        await _bump(session, account_id, is_active=active)
        record(session, actor, "account.reactivate" if active else "account.deactivate", target_type="account",
               target_id=account_id, office_id=account.office_id, role=account.role)
    await session.commit()
    gate.forget(account_id)
    await session.refresh(account)
    return account


async def move_clerk(ctx: Context, gate: AccountGate, account_id: uuid.UUID,
                     office_id: int) -> UserAccount:
    session, actor = ctx.session, ctx.caller
    account = await _account(session, account_id)
    if account.role != "clerk":
        raise NotAClerk()
    if await session.get(Office, office_id) is None:
        raise invalid("office_id", lazy("No such office."))
    if account.office_id != office_id:
        previous = account.office_id
        await _bump(session, account_id, office_id=office_id)
        # both offices see the move in their audit log
        for office in (previous, office_id):
            record(session, actor, "account.office_change", target_type="account", target_id=account_id,
                   office_id=office, from_office=previous, to_office=office_id)
    await session.commit()
    gate.forget(account_id)
    await session.refresh(account)
    return account


async def list_staff(session: AsyncSession, *, office_id: int | None = None) -> list[UserAccount]:
    """Clerks and admins (couples' accounts are theirs, never listed), admins first, then by
    office and e-mail; with ``office_id``, that office's clerks."""
    query = select(UserAccount).where(UserAccount.role.in_(("clerk", "admin")))  # type: ignore[attr-defined]
    if office_id is not None:
        query = query.where(UserAccount.office_id == office_id)
    rows = (await session.execute(query.order_by(UserAccount.role, UserAccount.office_id,
                                                 UserAccount.email))).scalars().all()
    return list(rows)
