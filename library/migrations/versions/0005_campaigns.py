"""campaigns: reading campaigns, events, sessions, registrations, the reading challenge,
organiser settings, and the core scheduler's job-run and leader-lease tables

Revision ID: 0005
Revises: 0004
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('campaign_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('world_book_day_days_before', sa.Integer(), nullable=False),
    sa.Column('world_book_day_days_after', sa.Integer(), nullable=False),
    sa.Column('world_book_day_multiplier', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('service_week_multiplier', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('reading_month', sa.Integer(), nullable=False),
    sa.Column('reading_month_multiplier', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('summer_start_month', sa.Integer(), nullable=False),
    sa.Column('summer_end_month', sa.Integer(), nullable=False),
    sa.Column('summer_multiplier', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('summer_challenge_books', sa.Integer(), nullable=False),
    sa.Column('summer_challenge_bonus', sa.Integer(), nullable=False),
    sa.Column('reminder_lead_hours', sa.Integer(), nullable=False),
    sa.Column('no_show_penalty', sa.Boolean(), nullable=False),
    sa.Column('attendance_points', sa.Boolean(), nullable=False),
    sa.Column('refuse_blocked_readers', sa.Boolean(), nullable=False),
    sa.CheckConstraint('reading_month BETWEEN 1 AND 12', name=op.f('ck_campaign_settings_reading_month_valid')),
    sa.CheckConstraint('reminder_lead_hours >= 0', name=op.f('ck_campaign_settings_lead_nonnegative')),
    sa.CheckConstraint('summer_start_month BETWEEN 1 AND 12 AND summer_end_month BETWEEN 1 AND 12 AND summer_start_month <= summer_end_month', name=op.f('ck_campaign_settings_summer_valid')),
    sa.CheckConstraint('world_book_day_days_before >= 0 AND world_book_day_days_after >= 0', name=op.f('ck_campaign_settings_wbd_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_settings'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('multiplier', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('challenge_books', sa.Integer(), nullable=True),
    sa.Column('challenge_mode', sa.String(length=10), nullable=False),
    sa.Column('challenge_badge', sa.String(length=100), nullable=False),
    sa.Column('challenge_bonus', sa.Integer(), nullable=False),
    sa.Column('poster_filename', sa.String(length=200), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("challenge_mode IN ('borrow', 'log', 'either')", name=op.f('ck_campaigns_challenge_mode_valid')),
    sa.CheckConstraint("kind IN ('world_book_day', 'service_week', 'reading_month', 'summer_reading', 'custom')", name=op.f('ck_campaigns_kind_valid')),
    sa.CheckConstraint("status IN ('draft', 'published', 'active', 'ended')", name=op.f('ck_campaigns_status_valid')),
    sa.CheckConstraint('challenge_bonus >= 0', name=op.f('ck_campaigns_bonus_nonnegative')),
    sa.CheckConstraint('challenge_books IS NULL OR challenge_books > 0', name=op.f('ck_campaigns_challenge_positive')),
    sa.CheckConstraint('multiplier >= 1 AND multiplier <= 10', name=op.f('ck_campaigns_multiplier_range')),
    sa.CheckConstraint('start_date <= end_date', name=op.f('ck_campaigns_dates_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_dates', ['start_date', 'end_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_status'), ['status'], unique=False)

    op.create_table('scheduler_job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=100), nullable=False),
    sa.Column('scheduled_run_time', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('runner', sa.String(length=120), nullable=False),
    sa.Column('started_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'success', 'error', 'missed')", name=op.f('ck_scheduler_job_runs_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_job_runs')),
    sa.UniqueConstraint('job_id', 'scheduled_run_time', name=op.f('uq_scheduler_job_runs_job_id_scheduled_run_time'))
    )
    with op.batch_alter_table('scheduler_job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_scheduler_job_runs_recent', ['job_id', 'started_at'], unique=False)

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('acquired_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('campaign_branches',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_campaign_branches_branch_id_branches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_branches_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'branch_id', name=op.f('pk_campaign_branches'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('room', sa.String(length=100), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_starts_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('recurrence_rule', sa.String(length=200), nullable=True),
    sa.Column('registration_opens_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_hours', sa.Integer(), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("audience IN ('children', 'teens', 'adults', 'seniors', 'families')", name=op.f('ck_events_audience_valid')),
    sa.CheckConstraint("status IN ('draft', 'published', 'cancelled')", name=op.f('ck_events_status_valid')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_events_capacity_positive')),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_events_duration_positive')),
    sa.CheckConstraint('registration_closes_hours >= 0', name=op.f('ck_events_closes_nonnegative')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_events_branch_id_branches')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_events_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_challenge_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('badge', sa.String(length=100), nullable=False),
    sa.Column('books', sa.Integer(), nullable=False),
    sa.Column('bonus_points', sa.Integer(), nullable=False),
    sa.Column('completed_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_challenge_completions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_campaign_challenge_completions_reader_id_readers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_challenge_completions')),
    sa.UniqueConstraint('campaign_id', 'reader_id', name=op.f('uq_campaign_challenge_completions_campaign_id_reader_id'))
    )
    with op.batch_alter_table('campaign_challenge_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_challenge_completions_reader_id'), ['reader_id'], unique=False)

    op.create_table('campaign_reading_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('logged_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_reading_logs_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_campaign_reading_logs_reader_id_readers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_reading_logs'))
    )
    with op.batch_alter_table('campaign_reading_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_reading_logs_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_reading_logs_reader_id'), ['reader_id'], unique=False)

    op.create_table('event_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('no_shows_processed_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f('ck_event_sessions_status_valid')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_event_sessions_starts_before_ends')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_sessions_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sessions')),
    sa.UniqueConstraint('event_id', 'starts_at', name=op.f('uq_event_sessions_event_id_starts_at'))
    )
    with op.batch_alter_table('event_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_sessions_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('event_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('promoted_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('no_show', sa.Boolean(), nullable=False),
    sa.CheckConstraint("attended_at IS NULL OR status = 'registered'", name=op.f('ck_event_registrations_attended_registered')),
    sa.CheckConstraint("source IN ('opac', 'counter', 'walk_in')", name=op.f('ck_event_registrations_source_valid')),
    sa.CheckConstraint("status IN ('registered', 'waitlisted', 'cancelled')", name=op.f('ck_event_registrations_status_valid')),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['staff_users.id'], name=op.f('fk_event_registrations_checked_in_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reader_id'], ['readers.id'], name=op.f('fk_event_registrations_reader_id_readers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['event_sessions.id'], name=op.f('fk_event_registrations_session_id_event_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registrations'))
    )
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_registrations_reader_id'), ['reader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registrations_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_event_registrations_active', ['session_id', 'reader_id'], unique=True, postgresql_where=sa.text("status IN ('registered', 'waitlisted')"), sqlite_where=sa.text("status IN ('registered', 'waitlisted')"))



def downgrade() -> None:
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_event_registrations_active', postgresql_where=sa.text("status IN ('registered', 'waitlisted')"), sqlite_where=sa.text("status IN ('registered', 'waitlisted')"))
        batch_op.drop_index(batch_op.f('ix_event_registrations_session_id'))
        batch_op.drop_index(batch_op.f('ix_event_registrations_reader_id'))

    op.drop_table('event_registrations')
    with op.batch_alter_table('event_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_event_sessions_event_id'))

    op.drop_table('event_sessions')
    with op.batch_alter_table('campaign_reading_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_reading_logs_reader_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_reading_logs_campaign_id'))

    op.drop_table('campaign_reading_logs')
    with op.batch_alter_table('campaign_challenge_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_challenge_completions_reader_id'))

    op.drop_table('campaign_challenge_completions')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_events_branch_id'))

    op.drop_table('events')
    op.drop_table('campaign_branches')
    op.drop_table('scheduler_leases')
    with op.batch_alter_table('scheduler_job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduler_job_runs_recent')

    op.drop_table('scheduler_job_runs')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_status'))
        batch_op.drop_index('ix_campaigns_dates')

    op.drop_table('campaigns')
    op.drop_table('campaign_settings')
