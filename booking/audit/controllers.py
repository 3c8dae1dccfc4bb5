"""Admins read the audit log."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from booking.accounts.guards import requires_admin
from booking.audit.services import list_entries
from booking.context import Context
from booking.errors import invalid
from booking.i18n import lazy
from booking.schemas import Offset, Output

_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")


class AuditEntryOut(Output):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str
    office_id: int | None
    action: str
    target_type: str
    target_id: str
    outcome: str
    detail: dict[str, Any]


class AuditList(Output):
    data: list[AuditEntryOut]
    total: int
    limit: int
    offset: int


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [requires_admin]

    @get("/", summary="The audit log, newest first (admins)")
    async def list_audit(
        self,
        request: Request[Any, Any, Any],
        ctx: NamedDependency[Context],
        office_id: Annotated[int | None, QueryParameter()] = None,
        action: Annotated[str | None, QueryParameter(
            max_length=64, description="a dotted action or its start: `account` finds `account.deactivate`")] = None,
        actor_id: Annotated[uuid.UUID | None, QueryParameter(description="who")] = None,
        since: Annotated[datetime | None, QueryParameter(name="from", description="at or after (with offset)")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to", description="before (with offset)")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Offset = 0,
    ) -> AuditList:
        for name, moment in (("from", since), ("to", until)):
            # a date-time as the document says, not a Unix time (which msgspec would also read)
            if moment is not None and not _ISO.match(request.query_params.get(name, "")):
                raise invalid(name, lazy("Give the time with its UTC offset."))
            if moment is not None and moment.tzinfo is None:
                raise invalid(name, lazy("Give the time with its UTC offset."))
        rows, total = await list_entries(ctx.session, office_id=office_id, action=action, limit=limit,
                                         offset=offset, actor_id=actor_id, since=since, until=until)
        return AuditList(data=[AuditEntryOut.model_validate(r) for r in rows], total=total, limit=limit,
                         offset=offset)
