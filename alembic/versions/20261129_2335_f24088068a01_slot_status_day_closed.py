"""slot status day_closed: slots closed by a closure of their date, not by a clerk

Removing a closure reopens exactly the slots the closure closed; slots a clerk closed one
by one stay closed.

Revision ID: f24088068a01
Revises: 28b8112214bb
Create Date: 2026-11-29 23:35:05.518709+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'f24088068a01'
down_revision: str | Sequence[str] | None = '28b8112214bb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slot") as batch_op:
        batch_op.drop_constraint("ck_slot_status", type_="check")
        batch_op.create_check_constraint("ck_slot_status", "status IN ('open', 'closed', 'day_closed')")


def downgrade() -> None:
    op.execute("UPDATE slot SET status = 'closed' WHERE status = 'day_closed'")
    with op.batch_alter_table("slot") as batch_op:
        batch_op.drop_constraint("ck_slot_status", type_="check")
        batch_op.create_check_constraint("ck_slot_status", "status IN ('open', 'closed')")
