"""retention: when an appointment's and a sign-up's personal data was removed

Revision ID: 7d2e5f1a3c84
Revises: c41d7e2a9b10
Create Date: 2026-12-01 11:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7d2e5f1a3c84'
down_revision: str | Sequence[str] | None = 'c41d7e2a9b10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
