"""sip2: kiosk accounts of the SIP2 server

Revision ID: 0007
Revises: 0006
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "sip_kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sip_login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("charset", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", library.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", library.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("charset IN ('utf-8', 'gbk')", name=op.f("ck_sip_kiosks_charset_valid")),
        sa.CheckConstraint("length(sip_login) > 0", name=op.f("ck_sip_kiosks_sip_login_not_empty")),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_sip_kiosks_branch_id_branches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_kiosks")),
        sa.UniqueConstraint("sip_login", name=op.f("uq_sip_kiosks_sip_login")),
    )
    op.create_index(op.f("ix_sip_kiosks_branch_id"), "sip_kiosks", ["branch_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sip_kiosks_branch_id"), table_name="sip_kiosks")
    op.drop_table("sip_kiosks")
