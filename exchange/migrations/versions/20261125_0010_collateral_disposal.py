"""Collateral disposal (抵押物处置): a pledged right listed on the exchange at the bank's request, proceeds bank-first

The application keeps what the bank declared outstanding and its consent to the listing; each disposal listing
links an application to a listing; each payment by the buyer is split into the bank's share (first, up to the
outstanding amount) and the holder's remainder. The step enum gains ``disposed`` (native_enum=False: a VARCHAR
whose CHECK constraint SQLAlchemy does not create for non-native enums, so nothing to alter there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('collateral_applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outstanding', sa.Numeric(precision=16, scale=2), nullable=True))
        batch_op.add_column(sa.Column('disposal_consent', sa.JSON(), nullable=True))

    op.create_table('collateral_disposal_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('ledger_index', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['collateral_applications.id'], name=op.f('fk_collateral_disposal_listings_application_id_collateral_applications')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_collateral_disposal_listings_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collateral_disposal_listings')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_collateral_disposal_listings_listing_id'))
    )
    with op.batch_alter_table('collateral_disposal_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collateral_disposal_listings_application_id'), ['application_id'], unique=False)

    op.create_table('collateral_disposal_proceeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('ledger_index', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_collateral_disposal_proceeds_amount_positive')),
    sa.CheckConstraint("recipient IN ('bank', 'holder')", name=op.f('ck_collateral_disposal_proceeds_recipient_known')),
    sa.ForeignKeyConstraint(['application_id'], ['collateral_applications.id'], name=op.f('fk_collateral_disposal_proceeds_application_id_collateral_applications')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_collateral_disposal_proceeds_listing_id_listings')),
    sa.ForeignKeyConstraint(['payment_id'], ['contract_payments.id'], name=op.f('fk_collateral_disposal_proceeds_payment_id_contract_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collateral_disposal_proceeds')),
    sa.UniqueConstraint('payment_id', 'recipient', name='one_share_per_payment')
    )
    with op.batch_alter_table('collateral_disposal_proceeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collateral_disposal_proceeds_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_disposal_proceeds_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collateral_disposal_proceeds_payment_id'), ['payment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('collateral_disposal_proceeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collateral_disposal_proceeds_payment_id'))
        batch_op.drop_index(batch_op.f('ix_collateral_disposal_proceeds_listing_id'))
        batch_op.drop_index(batch_op.f('ix_collateral_disposal_proceeds_application_id'))
    op.drop_table('collateral_disposal_proceeds')
    with op.batch_alter_table('collateral_disposal_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collateral_disposal_listings_application_id'))
    op.drop_table('collateral_disposal_listings')
    op.execute("UPDATE collateral_events SET step = 'disposal_requested' WHERE step = 'disposed'")
    with op.batch_alter_table('collateral_applications', schema=None) as batch_op:
        batch_op.drop_column('disposal_consent')
        batch_op.drop_column('outstanding')
