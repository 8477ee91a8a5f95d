"""Reports: the monthly roll-up of settled tickets (counts, attend bands and exact time histograms)

Revision ID: 0013_reports_monthly_rollup
Revises: 0013_i18n_names_in_chinese
Create Date: 2026-12-07 17:40:00

A database that already has tickets gets the tables empty and unmarked: the reports keep reading the
tickets until `flask reports rebuild` has filled them (docs/operations.md). A database without tickets
has nothing to roll up, so its roll-up is complete from the start.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import models.base


revision = '0013_reports_monthly_rollup'
down_revision = '0013_i18n_names_in_chinese'
branch_labels = None
depends_on = None

TARGETS = ('acknowledge', 'attend', 'resolve')


def upgrade():
    counts = [sa.Column(f'{t}_{o}', sa.BigInteger(), nullable=False) for t in TARGETS for o in ('met', 'missed', 'done')]
    bands = [sa.Column(f'attend_band_{i}', sa.BigInteger(), nullable=False) for i in range(8)]
    op.create_table('report_month',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('trade_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('priority', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tickets', sa.BigInteger(), nullable=False),
    *counts, *bands,
    sa.PrimaryKeyConstraint('month', 'trade_id', 'priority', name=op.f('pk_report_month'))
    )
    op.create_table('report_month_band',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('target', sa.String(length=12), nullable=False),
    sa.Column('trade_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('priority', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('band', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tickets', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'target', 'trade_id', 'priority', 'band', name=op.f('pk_report_month_band'))
    )
    op.create_table('report_month_duration',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('target', sa.String(length=12), nullable=False),
    sa.Column('band', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('trade_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('priority', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seconds', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('tickets', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'target', 'band', 'trade_id', 'priority', 'seconds',
                            name=op.f('pk_report_month_duration'))
    )
    state = op.create_table('report_rollup_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rebuilt_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('tickets', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_rollup_state'))
    )
    if not op.get_bind().execute(sa.text('SELECT 1 FROM ticket LIMIT 1')).first():
        op.bulk_insert(state, [{'id': 1, 'rebuilt_at': datetime.now(timezone.utc), 'tickets': 0}])


def downgrade():
    op.drop_table('report_rollup_state')
    op.drop_table('report_month_duration')
    op.drop_table('report_month_band')
    op.drop_table('report_month')
