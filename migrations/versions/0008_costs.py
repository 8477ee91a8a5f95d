"""Parts, stores and stock movements; parts used on tickets; labour rates and trade budgets; ticket cost

Revision ID: 0008_costs
Revises: 0007_audit
Create Date: 2026-11-24 19:12:50.618588

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '0008_costs'
down_revision = '0007_audit'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('reorder_level', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('reorder_level >= 0', name=op.f('ck_part_reorder_level_not_negative')),
    sa.CheckConstraint('unit_cost >= 0', name=op.f('ck_part_unit_cost_not_negative')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_part_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_part')),
    sa.UniqueConstraint('code', name=op.f('uq_part_code'))
    )
    op.create_table('store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_store_building_id_building')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store')),
    sa.UniqueConstraint('name', name=op.f('uq_store_name'))
    )
    op.create_table('stock_level',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_level_quantity_not_negative')),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], name=op.f('fk_stock_level_part_id_part')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_stock_level_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_level')),
    sa.UniqueConstraint('part_id', 'store_id', name=op.f('uq_stock_level_part_id'))
    )
    with op.batch_alter_table('stock_level', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_level_store_id'), ['store_id'], unique=False)

    op.create_table('labour_rate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('normal_rate', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('out_of_hours_rate', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('normal_rate >= 0 AND out_of_hours_rate >= 0', name=op.f('ck_labour_rate_rates_not_negative')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_labour_rate_trade_id_trade')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_labour_rate_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labour_rate')),
    sa.UniqueConstraint('trade_id', name=op.f('uq_labour_rate_trade_id'))
    )
    op.create_table('trade_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_trade_budget_amount_not_negative')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_trade_budget_trade_id_trade')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_trade_budget_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_budget')),
    sa.UniqueConstraint('trade_id', 'month', name=op.f('uq_trade_budget_trade_id'))
    )
    op.create_table('stock_movement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('receipt', 'issue', 'adjustment', 'return')", name=op.f('ck_stock_movement_kind_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_stock_movement_actor_id_user_account')),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], name=op.f('fk_stock_movement_part_id_part')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_stock_movement_store_id_store')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_stock_movement_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movement'))
    )
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movement_part_at', ['part_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movement_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('issued_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_ticket_part_quantity_positive')),
    sa.CheckConstraint('returned >= 0 AND returned <= quantity', name=op.f('ck_ticket_part_returned_range')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_ticket_part_issued_by_id_user_account')),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], name=op.f('fk_ticket_part_part_id_part')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_ticket_part_store_id_store')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_part_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_part'))
    )
    with op.batch_alter_table('ticket_part', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_part_part_id'), ['part_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_part_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_cost', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('labour_cost', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('labour_out_of_hours_minutes', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('labour_out_of_hours_minutes')
        batch_op.drop_column('labour_cost')
        batch_op.drop_column('parts_cost')

    with op.batch_alter_table('ticket_part', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_part_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_part_part_id'))

    op.drop_table('ticket_part')
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movement_ticket_id'))
        batch_op.drop_index('ix_stock_movement_part_at')

    op.drop_table('stock_movement')
    op.drop_table('trade_budget')
    op.drop_table('labour_rate')
    with op.batch_alter_table('stock_level', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_level_store_id'))

    op.drop_table('stock_level')
    op.drop_table('store')
    op.drop_table('part')
