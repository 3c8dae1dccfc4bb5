"""Operators see the outbox: counts by state, and the rows that failed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from booking.accounts.guards import requires_admin
from booking.context import Context
from booking.notifications import operations
from booking.notifications.delivery import counts
from booking.schemas import Output


class NotificationCounts(Output):
    pending: int
    sent: int
    failed: int
    dropped: int
    cancelled: int


class NotificationOut(Output):
    id: uuid.UUID
    kind: str
    channel: str
    subject_type: str
    subject_id: uuid.UUID
    state: str
    attempts: int
    due_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


class NotificationList(Output):
    data: list[NotificationOut]


class NotificationController(Controller):
    path = "/api/v1/admin/notifications"
    tags = ["operations"]
    guards = [requires_admin]

    @get("/counts", summary="Outbox rows by state (admins)")
    async def counts(self, ctx: NamedDependency[Context]) -> NotificationCounts:
        return NotificationCounts(**await counts(ctx.rt))

    @get("/", summary="Outbox rows in one state, oldest first (admins)",
         description="No addresses or phone numbers: recipients are resolved only when a row is sent.")
    async def rows(
        self,
        ctx: NamedDependency[Context],
        in_state: Annotated[Literal["pending", "sent", "failed", "dropped", "cancelled"],
                            QueryParameter(name="state")] = "failed",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> NotificationList:
        rows = await operations.rows_in_state(ctx.session, in_state, limit)
        return NotificationList(data=[NotificationOut.model_validate(r) for r in rows])

    @post("/{notification_id:uuid}/retry", status_code=200, summary="Send a failed notification again (admins)",
          description="Back to the sweep with a fresh set of attempts; audited. Only a `failed` row (409).")
    async def retry(self, notification_id: FromPath[uuid.UUID],
                    ctx: NamedDependency[Context]) -> NotificationOut:
        row = await operations.retry_failed(ctx, notification_id)
        return NotificationOut.model_validate(row)
