"""sip2: a kiosk account may have a terminal password (AC), checked on every request

Revision ID: 0010
Revises: 0009
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sip_kiosks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terminal_password_hash", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sip_kiosks", schema=None) as batch_op:
        batch_op.drop_column("terminal_password_hash")
