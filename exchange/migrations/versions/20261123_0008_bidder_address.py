"""Bidder profiles carry the bidder's address (住所), which the standard contract names for each party

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bidder_profiles') as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('bidder_profiles') as batch_op:
        batch_op.drop_column('address')
