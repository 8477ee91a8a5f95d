"""Names in Chinese beside the English ones: wards, places, assets, trades, licence types, parts, breach
causes, emergency plans' titles, maintenance schedules' titles and checklists, and tickets' checklist steps

Revision ID: 0013_i18n_names_in_chinese
Revises: 0013_permits_interruptions
Create Date: 2026-12-07 17:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_i18n_names_in_chinese'
down_revision = '0013_permits_interruptions'
branch_labels = None
depends_on = None

# (table, column, type): every one nullable, so existing rows need nothing.
COLUMNS = (
    ('site', 'name_zh', sa.String(length=120)),
    ('building', 'name_zh', sa.String(length=120)),
    ('ward', 'name_zh', sa.String(length=120)),
    ('location', 'name_zh', sa.String(length=120)),
    ('asset', 'name_zh', sa.String(length=160)),
    ('trade', 'name_zh', sa.String(length=80)),
    ('licence_type', 'name_zh', sa.String(length=160)),
    ('part', 'name_zh', sa.String(length=160)),
    ('breach_cause', 'name_zh', sa.String(length=120)),
    ('emergency_plan_version', 'title_zh', sa.String(length=160)),
    ('maintenance_schedule', 'title_zh', sa.String(length=160)),
    ('maintenance_schedule', 'checklist_zh', sa.JSON()),
    ('ticket_checklist_item', 'text_zh', sa.Text()),
)


def upgrade():
    for table, column, type_ in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, type_, nullable=True))


def downgrade():
    for table, column, _type in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
