"""catalog: records, items, item types, search outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 08:51:36.484690

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('bib_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flavour', sa.String(length=10), nullable=False),
    sa.Column('leader', sa.String(length=24), nullable=False),
    sa.Column('marc', sa.JSON(), nullable=False),
    sa.Column('control_number', sa.String(length=64), nullable=True),
    sa.Column('control_number_source', sa.String(length=64), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('responsibility', sa.Text(), nullable=False),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('publisher', sa.String(length=255), nullable=False),
    sa.Column('pub_place', sa.String(length=255), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('isbns', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('material_type', sa.String(length=20), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('series', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('classification_clc', sa.String(length=64), nullable=False),
    sa.Column('classification_lc', sa.String(length=64), nullable=False),
    sa.Column('classification_ddc', sa.String(length=64), nullable=False),
    sa.Column('call_number', sa.String(length=64), nullable=False),
    sa.Column('title_pinyin', sa.Text(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("flavour IN ('marc21', 'unimarc')", name=op.f('ck_bib_records_flavour_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bib_records'))
    )
    with op.batch_alter_table('bib_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bib_records_classification_clc'), ['classification_clc'], unique=False)
        batch_op.create_index(batch_op.f('ix_bib_records_control_number'), ['control_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_bib_records_updated_at'), ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bib_records_year'), ['year'], unique=False)

    op.create_table('item_types',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('name_en', sa.String(length=50), nullable=False),
    sa.Column('loanable', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_item_types'))
    )
    op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("op IN ('upsert', 'delete')", name=op.f('ck_search_outbox_op_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_outbox_record_id'), ['record_id'], unique=False)

    op.create_table('record_isbns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('isbn13', sa.String(length=13), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['bib_records.id'], name=op.f('fk_record_isbns_record_id_bib_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_isbns'))
    )
    with op.batch_alter_table('record_isbns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_isbns_isbn13'), ['isbn13'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_isbns_record_id'), ['record_id'], unique=False)

    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('home_branch_id', sa.Integer(), nullable=False),
    sa.Column('current_branch_id', sa.Integer(), nullable=False),
    sa.Column('shelf_location', sa.String(length=100), nullable=False),
    sa.Column('call_number', sa.String(length=64), nullable=False),
    sa.Column('item_type_code', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('floating', sa.Boolean(), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('acquired_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('available', 'on_loan', 'in_transit', 'on_hold_shelf', 'lost', 'missing', 'in_repair', 'withdrawn')", name=op.f('ck_items_status_valid')),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_items_price_nonnegative')),
    sa.ForeignKeyConstraint(['current_branch_id'], ['branches.id'], name=op.f('fk_items_current_branch_id_branches')),
    sa.ForeignKeyConstraint(['home_branch_id'], ['branches.id'], name=op.f('fk_items_home_branch_id_branches')),
    sa.ForeignKeyConstraint(['item_type_code'], ['item_types.code'], name=op.f('fk_items_item_type_code_item_types')),
    sa.ForeignKeyConstraint(['record_id'], ['bib_records.id'], name=op.f('fk_items_record_id_bib_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('barcode', name=op.f('uq_items_barcode'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_current_branch_id'), ['current_branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_home_branch_id'), ['home_branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_items_record_status', ['record_id', 'status'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('match', sa.String(length=20), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('total_bytes', sa.Integer(), nullable=False),
    sa.Column('bytes_done', sa.Integer(), nullable=False),
    sa.Column('read', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('items_created', sa.Integer(), nullable=False),
    sa.Column('skipped_by_reason', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("match IN ('isbn', 'control-number', 'none')", name=op.f('ck_import_batches_match_valid')),
    sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name=op.f('ck_import_batches_status_valid')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_import_batches_branch_id_branches')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_import_batches_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )

    op.create_table('import_report_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('byte_offset', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_import_report_lines_batch_id_import_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_report_lines'))
    )
    with op.batch_alter_table('import_report_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_report_lines_batch_id'), ['batch_id'], unique=False)

    op.create_table('record_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("action IN ('create', 'edit', 'import', 'update', 'delete', 'restore')", name=op.f('ck_record_history_action_valid')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_record_history_batch_id_import_batches'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['bib_records.id'], name=op.f('fk_record_history_record_id_bib_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_record_history_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_history'))
    )
    with op.batch_alter_table('record_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_history_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('record_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_history_record_id'))

    op.drop_table('record_history')
    with op.batch_alter_table('import_report_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_report_lines_batch_id'))

    op.drop_table('import_report_lines')
    op.drop_table('import_batches')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_record_status')
        batch_op.drop_index(batch_op.f('ix_items_record_id'))
        batch_op.drop_index(batch_op.f('ix_items_home_branch_id'))
        batch_op.drop_index(batch_op.f('ix_items_current_branch_id'))

    op.drop_table('items')
    with op.batch_alter_table('record_isbns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_isbns_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_isbns_isbn13'))

    op.drop_table('record_isbns')
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_outbox_record_id'))

    op.drop_table('search_outbox')
    op.drop_table('item_types')
    with op.batch_alter_table('bib_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bib_records_year'))
        batch_op.drop_index(batch_op.f('ix_bib_records_updated_at'))
        batch_op.drop_index(batch_op.f('ix_bib_records_control_number'))
        batch_op.drop_index(batch_op.f('ix_bib_records_classification_clc'))

    op.drop_table('bib_records')
