"""Collateral disposal (抵押物处置): a pledged right listed on the exchange at the bank's request, proceeds bank-first

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 09:00:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
