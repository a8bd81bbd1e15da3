"""ancient_books: census terms, counters, records, authors, photos, history; digitization steps,
scan batches, master files and published images

Revision ID: 0006
Revises: 0005
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import library.db

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('census_counters',
    sa.Column('prefix', sa.String(length=11), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_serial >= 0 AND last_serial <= 9999999', name=op.f('ck_census_counters_serial_range')),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_census_counters'))
    )
    op.create_table('census_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('bu', 'lei', 'edition_type', 'binding', 'grade', 'grade_class', 'damage_level', 'damage_type', 'author_role')", name=op.f('ck_census_terms_kind_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_census_terms')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_census_terms_kind_code'))
    )
    op.create_table('census_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('census_no', sa.String(length=19), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('call_number', sa.String(length=64), nullable=False),
    sa.Column('bu_code', sa.String(length=40), nullable=False),
    sa.Column('lei_code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('juan', sa.String(length=100), nullable=False),
    sa.Column('edition_text', sa.String(length=500), nullable=False),
    sa.Column('edition_year_from', sa.Integer(), nullable=True),
    sa.Column('edition_year_to', sa.Integer(), nullable=True),
    sa.Column('edition_ganzhi', sa.String(length=4), nullable=False),
    sa.Column('edition_circa', sa.Boolean(), nullable=False),
    sa.Column('edition_period', sa.String(length=20), nullable=False),
    sa.Column('edition_type_code', sa.String(length=40), nullable=False),
    sa.Column('annotations', sa.Text(), nullable=False),
    sa.Column('layout_hangkuan', sa.String(length=200), nullable=False),
    sa.Column('layout_bianlan', sa.String(length=40), nullable=False),
    sa.Column('layout_banxin', sa.String(length=40), nullable=False),
    sa.Column('layout_yuwei', sa.String(length=40), nullable=False),
    sa.Column('binding_code', sa.String(length=40), nullable=False),
    sa.Column('series_contents', sa.Text(), nullable=False),
    sa.Column('volumes', sa.Integer(), nullable=False),
    sa.Column('volume_unit', sa.String(length=4), nullable=False),
    sa.Column('extant', sa.String(length=200), nullable=False),
    sa.Column('missing', sa.String(length=200), nullable=False),
    sa.Column('seals', sa.Text(), nullable=False),
    sa.Column('grade_code', sa.String(length=2), nullable=True),
    sa.Column('grade_class', sa.String(length=2), nullable=True),
    sa.Column('damage_level_code', sa.String(length=40), nullable=False),
    sa.Column('damage_types', sa.JSON(), nullable=False),
    sa.Column('damage_share', sa.Integer(), nullable=True),
    sa.Column('repair_needed', sa.Boolean(), nullable=False),
    sa.Column('damage_notes', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('holding_unit', sa.String(length=200), nullable=False),
    sa.Column('bib_record_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("NOT (grade_code = '4' AND grade_class IS NOT NULL)", name=op.f('ck_census_records_grade4_no_class')),
    sa.CheckConstraint("grade_class IS NULL OR grade_class IN ('甲', '乙', '丙')", name=op.f('ck_census_records_grade_class_valid')),
    sa.CheckConstraint("grade_code IS NULL OR grade_code IN ('1', '2', '3', '4')", name=op.f('ck_census_records_grade_valid')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'returned', 'approved')", name=op.f('ck_census_records_status_valid')),
    sa.CheckConstraint('damage_share IS NULL OR (damage_share >= 0 AND damage_share <= 100)', name=op.f('ck_census_records_damage_share_range')),
    sa.CheckConstraint('edition_year_from IS NULL OR edition_year_to >= edition_year_from', name=op.f('ck_census_records_edition_years')),
    sa.CheckConstraint('grade_class IS NULL OR grade_code IS NOT NULL', name=op.f('ck_census_records_class_needs_grade')),
    sa.CheckConstraint('volumes >= 1', name=op.f('ck_census_records_volumes_positive')),
    sa.ForeignKeyConstraint(['bib_record_id'], ['bib_records.id'], name=op.f('fk_census_records_bib_record_id_bib_records'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_census_records_created_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['staff_users.id'], name=op.f('fk_census_records_reviewed_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_census_records')),
    sa.UniqueConstraint('census_no', name=op.f('uq_census_records_census_no'))
    )
    with op.batch_alter_table('census_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_records_bib_record_id'), ['bib_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_records_call_number'), ['call_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_census_records_status'), ['status'], unique=False)

    op.create_table('census_authors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('dynasty', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_census_authors_record_id_census_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_census_authors'))
    )
    with op.batch_alter_table('census_authors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_authors_record_id'), ['record_id'], unique=False)

    op.create_table('census_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_census_changes_record_id_census_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_census_changes_staff_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_census_changes'))
    )
    with op.batch_alter_table('census_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_changes_record_id'), ['record_id'], unique=False)

    op.create_table('census_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_census_photos_record_id_census_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff_users.id'], name=op.f('fk_census_photos_uploaded_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_census_photos'))
    )
    with op.batch_alter_table('census_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_census_photos_record_id'), ['record_id'], unique=False)

    op.create_table('digitization_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('volume_no', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('started_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('locked', 'open', 'in_progress', 'done', 'skipped')", name=op.f('ck_digitization_steps_state_valid')),
    sa.CheckConstraint("step IN ('selection', 'condition', 'repair', 'scanning', 'qc', 'metadata', 'publishing', 'archiving')", name=op.f('ck_digitization_steps_step_valid')),
    sa.CheckConstraint('volume_no >= 1', name=op.f('ck_digitization_steps_volume_positive')),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff_users.id'], name=op.f('fk_digitization_steps_assignee_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_digitization_steps_record_id_census_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digitization_steps')),
    sa.UniqueConstraint('record_id', 'volume_no', 'step', name=op.f('uq_digitization_steps_record_id_volume_no_step'))
    )
    with op.batch_alter_table('digitization_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digitization_steps_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_digitization_steps_state', ['step', 'state'], unique=False)

    op.create_table('published_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('volume_no', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.CheckConstraint('seq >= 1', name=op.f('ck_published_images_seq_positive')),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_published_images_size_positive')),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_published_images_record_id_census_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_images')),
    sa.UniqueConstraint('record_id', 'seq', name=op.f('uq_published_images_record_id_seq'))
    )
    with op.batch_alter_table('published_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_images_record_id'), ['record_id'], unique=False)

    op.create_table('scan_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('volume_no', sa.Integer(), nullable=False),
    sa.Column('batch_no', sa.String(length=40), nullable=False),
    sa.Column('scanned_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('operator', sa.String(length=100), nullable=False),
    sa.Column('image_count', sa.Integer(), nullable=False),
    sa.Column('resolution_ppi', sa.Integer(), nullable=False),
    sa.Column('colour', sa.String(length=12), nullable=False),
    sa.Column('file_format', sa.String(length=20), nullable=False),
    sa.Column('device', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("colour IN ('colour', 'grey', 'bitonal')", name=op.f('ck_scan_batches_colour_valid')),
    sa.CheckConstraint('image_count >= 0', name=op.f('ck_scan_batches_image_count_nonnegative')),
    sa.CheckConstraint('resolution_ppi > 0', name=op.f('ck_scan_batches_resolution_positive')),
    sa.ForeignKeyConstraint(['record_id'], ['census_records.id'], name=op.f('fk_scan_batches_record_id_census_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_scan_batches_batch_no'))
    )
    with op.batch_alter_table('scan_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_batches_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_batches_scanned_at'), ['scanned_at'], unique=False)

    op.create_table('master_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('registered_at', library.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_at', library.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verify_status', sa.String(length=10), nullable=False),
    sa.CheckConstraint("verify_status IN ('ok', 'missing', 'changed')", name=op.f('ck_master_files_verify_status_valid')),
    sa.ForeignKeyConstraint(['batch_id'], ['scan_batches.id'], name=op.f('fk_master_files_batch_id_scan_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_master_files')),
    sa.UniqueConstraint('path', name=op.f('uq_master_files_path'))
    )
    with op.batch_alter_table('master_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_master_files_batch_id'), ['batch_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('master_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_master_files_batch_id'))

    op.drop_table('master_files')
    with op.batch_alter_table('scan_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_batches_scanned_at'))
        batch_op.drop_index(batch_op.f('ix_scan_batches_record_id'))

    op.drop_table('scan_batches')
    with op.batch_alter_table('published_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_images_record_id'))

    op.drop_table('published_images')
    with op.batch_alter_table('digitization_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_digitization_steps_state')
        batch_op.drop_index(batch_op.f('ix_digitization_steps_record_id'))

    op.drop_table('digitization_steps')
    with op.batch_alter_table('census_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_photos_record_id'))

    op.drop_table('census_photos')
    with op.batch_alter_table('census_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_changes_record_id'))

    op.drop_table('census_changes')
    with op.batch_alter_table('census_authors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_authors_record_id'))

    op.drop_table('census_authors')
    with op.batch_alter_table('census_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_census_records_status'))
        batch_op.drop_index(batch_op.f('ix_census_records_call_number'))
        batch_op.drop_index(batch_op.f('ix_census_records_bib_record_id'))

    op.drop_table('census_records')
    op.drop_table('census_terms')
    op.drop_table('census_counters')
