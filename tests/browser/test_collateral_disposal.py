"""A defaulted loan in a real browser: the bank asks for disposal on its dashboard (and so consents to the
listing), the village lists the collateral from the loan's page, the exchange runs its steps (the clock moved by
``flask exchange tick --at`` as cron would; the bidder's and the township's steps through the operations, as
tests/browser/test_exchange_journey.py does them in the browser), and the bank later sees on its dashboard what
it received first from the price, the rest going to the holder, and the loan disposed."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PRELUDE = """
from datetime import date
from decimal import Decimal
from sqlalchemy import select
from exchange.accounts.models import Account
from exchange.collateral import operations as collateral
from exchange.collateral.models import CollateralApplication
from exchange.db import db
from exchange.ledger_app.service import ledger_actor
from exchange.transfers import contracting
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing
def account(name):
    return db.session.scalar(select(Account).where(Account.username == name))
"""


def test_the_bank_asks_for_disposal_and_sees_the_proceeds(browser, live_server, live_flask, live_python):
    app_id = int(live_python(PRELUDE + """
from exchange.demo.collateral import _free_rights
right = _free_rights(1)[0]
bank = account("bank")
with ledger_actor({"role": "bank", "division": None, "account": "bank"}):
    application = collateral.apply(collateral.bank_of(bank), right, loan_amount=Decimal("30000"),
                                   start=date(2026, 1, 1), end=date(2028, 12, 31),
                                   valuation_basis={"method": "rent", "annual_rent": "2400"},
                                   contract_number="KJNS-DY-2026-0099")
    collateral.register(application)
db.session.commit()
print(application.id)
"""))
    bank_context = browser.new_context(base_url=live_server, locale="zh-CN")
    bank = bank_context.new_page()
    bank.set_default_timeout(10_000)
    log_in(bank, "bank")

    # 1. the loan defaults: the bank asks for disposal on its dashboard
    bank.goto("/collateral")
    bank.get_by_test_id(f"default-{app_id}").locator("summary").click()
    bank.get_by_test_id(f"outstanding-{app_id}").fill("26000")
    bank.get_by_test_id(f"reason-{app_id}").fill("逾期 200 天")
    bank.get_by_test_id(f"ask-disposal-{app_id}").click()
    expect(bank.locator(".flash-success")).to_contain_text("已申请违约处置")
    expect(bank.get_by_test_id(f"disposal-{app_id}")).to_contain_text("待村集体挂牌")

    # 2. the village lists the collateral from the loan's page (on the holder's behalf)
    village_context = browser.new_context(base_url=live_server, locale="zh-CN")
    village = village_context.new_page()
    village.set_default_timeout(10_000)
    log_in(village, "village")
    village.goto(f"/collateral/{app_id}")
    village.get_by_test_id("disposal-reserve_price").fill("40000")
    village.get_by_test_id("disposal-listing-submit").click()
    expect(village.locator(".flash-success")).to_contain_text("处置挂牌")
    village_context.close()

    # 3. the exchange: review and notice, one qualified bidder, its offer, the contract, settlement, registration
    facts = json.loads(live_python(PRELUDE + f"""
application = db.session.get(CollateralApplication, {app_id})
listing = application.disposal_listings[-1].listing
township = account("township")
ops.accept(township, listing, listing.version)
ops.approve(township, listing, listing.version)
interest = ops.register_interest(account("bidder"), listing, listing.version, plan="种植水稻")
ops.qualify(township, interest, listing.version, qualified=True, note="经营能力符合")
ops.record_deposit(township, interest, listing.version, reference="DEP-DISPOSAL-1")
db.session.commit()
import json
print(json.dumps({{"number": listing.number, "closes": ops.registration_closes_at(listing).isoformat()}}))
"""))
    closes = datetime.fromisoformat(facts["closes"])
    live_flask("exchange", "tick", "--at", (closes + timedelta(minutes=1)).isoformat())
    objection_ends = live_python(PRELUDE + f"""
listing = db.session.scalar(select(Listing).where(Listing.number == "{facts['number']}"))
ops.place_bid(account("bidder"), listing, listing.version, "40000")
db.session.commit()
print(ops.end_of_day(listing.objection_ends_on).isoformat())
""")
    live_flask("exchange", "tick", "--at", (datetime.fromisoformat(objection_ends) + timedelta(minutes=1)).isoformat())
    live_python(PRELUDE + f"""
listing = db.session.scalar(select(Listing).where(Listing.number == "{facts['number']}"))
contract = listing.contract
contracting.review_contract(account("township"), contract, listing.version)
contracting.sign_contract(account("bidder"), contract, listing.version, "transferee", contract.digest)
contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
ops.settle(account("township"), listing, listing.version, reference="PAY-DISPOSAL-1")
ops.register_transfer(account("township"), listing, listing.version)
db.session.commit()
""")

    # 4. the bank sees what it received first, the holder's remainder, and the loan disposed
    bank.goto("/collateral")
    expect(bank.get_by_test_id(f"bank-received-{app_id}")).to_contain_text("26000")
    expect(bank.get_by_test_id(f"disposal-state-{app_id}")).to_contain_text("已登记")
    expect(bank.get_by_test_id(f"disposal-{app_id}")).to_contain_text("14000")
    bank.goto(f"/collateral/{app_id}")
    expect(bank.get_by_test_id("step")).to_contain_text("已处置清偿")
    expect(bank.get_by_test_id("proceeds")).to_contain_text("抵押权人（银行）")
    bank_context.close()
