"""Check forms: inspection rounds (巡检) and test records, their items (pass/fail or readings with limits),
the records of each filling-in and the answers, each failed answer with its corrective ticket

Revision ID: 0013_rounds_check_forms
Revises: 0013_certs_compliance
Create Date: 2026-12-07 17:24:00.824657

"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0013_rounds_check_forms'
down_revision = '0013_certs_compliance'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('check_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('standard', sa.String(length=60), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('round', 'test')", name=op.f('ck_check_form_kind_known')),
    sa.ForeignKeyConstraint(['schedule_id'], ['maintenance_schedule.id'], name=op.f('fk_check_form_schedule_id_maintenance_schedule')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_check_form_trade_id_trade')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_check_form_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_form')),
    sa.UniqueConstraint('schedule_id', name=op.f('uq_check_form_schedule_id'))
    )
    with op.batch_alter_table('check_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_form_trade_id'), ['trade_id'], unique=False)

    op.create_table('check_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('min_value', sa.Float(), nullable=True),
    sa.Column('max_value', sa.Float(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('check', 'reading')", name=op.f('ck_check_item_kind_known')),
    sa.CheckConstraint('min_value IS NULL OR max_value IS NULL OR min_value <= max_value', name=op.f('ck_check_item_limits_in_order')),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_check_item_asset_id_asset')),
    sa.ForeignKeyConstraint(['form_id'], ['check_form.id'], name=op.f('fk_check_item_form_id_check_form')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_check_item_location_id_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_item'))
    )
    with op.batch_alter_table('check_item', schema=None) as batch_op:
        batch_op.create_index('ix_check_item_form_position', ['form_id', 'position'], unique=False)

    op.create_table('check_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_check_record_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['form_id'], ['check_form.id'], name=op.f('fk_check_record_form_id_check_form')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_record')),
    sa.UniqueConstraint('form_id', 'due_date', name='uq_check_record_form_due')
    )
    op.create_table('check_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=160), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('min_value', sa.Float(), nullable=True),
    sa.Column('max_value', sa.Float(), nullable=True),
    sa.Column('reading', sa.Float(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['check_item.id'], name=op.f('fk_check_result_item_id_check_item')),
    sa.ForeignKeyConstraint(['record_id'], ['check_record.id'], name=op.f('fk_check_result_record_id_check_record')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_check_result_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_result')),
    sa.UniqueConstraint('record_id', 'item_id', name='uq_check_result_record_item'),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_check_result_ticket_id'))
    )


def downgrade():
    op.drop_table('check_result')
    op.drop_table('check_record')
    with op.batch_alter_table('check_item', schema=None) as batch_op:
        batch_op.drop_index('ix_check_item_form_position')

    op.drop_table('check_item')
    with op.batch_alter_table('check_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_form_trade_id'))

    op.drop_table('check_form')
