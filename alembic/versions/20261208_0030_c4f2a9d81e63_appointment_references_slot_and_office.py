"""an appointment references its slot and office in one key, not the office row

Every booking of an office inserted an appointment referencing the same office row, and
PostgreSQL checks a reference with a FOR KEY SHARE lock on the referenced row: bookings in
flight at once turned that lock into a MultiXact and rewrote it one at a time (3-25% of the
primitive's throughput per interleaved pair here, bench/parent_lock.py). The appointment now
references (slot_id, office_id) of the slot, whose row the booking already holds: no new
lock, and the appointment's office is bound to be its slot's.

On PostgreSQL it runs without stopping bookings for long: the index is built CONCURRENTLY,
the new key is added NOT VALID (a moment's lock) and validated in a transaction of its own
(which lets reads and writes go on), and the old keys go last (a moment's lock each).

Revision ID: c4f2a9d81e63
Revises: a8c3e1f70d52
Create Date: 2026-12-08 00:30:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = 'c4f2a9d81e63'
down_revision: str | Sequence[str] | None = 'a8c3e1f70d52'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps the first revision's references unnamed: batch mode names them by this
# convention when it reflects the table, so that they can be dropped by name
_SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _old_names() -> tuple[str, str]:
    if op.get_bind().dialect.name == "sqlite":
        return "fk_appointment_office_id_office", "fk_appointment_slot_id_slot"
    return "appointment_office_id_fkey", "appointment_slot_id_fkey"  # PostgreSQL's own names


def _refuse_mismatched_offices() -> None:
    """Stop with a clear message if an appointment names another office than its slot's:
    the new key could not hold (none should: every path takes the office from the slot)."""
    mismatched = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM appointment a JOIN slot s ON s.id = a.slot_id WHERE a.office_id <> s.office_id"
    )).scalar_one()
    if mismatched:
        raise RuntimeError(f"{mismatched} appointment(s) name another office than their slot's: "
                           "correct appointment.office_id before this revision")


def upgrade() -> None:
    _refuse_mismatched_offices()
    office_fk, slot_fk = _old_names()
    if op.get_bind().dialect.name != "postgresql":
        op.create_index('uq_slot_id_office', 'slot', ['id', 'office_id'], unique=True)
        with op.batch_alter_table('appointment', naming_convention=_SQLITE_NAMES) as batch_op:
            batch_op.drop_constraint(office_fk, type_='foreignkey')
            batch_op.drop_constraint(slot_fk, type_='foreignkey')
            batch_op.create_foreign_key('fk_appointment_slot_office', 'slot', ['slot_id', 'office_id'],
                                        ['id', 'office_id'], ondelete='RESTRICT')
        return
    with op.get_context().autocommit_block():
        op.create_index('uq_slot_id_office', 'slot', ['id', 'office_id'], unique=True,
                        postgresql_concurrently=True)
        op.execute("ALTER TABLE appointment ADD CONSTRAINT fk_appointment_slot_office FOREIGN KEY "
                   "(slot_id, office_id) REFERENCES slot (id, office_id) ON DELETE RESTRICT NOT VALID")
        op.execute("ALTER TABLE appointment VALIDATE CONSTRAINT fk_appointment_slot_office")
    op.drop_constraint(office_fk, 'appointment', type_='foreignkey')
    op.drop_constraint(slot_fk, 'appointment', type_='foreignkey')


def downgrade() -> None:
    office_fk, slot_fk = _old_names()
    with op.batch_alter_table('appointment', naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint('fk_appointment_slot_office', type_='foreignkey')
        batch_op.create_foreign_key(slot_fk, 'slot', ['slot_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(office_fk, 'office', ['office_id'], ['id'], ondelete='RESTRICT')
    op.drop_index('uq_slot_id_office', table_name='slot')
