"""Reports: breach causes and the indexes the reports need

Revision ID: 0003_reports
Revises: 0002_sms_outbox
Create Date: 2026-11-24

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import models.base  # noqa: F401


revision = '0003_reports'
down_revision = '0002_sms_outbox'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
