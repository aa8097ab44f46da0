"""Share pledges (股权质押): a household's shares pledged to a bank, and the steps of each pledge

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collective_share_pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('shares', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('loan_amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('valuation', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('valuation_basis', sa.JSON(), nullable=False),
    sa.Column('contract_number', sa.String(length=40), nullable=False),
    sa.Column('consent', sa.JSON(), nullable=False),
    sa.Column('applied_by', sa.String(length=64), nullable=False),
    sa.Column('certificate_number', sa.String(length=40), nullable=True),
    sa.Column('certificate_index', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('shares > 0', name=op.f('ck_collective_share_pledges_shares_positive')),
    sa.CheckConstraint('loan_amount > 0 AND valuation > 0', name=op.f('ck_collective_share_pledges_amounts_positive')),
    sa.CheckConstraint('loan_amount <= valuation', name=op.f('ck_collective_share_pledges_within_value')),
    sa.CheckConstraint('end_date > start_date', name=op.f('ck_collective_share_pledges_term_order')),
    sa.ForeignKeyConstraint(['plan_id'], ['collective_share_plans.id'], name=op.f('fk_collective_share_pledges_plan_id_collective_share_plans')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_collective_share_pledges_household_id_households')),
    sa.ForeignKeyConstraint(['bank_id'], ['organisations.id'], name=op.f('fk_collective_share_pledges_bank_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collective_share_pledges')),
    sa.UniqueConstraint('certificate_number', name=op.f('uq_collective_share_pledges_certificate_number'))
    )
    with op.batch_alter_table('collective_share_pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collective_share_pledges_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collective_share_pledges_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collective_share_pledges_bank_id'), ['bank_id'], unique=False)

    op.create_table('collective_share_pledge_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('applied', 'registered', 'refused', 'released', name='sharepledgestep', native_enum=False, length=16), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('ledger_index', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pledge_id'], ['collective_share_pledges.id'], name=op.f('fk_collective_share_pledge_events_pledge_id_collective_share_pledges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collective_share_pledge_events'))
    )
    with op.batch_alter_table('collective_share_pledge_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collective_share_pledge_events_pledge_id'), ['pledge_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('collective_share_pledge_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collective_share_pledge_events_pledge_id'))
    op.drop_table('collective_share_pledge_events')
    with op.batch_alter_table('collective_share_pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collective_share_pledges_bank_id'))
        batch_op.drop_index(batch_op.f('ix_collective_share_pledges_household_id'))
        batch_op.drop_index(batch_op.f('ix_collective_share_pledges_plan_id'))
    op.drop_table('collective_share_pledges')
