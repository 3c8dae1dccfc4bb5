"""notification: a partial index on failed rows, so /metrics counts them without a scan

Revision ID: 9d3e51c7a2b4
Revises: 5b0c1e9d7f21
Create Date: 2026-11-30 04:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9d3e51c7a2b4'
down_revision: str | Sequence[str] | None = '5b0c1e9d7f21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Failed rows are few and stay until an operator looks; sent rows are kept 90 days and
    # are many. Rows are inserted pending, so the booking path adds no entry to this index.
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_failed', ['created_at'], unique=False,
                              postgresql_where=sa.text("state = 'failed'"), sqlite_where=sa.text("state = 'failed'"))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_failed', postgresql_where=sa.text("state = 'failed'"),
                            sqlite_where=sa.text("state = 'failed'"))
