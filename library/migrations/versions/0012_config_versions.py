"""config versions: a token per group of configuration tables, replaced by triggers on every
write, so processes may cache the circulation rules and the branch calendars

Revision ID: 0012
Revises: 0011
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# group -> the tables whose every write replaces the group's token
GROUPS = {"circulation": ("circulation_rules", "opening_hours", "closed_days")}


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_config_versions")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION config_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO config_versions (name, version) "
            "VALUES (TG_ARGV[0], floor(random() * 9.2e18)::bigint) "
            "ON CONFLICT (name) DO UPDATE SET version = excluded.version; RETURN NULL; END $$"
        )
        for group, tables in GROUPS.items():
            op.execute(f"INSERT INTO config_versions (name, version) VALUES ('{group}', floor(random() * 9.2e18)::bigint)")
            for table in tables:
                op.execute(
                    f"CREATE TRIGGER {table}_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION config_version_bump('{group}')"
                )
    elif dialect == "sqlite":
        for group, tables in GROUPS.items():
            op.execute(f"INSERT INTO config_versions (name, version) VALUES ('{group}', random())")
            for table in tables:
                for what in ("INSERT", "UPDATE", "DELETE"):
                    op.execute(
                        f"CREATE TRIGGER {table}_config_version_{what.lower()} AFTER {what} ON {table} "
                        f"BEGIN INSERT OR REPLACE INTO config_versions (name, version) VALUES ('{group}', random()); END"
                    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for tables in GROUPS.values():
        for table in tables:
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_config_version ON {table}")
            else:
                for what in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER IF EXISTS {table}_config_version_{what}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS config_version_bump()")
    op.drop_table("config_versions")
