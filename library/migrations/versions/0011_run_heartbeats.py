"""run heartbeats: scheduler job runs and catalogue imports record when their process was last
seen (heartbeat_at) and may be "interrupted"; imports count their attempts (a resumed import
fences off the attempt it replaced)

Revision ID: 0011
Revises: 0010
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_RUN = "status IN ('running', 'success', 'error', 'missed')"
NEW_RUN = "status IN ('running', 'success', 'error', 'missed', 'interrupted')"
OLD_IMPORT = "status IN ('pending', 'running', 'done', 'failed')"
NEW_IMPORT = "status IN ('pending', 'running', 'done', 'failed', 'interrupted')"


def upgrade() -> None:
    # New columns go in nullable, are filled from what each row already says (last seen: when
    # it finished, else when it started), then become NOT NULL.
    with op.batch_alter_table("scheduler_job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", library.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE scheduler_job_runs SET heartbeat_at = COALESCE(finished_at, started_at)")
    with op.batch_alter_table("scheduler_job_runs", schema=None) as batch_op:
        batch_op.alter_column("heartbeat_at", existing_type=library.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.drop_constraint(op.f("ck_scheduler_job_runs_status_valid"), type_="check")
        batch_op.alter_column("status", existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_scheduler_job_runs_status_valid"), NEW_RUN)

    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", library.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
    op.execute("UPDATE import_batches SET heartbeat_at = COALESCE(finished_at, created_at), attempt = 1")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.alter_column("heartbeat_at", existing_type=library.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("attempt", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("ck_import_batches_status_valid"), type_="check")
        batch_op.alter_column("status", existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_import_batches_status_valid"), NEW_IMPORT)


def downgrade() -> None:
    # Interrupted rows become what they were before the status existed: a run that never
    # finished (error), an import that did not complete (failed).
    op.execute("UPDATE scheduler_job_runs SET status = 'error' WHERE status = 'interrupted'")
    op.execute("UPDATE import_batches SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_import_batches_status_valid"), type_="check")
        batch_op.alter_column("status", existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_import_batches_status_valid"), OLD_IMPORT)
        batch_op.drop_column("attempt")
        batch_op.drop_column("heartbeat_at")
    with op.batch_alter_table("scheduler_job_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_scheduler_job_runs_status_valid"), type_="check")
        batch_op.alter_column("status", existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f("ck_scheduler_job_runs_status_valid"), OLD_RUN)
        batch_op.drop_column("heartbeat_at")
