"""Demo for bank collateral: one performing loan (registered) and one defaulted loan whose collateral is in a
disposal listing (抵押物处置) accepted by the township for review, so ``make run`` shows the bank's dashboard with
both, and the township can approve the disposal onto the board. Loaded through the operations, as a bank, a township and a village would."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from exchange.accounts.models import Account
from exchange.collateral import disposal as disposals
from exchange.collateral import operations as collateral
from exchange.db import db
from exchange.demo.exchange import DEMO_VILLAGE
from exchange.ledger_app.service import ledger_actor
from exchange.registry.models import Collective, Household, Right, RightHolder, RightType
from exchange.transfers import operations as exchange
from exchange.transfers.models import Listing


def _account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def _free_rights(count: int) -> list[Right]:
    """Contract rights of 金山村 households, from the last household back (the exchange demo and the tests take
    theirs from the front): not frozen, not pledged, not listed, nothing derived from them."""
    collective = db.session.scalar(select(Collective).where(Collective.division.has(code=DEMO_VILLAGE)))
    households = db.session.scalars(select(Household).where(Household.collective_id == collective.id)
                                    .order_by(Household.code.desc())).all()
    taken = {r.derived_from_id for r in db.session.scalars(select(Right).where(Right.derived_from_id.is_not(None)))}
    taken |= set(db.session.scalars(select(Listing.right_id)))
    found = []
    for household in households:
        for right in db.session.scalars(select(Right).join(RightHolder).where(
                RightHolder.household_id == household.id, Right.right_type == RightType.contract,
                Right.ended_at.is_(None)).order_by(Right.number)):
            if right.id not in taken and not right.active_freezes() and not right.active_pledges():
                found.append(right)
                break
        if len(found) == count:
            return found
    raise RuntimeError("not enough free contract rights in the demo village")


def _actor(account: Account) -> dict:
    return {"role": account.role.value, "division": account.division.code if account.division else None,
            "account": account.username}


def load_collateral_demo() -> dict[str, int]:
    bank_account, township, village = _account("bank"), _account("township"), _account("village")
    bank = collateral.bank_of(bank_account)
    performing, defaulted = _free_rights(2)
    year = date.today().year
    applications = []
    for right, number, amount in ((performing, "KJNS-DY-2026-0031", "40000"), (defaulted, "KJNS-DY-2026-0017", "30000")):
        with ledger_actor(_actor(bank_account)):
            application = collateral.apply(
                bank, right, loan_amount=Decimal(amount), start=date(year, 1, 1), end=date(year + 3, 12, 31),
                valuation_basis={"method": "rent", "annual_rent": "2400", "attachments": "3000"},
                contract_number=number, guarantee="开江县农业融资担保有限公司", insurance="农险保单 PICC-2026-0417")
        with ledger_actor(_actor(township)):
            collateral.register(application)
        applications.append(application)
    with ledger_actor(_actor(bank_account)):
        collateral.request_disposal(bank_account, applications[1], "借款人逾期 210 天未还本付息，催收无果",
                                    Decimal("26800.00"))
    disposal = disposals.submit_disposal_listing(
        village, applications[1], reserve_price="3800", price_unit="per_year", start_date=date(year + 1, 1, 1),
        end_date=date(year + 12, 12, 31), bidder_conditions="具有农业经营能力，不得改变土地农业用途",
        payment_terms="租金按年支付，经交易中心结算，先清偿抵押权人债权，余款归权利人")
    listing = disposal.listing
    # Accepted, not yet approved: the township approves it in the walkthrough (the board tests count the demo's
    # public notices, and an approved disposal would be a second one).
    exchange.accept(township, listing, listing.version)
    return {"collateral_applications": 2, "disposal_listings": 1}
