"""Indexes for the public board and the statistics at 10^5 listings

The board counts listings per state under the kind and township filters from ix_listings_board_filter alone, and
finds a page's rows, newest first, by walking ix_listings_board_order (the same columns in id order) instead of the
table, however deep the page. The statistics find the deals of a period by the time of their award, and the
failures by their auction's end or notice's end, instead of reading every listing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_listings_board_filter', 'listings', ['state', 'kind', 'division_id'])
    op.create_index('ix_listings_board_order', 'listings', ['id', 'state', 'kind', 'division_id'])
    op.create_index('ix_listings_stats_awarded', 'listings', ['state', 'awarded_at'])
    op.create_index('ix_listings_stats_failed', 'listings', ['state', 'auction_ends_at', 'notice_ends_on'])


def downgrade() -> None:
    op.drop_index('ix_listings_stats_failed', table_name='listings')
    op.drop_index('ix_listings_stats_awarded', table_name='listings')
    op.drop_index('ix_listings_board_order', table_name='listings')
    op.drop_index('ix_listings_board_filter', table_name='listings')
