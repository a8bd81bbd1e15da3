"""circulation privacy: returned loans can be anonymised (reader_id NULL, anonymised_at), the
count of readers anonymisation removed from each branch-day's events, readers.history_kept_since

Revision ID: 0009
Revises: 0008
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('circulation_anonymised_readers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('readers', sa.Integer(), nullable=False),
    sa.CheckConstraint('readers >= 0', name=op.f('ck_circulation_anonymised_readers_readers_nonnegative')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_circulation_anonymised_readers_branch_id_branches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_anonymised_readers'))
    )
    with op.batch_alter_table('circulation_anonymised_readers', schema=None) as batch_op:
        batch_op.create_index('uq_circulation_anonymised_readers_branch_day', ['branch_id', 'day'], unique=True)

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', library.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column('reader_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_loans_anonymised_consistent'),
            "(reader_id IS NULL) = (anonymised_at IS NOT NULL) AND (reader_id IS NOT NULL OR state = 'returned')")

    with op.batch_alter_table('readers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history_kept_since', library.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('readers', schema=None) as batch_op:
        batch_op.drop_column('history_kept_since')

    op.execute("DELETE FROM loans WHERE reader_id IS NULL")  # anonymised loans cannot go back
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_loans_anonymised_consistent'), type_='check')
        batch_op.alter_column('reader_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('anonymised_at')

    with op.batch_alter_table('circulation_anonymised_readers', schema=None) as batch_op:
        batch_op.drop_index('uq_circulation_anonymised_readers_branch_day')

    op.drop_table('circulation_anonymised_readers')
