"""The monthly leadership report, kept per month and version with its figures and PDF

Revision ID: 0010_leadership_report
Revises: 0009_emergency_plans
Create Date: 2026-11-24 19:30:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0010_leadership_report'
down_revision = '0009_emergency_plans'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('leadership_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('generated_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('pdf_locale', sa.String(length=10), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['generated_by_id'], ['user_account.id'], name=op.f('fk_leadership_report_generated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leadership_report')),
    sa.UniqueConstraint('month', 'version', name='uq_leadership_report_month_version')
    )
    with op.batch_alter_table('leadership_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leadership_report_month'), ['month'], unique=False)


def downgrade():
    with op.batch_alter_table('leadership_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leadership_report_month'))
    op.drop_table('leadership_report')
