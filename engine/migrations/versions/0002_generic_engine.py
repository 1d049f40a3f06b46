"""the generic engine: case owner, registrant, withheld identity, search text, case parties

The engine's tables stop naming case types: `case_record.owner_leader` becomes `owner`,
`subsidy_batch` becomes `ledger_batch` and `petition_party` becomes `case_party` (which now also
holds mediation parties and a digest of each phone, for search). New columns say who registered a
case, from which org units its parties' identity is withheld, and what a text search matches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _names_and_summary(value, found):
    """Every `name` and `summary` in a case's data, for the search text of cases made before 0002."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("name", "summary") and isinstance(item, str) and item.strip():
                found.append(item.strip())
            else:
                _names_and_summary(item, found)
    elif isinstance(value, list):
        for item in value:
            _names_and_summary(item, found)
    return found


def _digest(salt, value):
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


def _phone_digits(phone):
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def _people(data):
    """The people of a case's data as it was stored before 0002 (parties or petitioners)."""
    for key in ("parties", "petitioners"):
        for person in data.get(key) or []:
            if isinstance(person, dict):
                yield person


def upgrade() -> None:
    op.drop_index('ix_case_record_owner_leader', table_name='case_record')
    op.execute('ALTER TABLE case_record RENAME COLUMN owner_leader TO owner')
    op.create_index('ix_case_record_owner', 'case_record', ['owner'])
    op.add_column('case_record', sa.Column('registered_by', sa.String(length=64), nullable=True))
    op.add_column('case_record', sa.Column('withheld_from', sa.JSON(), nullable=True))
    op.add_column('case_record', sa.Column('search_text', sa.Text(), nullable=True))
    op.create_index('ix_case_record_registered_by', 'case_record', ['registered_by'])

    op.rename_table('subsidy_batch', 'ledger_batch')

    op.drop_index('ix_petition_party_person', table_name='petition_party')
    op.drop_index('ix_petition_party_case_id', table_name='petition_party')
    op.rename_table('petition_party', 'case_party')
    op.add_column('case_party', sa.Column('phone_key', sa.String(length=64), nullable=True))
    with op.batch_alter_table('case_party') as batch:
        batch.alter_column('person_key', existing_type=sa.String(length=64), nullable=True)
    op.create_index('ix_case_party_person', 'case_party', ['person_key'])
    op.create_index('ix_case_party_phone', 'case_party', ['phone_key'])
    op.create_index('ix_case_party_case_id', 'case_party', ['case_id'])
    op.create_index('ix_human_task_completed_by', 'human_task', ['completed_by'])

    # What the new columns say of the cases already in the store.
    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE case_record SET registered_by = (SELECT e.actor FROM case_event e "
        "WHERE e.case_id = case_record.id AND e.seq = 1)"))
    # The person digests are made anew with the engine's new salt (the ID numbers are in the data).
    conn.execute(sa.text("DELETE FROM case_party"))
    rows = conn.execute(sa.text("SELECT id, type, data, created_at FROM case_record")).all()
    for case_id, case_type, data, created_at in rows:
        data = json.loads(data) if isinstance(data, str) else (data or {})
        text = " ".join(_names_and_summary(data, []))
        withheld = [data["respondent_unit"]] if data.get("respondent_unit") else None
        conn.execute(sa.text("UPDATE case_record SET search_text = :t, withheld_from = :w WHERE id = :i"),
                     {"t": text, "w": json.dumps(withheld) if withheld else None, "i": case_id})
        for person in _people(data):
            id_number, phone = person.get("id_number"), person.get("phone")
            if not id_number and not phone:
                continue
            conn.execute(sa.text(
                "INSERT INTO case_party (case_id, person_key, phone_key, category, respondent_unit, created_at) "
                "VALUES (:c, :p, :ph, :cat, :r, :at)"),
                {"c": case_id, "p": _digest("fengqiao:person:", id_number.strip().upper()) if id_number else None,
                 "ph": _digest("fengqiao:phone:", _phone_digits(phone)) if phone else None,
                 "cat": data.get("category"), "r": data.get("respondent_unit") or None, "at": created_at})


def downgrade() -> None:
    op.drop_index('ix_human_task_completed_by', table_name='human_task')
    op.drop_index('ix_case_party_case_id', table_name='case_party')
    op.drop_index('ix_case_party_phone', table_name='case_party')
    op.drop_index('ix_case_party_person', table_name='case_party')
    op.execute("DELETE FROM case_party WHERE person_key IS NULL")
    with op.batch_alter_table('case_party') as batch:
        batch.drop_column('phone_key')
        batch.alter_column('person_key', existing_type=sa.String(length=64), nullable=False)
    op.rename_table('case_party', 'petition_party')
    op.create_index('ix_petition_party_case_id', 'petition_party', ['case_id'])
    op.create_index('ix_petition_party_person', 'petition_party', ['person_key'])
    op.rename_table('ledger_batch', 'subsidy_batch')
    op.drop_index('ix_case_record_registered_by', table_name='case_record')
    with op.batch_alter_table('case_record') as batch:
        batch.drop_column('search_text')
        batch.drop_column('withheld_from')
        batch.drop_column('registered_by')
    op.drop_index('ix_case_record_owner', table_name='case_record')
    op.execute('ALTER TABLE case_record RENAME COLUMN owner TO owner_leader')
    op.create_index('ix_case_record_owner_leader', 'case_record', ['owner_leader'])
