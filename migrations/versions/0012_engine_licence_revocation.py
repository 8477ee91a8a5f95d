"""Licence revocation (when, by whom, why) and one record per licence that lapsed under open jobs

Revision ID: 0012_engine_licence_revocation
Revises: 0012_outage_call_history
Create Date: 2026-12-07 14:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_engine_licence_revocation'
down_revision = '0012_outage_call_history'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_licence_revoked_by_id_user_account'), 'user_account',
                                    ['revoked_by_id'], ['id'], ondelete='SET NULL')
    # The supervisors are told once per lapse: the unique licence id decides between two schedulers.
    op.create_table(
        'licence_lapse',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('licence_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('noticed_at', sa.DateTime(), nullable=False),
        sa.Column('open_jobs', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['licence_id'], ['licence.id'], name=op.f('fk_licence_lapse_licence_id_licence'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['technician_id'], ['user_account.id'],
                                name=op.f('fk_licence_lapse_technician_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_lapse')),
        sa.UniqueConstraint('licence_id', name=op.f('uq_licence_lapse_licence_id')),
    )
    with op.batch_alter_table('licence_lapse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_lapse_technician_id'), ['technician_id'], unique=False)


def downgrade():
    with op.batch_alter_table('licence_lapse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_lapse_technician_id'))
    op.drop_table('licence_lapse')
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_licence_revoked_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_at')
