"""reminders derived from the appointment: the moment of its next reminder, indexed

A booking no longer writes its reminders into the outbox; the sweep finds appointments
whose ``remind_at`` has come and hands their reminders to the outbox then. Reminder rows
written before this revision stay in the outbox and go out as before (their appointments
keep ``remind_at`` NULL, so nothing is sent twice).

Revision ID: a8c3e1f70d52
Revises: 5e7d1c3a9b20
Create Date: 2026-12-07 01:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = 'a8c3e1f70d52'
down_revision: str | Sequence[str] | None = '5e7d1c3a9b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no batch rebuild) on SQLite too
    op.add_column('appointment', sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_appointment_remind_at', 'appointment', ['remind_at'],
                    postgresql_where=sa.text('remind_at IS NOT NULL'), sqlite_where=sa.text('remind_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_appointment_remind_at', table_name='appointment')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('remind_at')
