"""points: the points ledger (accounts, append-only entries, lots, lot uses, monthly summaries),
rules and settings, rewards, stock, redemptions and benefits.

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

APPEND_ONLY_TABLES = ("points_entries", "points_lot_uses")


def _append_only_triggers() -> None:
    """The ledger is append-only in the database too: UPDATE and DELETE are refused."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION points_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'points ledger is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION points_refuse_change()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'points ledger is append-only'); END"
                )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS points_refuse_change()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")


def upgrade() -> None:
    op.create_table('points_rules',
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('is_penalty', sa.Boolean(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=True),
    sa.Column('monthly_cap', sa.Integer(), nullable=True),
    sa.Column('per_item_cap', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.CheckConstraint('daily_cap IS NULL OR daily_cap >= 0', name=op.f('ck_points_rules_daily_cap_nonnegative')),
    sa.CheckConstraint('monthly_cap IS NULL OR monthly_cap >= 0', name=op.f('ck_points_rules_monthly_cap_nonnegative')),
    sa.CheckConstraint('per_item_cap IS NULL OR per_item_cap >= 0', name=op.f('ck_points_rules_per_item_cap_nonnegative')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_points_rules_points_nonnegative')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_points_rules'))
    )
    op.create_table('points_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_points_settings'))
    )
    op.create_table('rewards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('picture', sa.String(length=200), nullable=True),
    sa.Column('limit_per_reader', sa.Integer(), nullable=True),
    sa.Column('extra_loans', sa.Integer(), nullable=False),
    sa.Column('benefit_days', sa.Integer(), nullable=False),
    sa.Column('active_from', sa.Date(), nullable=True),
    sa.Column('active_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('goods', 'extra_loans', 'penalty_waiver')", name=op.f('ck_rewards_kind_valid')),
    sa.CheckConstraint('cost > 0', name=op.f('ck_rewards_cost_positive')),
    sa.CheckConstraint('extra_loans >= 0 AND benefit_days > 0', name=op.f('ck_rewards_benefit_valid')),
    sa.CheckConstraint('limit_per_reader IS NULL OR limit_per_reader > 0', name=op.f('ck_rewards_limit_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rewards'))
    )
    op.create_table('reward_stock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_reward_stock_quantity_nonnegative')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_reward_stock_branch_id_branches')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_reward_stock_reward_id_rewards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_stock')),
    sa.UniqueConstraint('reward_id', 'branch_id', name=op.f('uq_reward_stock_reward_id_branch_id'))
    )
    op.create_table('points_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('lifetime_earned', sa.Integer(), nullable=False),
    sa.Column('updated_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_points_accounts_balance_nonnegative')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_points_accounts_held_nonnegative')),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_points_accounts_reader_id_readers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_accounts')),
    sa.UniqueConstraint('reader_id', name=op.f('uq_points_accounts_reader_id'))
    )
    op.create_table('points_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('rule', sa.String(length=30), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('held_change', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=150), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.CheckConstraint("(kind = 'reverse') = (reverses_id IS NOT NULL)", name=op.f('ck_points_entries_reversal_points_back')),
    sa.CheckConstraint("kind IN ('earn', 'redeem', 'hold', 'release', 'expire', 'penalty', 'reverse', 'adjust')", name=op.f('ck_points_entries_kind_valid')),
    sa.CheckConstraint('amount <> 0 OR held_change <> 0', name=op.f('ck_points_entries_changes_something')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_points_entries_balance_after_nonnegative')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_entries_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_points_entries_branch_id_branches')),
    sa.ForeignKeyConstraint(['reverses_id'], ['points_entries.id'], name=op.f('fk_points_entries_reverses_id_points_entries')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_points_entries_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_points_entries_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_points_entries_reverses_id'))
    )
    op.create_index(op.f('ix_points_entries_account_id'), 'points_entries', ['account_id'], unique=False)
    op.create_index('ix_points_entries_caps', 'points_entries', ['account_id', 'rule', 'day'], unique=False)
    op.create_index('ix_points_entries_month', 'points_entries', ['month', 'branch_id'], unique=False)
    op.create_index('ix_points_entries_source', 'points_entries', ['account_id', 'source'], unique=False)
    op.create_table('points_months',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('earned', sa.Integer(), nullable=False),
    sa.Column('spent', sa.Integer(), nullable=False),
    sa.Column('closing_balance', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_months_account_id_points_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_months')),
    sa.UniqueConstraint('account_id', 'month', name=op.f('uq_points_months_account_id_month'))
    )
    op.create_table('points_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_points_lots_amount_positive')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= amount', name=op.f('ck_points_lots_remaining_within_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['points_accounts.id'], name=op.f('fk_points_lots_account_id_points_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['points_entries.id'], name=op.f('fk_points_lots_entry_id_points_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_points_lots_entry_id'))
    )
    op.create_index('ix_points_lots_open', 'points_lots', ['account_id', 'expires_on', 'id'], unique=False)
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('idempotency_key', sa.String(length=150), nullable=False),
    sa.Column('hold_entry_id', sa.Integer(), nullable=False),
    sa.Column('closing_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'held') = (closing_entry_id IS NULL)", name=op.f('ck_redemptions_closed_has_entry')),
    sa.CheckConstraint("status IN ('held', 'settled', 'released')", name=op.f('ck_redemptions_status_valid')),
    sa.CheckConstraint('points > 0', name=op.f('ck_redemptions_points_positive')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_redemptions_branch_id_branches')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['staff_users.id'], name=op.f('fk_redemptions_closed_by_id_staff_users')),
    sa.ForeignKeyConstraint(['closing_entry_id'], ['points_entries.id'], name=op.f('fk_redemptions_closing_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['hold_entry_id'], ['points_entries.id'], name=op.f('fk_redemptions_hold_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_redemptions_reader_id_readers')),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], name=op.f('fk_redemptions_reward_id_rewards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('closing_entry_id', name=op.f('uq_redemptions_closing_entry_id')),
    sa.UniqueConstraint('hold_entry_id', name=op.f('uq_redemptions_hold_entry_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_redemptions_idempotency_key'))
    )
    op.create_index(op.f('ix_redemptions_branch_id'), 'redemptions', ['branch_id'], unique=False)
    op.create_index('ix_redemptions_open', 'redemptions', ['status', 'expires_at'], unique=False)
    op.create_index(op.f('ix_redemptions_reader_id'), 'redemptions', ['reader_id'], unique=False)
    op.create_index(op.f('ix_redemptions_reward_id'), 'redemptions', ['reward_id'], unique=False)
    op.create_table('points_lot_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_points_lot_uses_amount_nonzero')),
    sa.ForeignKeyConstraint(['entry_id'], ['points_entries.id'], name=op.f('fk_points_lot_uses_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_lot_uses_lot_id_points_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lot_uses'))
    )
    op.create_index(op.f('ix_points_lot_uses_entry_id'), 'points_lot_uses', ['entry_id'], unique=False)
    op.create_index(op.f('ix_points_lot_uses_lot_id'), 'points_lot_uses', ['lot_id'], unique=False)
    op.create_table('reward_benefits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('extra_loans', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('used_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_by_entry', sa.String(length=150), nullable=False),
    sa.CheckConstraint("kind IN ('extra_loans', 'penalty_waiver')", name=op.f('ck_reward_benefits_kind_valid')),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_reward_benefits_reader_id_readers')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_reward_benefits_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_benefits')),
    sa.UniqueConstraint('redemption_id', name=op.f('uq_reward_benefits_redemption_id'))
    )
    op.create_index(op.f('ix_reward_benefits_reader_id'), 'reward_benefits', ['reader_id'], unique=False)
    _append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table('reward_benefits')
    op.drop_table('points_lot_uses')
    op.drop_table('redemptions')
    op.drop_table('points_lots')
    op.drop_table('points_months')
    op.drop_table('points_entries')
    op.drop_table('points_accounts')
    op.drop_table('reward_stock')
    op.drop_table('rewards')
    op.drop_table('points_settings')
    op.drop_table('points_rules')
