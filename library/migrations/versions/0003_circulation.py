"""circulation: rules matrix, loans, holds, transits, charges, suspensions, block overrides, notices, events

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('circulation_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=80), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('reader_category_code', sa.String(length=20), nullable=True),
    sa.Column('item_type_code', sa.String(length=20), nullable=True),
    sa.Column('loan_days', sa.Integer(), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('max_items', sa.Integer(), nullable=False),
    sa.Column('max_holds', sa.Integer(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('consequence', sa.String(length=12), nullable=False),
    sa.Column('fine_per_day', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('fine_cap', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('suspension_factor', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('max_suspension_days', sa.Integer(), nullable=False),
    sa.Column('hold_shelf_days', sa.Integer(), nullable=False),
    sa.Column('charge_limit', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.CheckConstraint("consequence IN ('fine', 'suspension')", name=op.f('ck_circulation_rules_consequence_valid')),
    sa.CheckConstraint('fine_per_day >= 0 AND fine_cap >= 0 AND suspension_factor >= 0 AND charge_limit >= 0', name=op.f('ck_circulation_rules_amounts_valid')),
    sa.CheckConstraint('loan_days > 0 AND renewals >= 0 AND max_items >= 0 AND max_holds >= 0 AND grace_days >= 0 AND hold_shelf_days > 0 AND max_suspension_days >= 0', name=op.f('ck_circulation_rules_numbers_valid')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_circulation_rules_branch_id_branches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_type_code'], ['item_types.code'], name=op.f('fk_circulation_rules_item_type_code_item_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reader_category_code'], ['reader_categories.code'], name=op.f('fk_circulation_rules_reader_category_code_reader_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_rules')),
    sa.UniqueConstraint('scope_key', name=op.f('uq_circulation_rules_scope_key'))
    )
    op.create_table('circulation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('checkout', 'checkin', 'renewal', 'hold_placed', 'visit')", name=op.f('ck_circulation_events_kind_valid')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_circulation_events_branch_id_branches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_circulation_events_item_id_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_circulation_events_reader_id_readers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_events'))
    )
    op.create_index('ix_circulation_events_branch_day', 'circulation_events', ['branch_id', 'day', 'kind'], unique=False)
    op.create_index('uq_circulation_events_visit', 'circulation_events', ['branch_id', 'day', 'reader_id'], unique=True, postgresql_where=sa.text("kind = 'visit'"), sqlite_where=sa.text("kind = 'visit'"))
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('checked_out_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('last_renewed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('return_branch_id', sa.Integer(), nullable=True),
    sa.Column('overdue_days', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('lost_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(state = 'returned') = (returned_at IS NOT NULL)", name=op.f('ck_loans_returned_consistent')),
    sa.CheckConstraint("state IN ('on_loan', 'returned', 'lost')", name=op.f('ck_loans_state_valid')),
    sa.CheckConstraint('renewals >= 0 AND overdue_days >= 0', name=op.f('ck_loans_counts_valid')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_loans_branch_id_branches')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_loans_item_id_items')),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_loans_reader_id_readers')),
    sa.ForeignKeyConstraint(['return_branch_id'], ['branches.id'], name=op.f('fk_loans_return_branch_id_branches')),
    sa.ForeignKeyConstraint(['rule_id'], ['circulation_rules.id'], name=op.f('fk_loans_rule_id_circulation_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_loans_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans'))
    )
    op.create_index(op.f('ix_loans_due_on'), 'loans', ['due_on'], unique=False)
    op.create_index('ix_loans_item_id', 'loans', ['item_id'], unique=False)
    op.create_index(op.f('ix_loans_reader_id'), 'loans', ['reader_id'], unique=False)
    op.create_index('ix_loans_reader_state', 'loans', ['reader_id', 'state'], unique=False)
    op.create_index('ix_loans_state_due', 'loans', ['state', 'due_on'], unique=False)
    op.create_index('uq_loans_open_item', 'loans', ['item_id'], unique=True, postgresql_where=sa.text("state IN ('on_loan', 'lost')"), sqlite_where=sa.text("state IN ('on_loan', 'lost')"))
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notices_attempts_nonnegative')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_notices_branch_id_branches'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_notices_reader_id_readers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_notices_dedup_key'))
    )
    op.create_index('ix_notices_pending', 'notices', ['sent_at', 'claimed_at'], unique=False)
    op.create_index(op.f('ix_notices_reader_id'), 'notices', ['reader_id'], unique=False)
    op.create_table('block_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('block_codes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_block_overrides_reason_given')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_block_overrides_branch_id_branches'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_block_overrides_loan_id_loans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_block_overrides_reader_id_readers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_block_overrides_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_block_overrides'))
    )
    op.create_index(op.f('ix_block_overrides_reader_id'), 'block_overrides', ['reader_id'], unique=False)
    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('overdue_fine', 'replacement', 'damage')", name=op.f('ck_charges_kind_valid')),
    sa.CheckConstraint("state IN ('open', 'paid', 'waived')", name=op.f('ck_charges_state_valid')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_charges_amount_nonnegative')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_charges_loan_id_loans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_charges_reader_id_readers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_charges_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charges'))
    )
    op.create_index('ix_charges_loan_id', 'charges', ['loan_id'], unique=False)
    op.create_index(op.f('ix_charges_reader_id'), 'charges', ['reader_id'], unique=False)
    op.create_index('uq_charges_overdue_loan', 'charges', ['loan_id'], unique=True, postgresql_where=sa.text("kind = 'overdue_fine'"), sqlite_where=sa.text("kind = 'overdue_fine'"))
    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('pickup_branch_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('trapped_item_id', sa.Integer(), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trapped_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ready_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('closed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(state IN ('in_transit', 'ready', 'collected')) = (trapped_item_id IS NOT NULL) OR state IN ('expired', 'cancelled')", name=op.f('ck_holds_trapped_consistent')),
    sa.CheckConstraint("state IN ('waiting', 'in_transit', 'ready', 'collected', 'expired', 'cancelled')", name=op.f('ck_holds_state_valid')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_holds_item_id_items')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_holds_loan_id_loans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pickup_branch_id'], ['branches.id'], name=op.f('fk_holds_pickup_branch_id_branches')),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_holds_reader_id_readers')),
    sa.ForeignKeyConstraint(['record_id'], ['bib_records.id'], name=op.f('fk_holds_record_id_bib_records')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_holds_staff_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trapped_item_id'], ['items.id'], name=op.f('fk_holds_trapped_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds'))
    )
    op.create_index(op.f('ix_holds_pickup_branch_id'), 'holds', ['pickup_branch_id'], unique=False)
    op.create_index(op.f('ix_holds_reader_id'), 'holds', ['reader_id'], unique=False)
    op.create_index('ix_holds_record_state', 'holds', ['record_id', 'state', 'created_at'], unique=False)
    op.create_index('ix_holds_state_expires', 'holds', ['state', 'expires_on'], unique=False)
    op.create_index('uq_holds_reader_record_active', 'holds', ['reader_id', 'record_id'], unique=True, postgresql_where=sa.text("state IN ('waiting', 'in_transit', 'ready')"), sqlite_where=sa.text("state IN ('waiting', 'in_transit', 'ready')"))
    op.create_index('uq_holds_trapped_item', 'holds', ['trapped_item_id'], unique=True, postgresql_where=sa.text("state IN ('in_transit', 'ready')"), sqlite_where=sa.text("state IN ('in_transit', 'ready')"))
    op.create_table('suspensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_suspensions_dates_ordered')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_suspensions_loan_id_loans'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_suspensions_reader_id_readers')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_suspensions_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspensions'))
    )
    op.create_index(op.f('ix_suspensions_reader_id'), 'suspensions', ['reader_id'], unique=False)
    op.create_index('uq_suspensions_loan', 'suspensions', ['loan_id'], unique=True, postgresql_where=sa.text('loan_id IS NOT NULL'), sqlite_where=sa.text('loan_id IS NOT NULL'))
    op.create_table('transits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('from_branch_id', sa.Integer(), nullable=False),
    sa.Column('to_branch_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("reason IN ('home', 'hold', 'manual')", name=op.f('ck_transits_reason_valid')),
    sa.ForeignKeyConstraint(['from_branch_id'], ['branches.id'], name=op.f('fk_transits_from_branch_id_branches')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_transits_hold_id_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_transits_item_id_items')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_transits_staff_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_branch_id'], ['branches.id'], name=op.f('fk_transits_to_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transits'))
    )
    op.create_index('ix_transits_from_open', 'transits', ['from_branch_id', 'sent_at'], unique=False)
    op.create_index('ix_transits_item_id', 'transits', ['item_id'], unique=False)
    op.create_index('ix_transits_to_open', 'transits', ['to_branch_id', 'received_at'], unique=False)
    op.create_index('uq_transits_open_item', 'transits', ['item_id'], unique=True, postgresql_where=sa.text('received_at IS NULL AND cancelled_at IS NULL'), sqlite_where=sa.text('received_at IS NULL AND cancelled_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_transits_open_item', table_name='transits', postgresql_where=sa.text('received_at IS NULL AND cancelled_at IS NULL'), sqlite_where=sa.text('received_at IS NULL AND cancelled_at IS NULL'))
    op.drop_index('ix_transits_to_open', table_name='transits')
    op.drop_index('ix_transits_item_id', table_name='transits')
    op.drop_index('ix_transits_from_open', table_name='transits')
    op.drop_table('transits')
    op.drop_index('uq_suspensions_loan', table_name='suspensions', postgresql_where=sa.text('loan_id IS NOT NULL'), sqlite_where=sa.text('loan_id IS NOT NULL'))
    op.drop_index(op.f('ix_suspensions_reader_id'), table_name='suspensions')
    op.drop_table('suspensions')
    op.drop_index('uq_holds_trapped_item', table_name='holds', postgresql_where=sa.text("state IN ('in_transit', 'ready')"), sqlite_where=sa.text("state IN ('in_transit', 'ready')"))
    op.drop_index('uq_holds_reader_record_active', table_name='holds', postgresql_where=sa.text("state IN ('waiting', 'in_transit', 'ready')"), sqlite_where=sa.text("state IN ('waiting', 'in_transit', 'ready')"))
    op.drop_index('ix_holds_state_expires', table_name='holds')
    op.drop_index('ix_holds_record_state', table_name='holds')
    op.drop_index(op.f('ix_holds_reader_id'), table_name='holds')
    op.drop_index(op.f('ix_holds_pickup_branch_id'), table_name='holds')
    op.drop_table('holds')
    op.drop_index('uq_charges_overdue_loan', table_name='charges', postgresql_where=sa.text("kind = 'overdue_fine'"), sqlite_where=sa.text("kind = 'overdue_fine'"))
    op.drop_index(op.f('ix_charges_reader_id'), table_name='charges')
    op.drop_index('ix_charges_loan_id', table_name='charges')
    op.drop_table('charges')
    op.drop_index(op.f('ix_block_overrides_reader_id'), table_name='block_overrides')
    op.drop_table('block_overrides')
    op.drop_index(op.f('ix_notices_reader_id'), table_name='notices')
    op.drop_index('ix_notices_pending', table_name='notices')
    op.drop_table('notices')
    op.drop_index('uq_loans_open_item', table_name='loans', postgresql_where=sa.text("state IN ('on_loan', 'lost')"), sqlite_where=sa.text("state IN ('on_loan', 'lost')"))
    op.drop_index('ix_loans_state_due', table_name='loans')
    op.drop_index('ix_loans_reader_state', table_name='loans')
    op.drop_index(op.f('ix_loans_reader_id'), table_name='loans')
    op.drop_index('ix_loans_item_id', table_name='loans')
    op.drop_index(op.f('ix_loans_due_on'), table_name='loans')
    op.drop_table('loans')
    op.drop_index('uq_circulation_events_visit', table_name='circulation_events', postgresql_where=sa.text("kind = 'visit'"), sqlite_where=sa.text("kind = 'visit'"))
    op.drop_index('ix_circulation_events_branch_day', table_name='circulation_events')
    op.drop_table('circulation_events')
    op.drop_table('circulation_rules')
