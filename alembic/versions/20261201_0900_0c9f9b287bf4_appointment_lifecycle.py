"""appointment lifecycle: turned_away, a closed slot's reason, a special opening's own slots

- ``appointment.status`` may be ``turned_away`` (came, could not be served: neither a
  no-show nor a registration); ``appointment.status_reason`` keeps the clerk's reason.
- ``slot.status`` is ``open`` or ``closed``; ``slot.closed_reason`` says who closed it
  (``clerk``, ``closure``, ``opening_removed``) so that each undo reopens exactly its own.
  Former ``day_closed`` slots take ``closure`` when their date has a closure, else
  ``opening_removed``; former ``closed`` ones ``clerk``.
- ``slot.office_day_id``: the special opening whose own window a slot is. Slots generated
  before this revision on a special opening's date are all taken as the opening's (they
  were generated from its windows).
- ``slot.booked`` counts active appointments only (pending review, confirmed, checked in):
  completed and missed appointments gave their seat back from now on, so it is recounted.
- Booking-rule times stored with a UTC offset (accepted before, then failing every read)
  keep their local time and lose the offset; control characters in account and office
  names (a CR/LF broke every e-mail to the account) become spaces.

Revision ID: 0c9f9b287bf4
Revises: 9d3e51c7a2b4
Create Date: 2026-12-01 09:00:00.000000+00:00
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import time

import sqlalchemy as sa
from alembic import op

revision: str = '0c9f9b287bf4'
down_revision: str | Sequence[str] | None = '9d3e51c7a2b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ('pending_review', 'confirmed', 'checked_in', 'completed', 'turned_away', 'no_show', 'cancelled')
OLD_STATUSES = ('pending_review', 'confirmed', 'checked_in', 'completed', 'no_show', 'cancelled')
RULE_TIMES = ('release_time', 'cutoff_time', 'reminder_day_before_at')


def upgrade() -> None:
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.String(length=200), nullable=True))
        batch_op.drop_constraint('ck_appointment_status', type_='check')
        batch_op.create_check_constraint('ck_appointment_status', f'status IN {STATUSES}')

    with op.batch_alter_table('slot') as batch_op:
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('office_day_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_slot_office_day_id', 'office_day', ['office_day_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_slot_office_day_id', ['office_day_id'], unique=False)
        batch_op.drop_constraint('ck_slot_status', type_='check')
    op.execute("UPDATE slot SET closed_reason = 'clerk' WHERE status = 'closed'")
    op.execute("""
        UPDATE slot SET status = 'closed',
               closed_reason = CASE WHEN EXISTS (
                   SELECT 1 FROM office_day d WHERE d.office_id = slot.office_id AND d.day = slot.local_date
                   AND d.kind = 'closure') THEN 'closure' ELSE 'opening_removed' END
        WHERE status = 'day_closed'""")
    op.execute("""
        UPDATE slot SET office_day_id = (
            SELECT d.id FROM office_day d WHERE d.office_id = slot.office_id AND d.day = slot.local_date
            AND d.kind = 'special_opening')""")
    op.execute("""
        UPDATE slot SET booked = (
            SELECT count(*) FROM appointment a WHERE a.slot_id = slot.id
            AND a.status IN ('pending_review', 'confirmed', 'checked_in'))""")
    with op.batch_alter_table('slot') as batch_op:
        batch_op.create_check_constraint('ck_slot_status', "status IN ('open', 'closed')")
        batch_op.create_check_constraint('ck_slot_closed_reason',
                                         "closed_reason IN ('clerk', 'closure', 'opening_removed')")
        batch_op.create_check_constraint('ck_slot_closed_has_reason',
                                         "(status = 'open') = (closed_reason IS NULL)")

    bind = op.get_bind()
    _naive_rule_times(bind)
    _one_line_names(bind, 'user_account', ('name',))
    _one_line_names(bind, 'office', ('name_zh', 'name_en'))


def _naive_rule_times(bind: sa.Connection) -> None:
    office = sa.table('office', sa.column('id', sa.Integer()), sa.column('rules', sa.JSON()))
    for office_id, rules in bind.execute(sa.select(office.c.id, office.c.rules)).all():
        rules = json.loads(rules) if isinstance(rules, str) else dict(rules or {})
        changed = False
        for name in RULE_TIMES:
            value = rules.get(name)
            if isinstance(value, str):
                try:
                    parsed = time.fromisoformat(value.replace('Z', '+00:00'))
                except ValueError:
                    continue
                if parsed.tzinfo is not None:
                    rules[name] = parsed.replace(tzinfo=None).isoformat()
                    changed = True
        if changed:
            bind.execute(office.update().where(office.c.id == office_id).values(rules=rules))


def _one_line(text: str) -> str:
    line = ''.join(' ' if unicodedata.category(ch) in ('Cc', 'Zl', 'Zp') else ch for ch in text)
    return line.strip() or '-'


def _one_line_names(bind: sa.Connection, table: str, columns: tuple[str, ...]) -> None:
    rows = sa.table(table, sa.column('id'), *(sa.column(c, sa.String()) for c in columns))
    for row in bind.execute(sa.select(rows)).all():
        values = {c: _one_line(getattr(row, c)) for c in columns if getattr(row, c) is not None}
        if any(values[c] != getattr(row, c) for c in values):
            bind.execute(rows.update().where(rows.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table('slot') as batch_op:
        batch_op.drop_constraint('ck_slot_closed_has_reason', type_='check')
        batch_op.drop_constraint('ck_slot_closed_reason', type_='check')
        batch_op.drop_constraint('ck_slot_status', type_='check')
    op.execute("UPDATE slot SET status = 'day_closed' WHERE closed_reason IN ('closure', 'opening_removed')")
    with op.batch_alter_table('slot') as batch_op:
        batch_op.create_check_constraint('ck_slot_status', "status IN ('open', 'closed', 'day_closed')")
        batch_op.drop_index('ix_slot_office_day_id')
        batch_op.drop_constraint('fk_slot_office_day_id', type_='foreignkey')
        batch_op.drop_column('office_day_id')
        batch_op.drop_column('closed_reason')
    # a turned-away couple came and was not served: the nearest former status is cancelled
    op.execute("UPDATE appointment SET status = 'cancelled', cancelled_by = 'office' "
               "WHERE status = 'turned_away'")
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.drop_constraint('ck_appointment_status', type_='check')
        batch_op.create_check_constraint('ck_appointment_status', f'status IN {OLD_STATUSES}')
        batch_op.drop_column('status_reason')
