"""Photos on tickets (the re-encoded image and its thumbnail, in the database), and a label version per
ward, room and asset (raising it revokes the QR labels printed before)

Revision ID: 0012_photos_photos_and_qr_labels
Revises: 0012_directory_sign_in
Create Date: 2026-12-07 14:10:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0012_photos_photos_and_qr_labels'
down_revision = '0012_directory_sign_in'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("stage IN ('report', 'comment', 'before', 'after')", name=op.f('ck_ticket_photo_stage_known')),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_event.id'], name=op.f('fk_ticket_photo_event_id_ticket_event')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_photo_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_ticket_photo_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_photo')),
    sa.UniqueConstraint('public_id', name=op.f('uq_ticket_photo_public_id'))
    )
    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_photo_ticket_id'), ['ticket_id'], unique=False)
    for table in ('ward', 'location', 'asset'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('label_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    for table in ('asset', 'location', 'ward'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('label_version')
    with op.batch_alter_table('ticket_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_photo_ticket_id'))
    op.drop_table('ticket_photo')
