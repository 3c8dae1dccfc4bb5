"""event: the local start date (starts_on) for the listing's from/to

Revision ID: 5b0c1e9d7f21
Revises: f24088068a01
Create Date: 2026-11-29 23:58:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op


revision: str = '5b0c1e9d7f21'
down_revision: str | Sequence[str] | None = 'f24088068a01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_on', sa.Date(), nullable=True))
    # existing events: the date of starts_at in the event's own timezone
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE event SET starts_on = (starts_at AT TIME ZONE timezone)::date")
    else:  # SQLite keeps naive UTC and knows no timezones: compute it here
        event = sa.table('event', sa.column('id', sa.Uuid()), sa.column('starts_at', sa.DateTime()),
                         sa.column('timezone', sa.String()), sa.column('starts_on', sa.Date()))
        rows = bind.execute(sa.select(event.c.id, event.c.starts_at, event.c.timezone)).all()
        for event_id, starts_at, timezone in rows:
            local = starts_at.replace(tzinfo=starts_at.tzinfo or UTC).astimezone(ZoneInfo(timezone)).date()
            bind.execute(event.update().where(event.c.id == event_id).values(starts_on=local))
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('starts_on', existing_type=sa.Date(), nullable=False)
        batch_op.create_index('ix_event_starts_on', ['starts_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_starts_on')
        batch_op.drop_column('starts_on')
