"""Sign-in with the hospital's directory: where an account comes from, break-glass accounts, and the
administrator's mapping of directory groups to roles and wards

Revision ID: 0012_directory_sign_in
Revises: 0012_engine_licence_revocation
Create Date: 2026-12-07 14:10:00

"""
import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0012_directory_sign_in'
down_revision = '0012_engine_licence_revocation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('directory', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('directory_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('break_glass', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disabled_by_directory', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('directory_checked_at', UTCDateTime(), nullable=True))
        # One Dispatch account per directory account.
        batch_op.create_index('ix_user_account_directory_key', ['directory', 'directory_key'], unique=True)
    op.create_table(
        'directory_group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('name_key', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('ward_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name='fk_directory_group_ward_id_ward', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_directory_group'),
        sa.UniqueConstraint('name_key', name='uq_directory_group_name_key'),
    )


def downgrade():
    op.drop_table('directory_group')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_directory_key')
        batch_op.drop_column('directory_checked_at')
        batch_op.drop_column('disabled_by_directory')
        batch_op.drop_column('break_glass')
        batch_op.drop_column('directory_key')
        batch_op.drop_column('directory')
