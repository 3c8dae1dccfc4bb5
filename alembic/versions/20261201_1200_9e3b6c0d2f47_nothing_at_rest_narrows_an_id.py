"""parties: sex and birth date encrypted (facts_enc), masks that do not narrow a number;
accounts bound to their holder (id_hash), one active booking per account and service

Existing rows are rewritten with the data key (BOOKING_DATA_KEY, or the embedded default's
generated one): their facts encrypted, their masks recomputed from the encrypted numbers.

Revision ID: 9e3b6c0d2f47
Revises: 7d2e5f1a3c84
Create Date: 2026-12-01 12:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op


revision: str = '9e3b6c0d2f47'
down_revision: str | Sequence[str] | None = '7d2e5f1a3c84'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTY_TABLES = ('appointment_party', 'signup_party', 'ballot_entry_party')
ACTIVE = "account_id IS NOT NULL AND status IN ('pending_review', 'confirmed', 'checked_in')"


def _vault():  # the data key, only when there is data to rewrite
    from booking.security.pii import PersonalDataVault
    from booking.settings import Settings

    return PersonalDataVault(Settings().ensure_secrets().data_key_bytes())


def _rewrite(bind: sa.engine.Connection) -> None:
    from booking.security.pii import mask_id_number, mask_phone

    vault = None
    for table in PARTY_TABLES:
        rows = bind.execute(sa.text(f"SELECT id, id_enc, phone_enc, sex, birth_date FROM {table}")).all()
        for row in rows:
            vault = vault or _vault()
            number = vault.decrypt(row.id_enc, context="party.id_number") if row.id_enc else ""
            phone = vault.decrypt(row.phone_enc, context="party.phone") if row.phone_enc else ""
            bind.execute(sa.text(f"UPDATE {table} SET facts_enc = :facts, id_masked = :id_mask, "
                                 "phone_masked = :phone_mask WHERE id = :id"), {
                "id": row.id, "facts": vault.encrypt(f"{row.sex}|{row.birth_date}", context="party.facts"),
                "id_mask": mask_id_number(number) if number else "",
                "phone_mask": mask_phone(phone) if phone else ""})
    for table, enc, masked in (('user_account', 'phone_enc', 'phone_masked'),
                               ('signup', 'contact_phone_enc', 'contact_phone_masked')):
        rows = bind.execute(sa.text(f"SELECT id, {enc} AS enc FROM {table} WHERE {enc} IS NOT NULL")).all()
        for row in rows:
            vault = vault or _vault()
            context = "account.phone" if table == 'user_account' else "party.phone"
            bind.execute(sa.text(f"UPDATE {table} SET {masked} = :mask WHERE id = :id"),
                         {"id": row.id, "mask": mask_phone(vault.decrypt(row.enc, context=context))})


CLAIM_TABLES = ('appointment_party', 'ballot_entry_party')


def _sqlite_claim_triggers(create: bool) -> None:
    """SQLite's batch mode rebuilds a table to change it, and the ballots revision's claim
    triggers name these tables: they are dropped before and made again after, as that
    revision made them (PostgreSQL alters in place and keeps its triggers)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, other in (CLAIM_TABLES, CLAIM_TABLES[::-1]):
        for event, when in (("INSERT", "NEW.active"), ("UPDATE OF active", "NEW.active AND NOT OLD.active")):
            name = f"{table}_claim_{event.split()[0].lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            if create:
                op.execute(f"""
                    CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW WHEN {when}
                    BEGIN
                        SELECT RAISE(ABORT, 'uq_person_active_claim') WHERE EXISTS (
                            SELECT 1 FROM {other} o
                            WHERE o.id_hash = NEW.id_hash AND o.service = NEW.service AND o.active);
                    END""")


def upgrade() -> None:
    _sqlite_claim_triggers(create=False)
    for table in PARTY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('facts_enc', sa.Text(), nullable=True))
    _rewrite(op.get_bind())
    for table in PARTY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('facts_enc', existing_type=sa.Text(), nullable=False)
            batch_op.drop_constraint(f'ck_{table}_sex', type_='check')
            batch_op.drop_column('sex')
            batch_op.drop_column('birth_date')
    _sqlite_claim_triggers(create=True)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('uq_appointment_account_active', ['account_id', 'service'], unique=True,
                              postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))


def downgrade() -> None:
    """For an operator's rollback: sex and birth date decrypted back into their columns (the
    new, shorter masks stay: the previous release shows them as they are)."""
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('uq_appointment_account_active')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('id_hash')
    bind = op.get_bind()
    vault = None
    _sqlite_claim_triggers(create=False)
    for table in PARTY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sex', sa.String(length=1), nullable=True))
            batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        for row in bind.execute(sa.text(f"SELECT id, facts_enc FROM {table}")).all():
            vault = vault or _vault()
            sex, born = vault.decrypt(row.facts_enc, context="party.facts").split("|")
            bind.execute(sa.text(f"UPDATE {table} SET sex = :sex, birth_date = :born WHERE id = :id"),
                         {"id": row.id, "sex": sex, "born": date.fromisoformat(born)})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('sex', existing_type=sa.String(length=1), nullable=False)
            batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False)
            batch_op.create_check_constraint(f'ck_{table}_sex', "sex IN ('M', 'F')")
            batch_op.drop_column('facts_enc')
    _sqlite_claim_triggers(create=True)
