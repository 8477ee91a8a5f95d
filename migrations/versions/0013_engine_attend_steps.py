"""Escalation steps for the attend phase: a policy may say whom to tell when an acknowledged job has nobody
on site by its attend target (rows without a phase are the acknowledge chain they always were)

Revision ID: 0013_engine_attend_steps
Revises: 0012_photos_photos_and_qr_labels
Create Date: 2026-12-07 18:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_engine_attend_steps'
down_revision = '0012_photos_photos_and_qr_labels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phase', sa.String(length=12), server_default='acknowledge', nullable=False))


def downgrade():
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.drop_column('phase')
