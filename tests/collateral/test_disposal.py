"""Disposal of a defaulted loan's collateral through the exchange (抵押物处置): the bank asks and consents, the
village lists, the exchange runs its steps, the buyer's payments go to the bank first, and the registration of the
transfer discharges the pledge. Each refusal names its code and field and leaves the database and ledger as
they were."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import Role
from exchange.accounts.operations import create_account
from exchange.collateral import disposal as disposals
from exchange.collateral import operations as collateral
from exchange.collateral.models import CollateralApplication, CollateralStep, DisposalListing, DisposalProceeds
from exchange.db import db
from exchange.errors import DomainError
from exchange.registry import operations as registry
from exchange.registry.models import Encumbrance, Organisation, OrganisationKind, Right
from exchange.transfers import contracting
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingState
from ledger.storage import entries as ledger_entries
from tests.transfers.test_workflow import account, after_notice, bidders_in

RIGHT = "CB5117231002000100006-001"  # a 金山村 household's contract right, not pledged (tests/test_collateral.py)
OUTSTANDING = Decimal("28500.00")


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(t)) for t in (
        ledger_entries, Listing, DisposalListing, DisposalProceeds, Encumbrance)) + (
        db.session.scalar(select(func.count()).select_from(CollateralApplication.__table__)),)


def refused(code: str, field: str, call, *args, **kwargs) -> DomainError:
    before = counts()
    with db.session.begin_nested():
        with pytest.raises(DomainError) as caught:
            call(*args, **kwargs)
    error = caught.value
    assert code in getattr(error, "codes", [error.code]), (code, error.code, error.message_zh)
    assert error.field == field, (error.field, field)
    assert error.message_zh and error.message_en
    assert counts() == before
    return error


def registered_loan(right_number: str = RIGHT) -> CollateralApplication:
    right = db.session.scalar(select(Right).where(Right.number == right_number))
    bank = collateral.bank_of(account("bank"))
    application = collateral.apply(bank, right, loan_amount=Decimal("30000"), start=date(2026, 12, 1),
                                   end=date(2029, 11, 30), valuation_basis={"method": "rent", "annual_rent": "2000"},
                                   contract_number="KJNS-2026-0101")
    collateral.register(application)
    return application


def defaulted(right_number: str = RIGHT) -> CollateralApplication:
    application = registered_loan(right_number)
    collateral.request_disposal(account("bank"), application, "逾期 180 天", OUTSTANDING)
    return application


def list_it(application: CollateralApplication, **overrides):
    year = date.today().year
    arguments = dict(reserve_price="40000", start_date=date(year + 1, 1, 1), end_date=date(year + 10, 12, 31))
    arguments.update(overrides)
    return disposals.submit_disposal_listing(account("village"), application, **arguments)


def other_bank():
    bank = Organisation(name="开江县某村镇银行", kind=OrganisationKind.bank, credit_code="91511723MA62000002")
    db.session.add(bank)
    create_account("bank2", "Demo@2026-bank2", Role.bank, "村镇银行信贷员", None, bank.name)
    db.session.flush()
    return account("bank2")


def test_the_whole_disposal_bank_first_then_the_holder_and_the_pledge_discharged(app_ctx):
    application = defaulted()
    assert application.step == CollateralStep.disposal_requested and application.outstanding == OUTSTANDING
    consent = application.disposal_consent
    assert consent["credit_code"] == application.bank.credit_code and consent["encumbrance"] == application.encumbrance_id
    disposal = list_it(application)
    listing = disposal.listing
    assert listing.title.startswith("【抵押物处置】") and listing.documents["pledgee_consent"] == consent
    assert listing.state == ListingState.submitted and listing.submitted_by == "village"
    ops.accept(account("township"), listing, listing.version)
    ops.approve(account("township"), listing, listing.version)
    assert listing.state == ListingState.listed
    refused("DISPOSAL-OPEN", "application", list_it, application)
    refused("DISPOSAL-OPEN", "application", collateral.release, application, "还清")
    # one qualified bidder: the offer is the award
    bidders_in(listing, "bidder")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "40000")
    assert listing.state == ListingState.awarded
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1))
    contract = listing.contract
    assert listing.state == ListingState.contracting and len(contract.schedule) == 1
    contracting.review_contract(account("township"), contract, listing.version)
    contracting.sign_contract(account("bidder"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    size = counts()[0]
    ops.settle(account("township"), listing, listing.version, reference="BANK-2027-777")
    # the buyer's 40000: 28500 to the bank (its outstanding), 11500 to the holder; recorded with the payment
    shares = {p.recipient: p.amount for p in application.proceeds}
    assert shares == {"bank": OUTSTANDING, "holder": Decimal("11500.00")}
    payment = contract.schedule[0].payments[0]
    assert all(p.payment_id == payment.id and p.ledger_index > payment.ledger_index for p in application.proceeds)
    assert counts()[0] == size + 3  # settled step, payment, proceeds split
    summary = disposals.summary(application)
    assert summary["bank_received"] == OUTSTANDING and summary["still_owed"] == 0
    # registration: the new right to the buyer, the pledge released with its reason, the application disposed
    encumbrance = application.encumbrance
    new, _certificate = ops.register_transfer(account("township"), listing, listing.version)
    db.session.flush()
    assert listing.state == ListingState.registered and new.derived_from_id == application.right_id
    assert encumbrance.released_at is not None and not application.right.active_pledges()
    assert application.step == CollateralStep.disposed
    assert application.events[-1].ledger_index is not None
    actions = [e for e in _entries_about(application.right.number)]
    assert {"disposal_requested", "disposal_listed", "disposal_proceeds", "release"} <= set(actions)
    release = _entry(application.events[-1].ledger_index)
    assert release["data"]["reason"].startswith("处置清偿")


def _entry(index: int) -> dict:
    import json

    raw = db.session.scalar(select(ledger_entries.c.entry).where(ledger_entries.c.idx == index))
    return json.loads(raw)


def _entries_about(number: str) -> list[str]:
    import json

    rows = db.session.scalars(select(ledger_entries.c.entry).order_by(ledger_entries.c.idx.desc()).limit(60))
    actions = []
    for raw in rows:
        entry = json.loads(raw)
        if any(s.get("id") == number for s in entry["subjects"]):
            actions.append(entry["data"].get("action"))
    return actions


def test_a_price_below_the_outstanding_amount_all_goes_to_the_bank(app_ctx):
    application = defaulted()
    listing = list_it(application, reserve_price="20000").listing
    ops.accept(account("township"), listing, listing.version)
    ops.approve(account("township"), listing, listing.version)
    bidders_in(listing, "bidder")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "20000")
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1))
    contract = listing.contract
    contracting.review_contract(account("township"), contract, listing.version)
    contracting.sign_contract(account("bidder"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    ops.settle(account("township"), listing, listing.version, reference="BANK-2027-778")
    assert [(p.recipient, p.amount) for p in application.proceeds] == [("bank", Decimal("20000.00"))]
    assert disposals.summary(application)["still_owed"] == Decimal("8500.00")


def test_refusals(app_ctx):
    application = registered_loan()
    # not in disposal_requested
    refused("DISPOSAL-STEP", "application", list_it, application)
    # a bank that is not the pledgee can neither ask for disposal nor consent to it
    refused("DISPOSAL-NOT-PLEDGEE", "application", collateral.request_disposal, other_bank(), application, "逾期",
            "1000")
    refused("OUTSTANDING", "outstanding", collateral.request_disposal, account("bank"), application, "逾期", "0")
    collateral.request_disposal(account("bank"), application, "逾期 180 天", OUTSTANDING)
    # reserve price missing or not above 0
    refused("DISPOSAL-RESERVE", "reserve_price", list_it, application, reserve_price=None)
    refused("DISPOSAL-RESERVE", "reserve_price", list_it, application, reserve_price="0")
    refused("DISPOSAL-RESERVE", "reserve_price", list_it, application, reserve_price="-5")
    # only the village lists, on the holder's behalf
    with db.session.begin_nested():
        with pytest.raises(DomainError) as caught:
            disposals.submit_disposal_listing(account("bank"), application, reserve_price="1",
                                              start_date=date(2027, 1, 1), end_date=date(2030, 1, 1))
    assert caught.value.code == "DISPOSAL-SUBMITTER"
    # a court freeze beats the bank
    with db.session.begin_nested() as frozen:
        registry.freeze(application.right, "开江县人民法院", "(2027)川1723执保9号", "财产保全")
        error = refused("ENCUMBERED", "right", list_it, application)
        assert "开江县人民法院" in error.message_zh
        frozen.rollback()
    # a second listing while one is open
    list_it(application)
    refused("DISPOSAL-OPEN", "application", list_it, application)


def test_the_encumbered_rule_checks_who_consented(app_ctx):
    """A consent recorded as data must be the pledge's pledgee's; another bank's consent is refused."""
    from exchange.registry import rules

    application = registered_loan()
    right = application.right
    proposal = dict(source=right, asset=right.parcel, start_date=date(2027, 1, 1), end_date=date(2030, 1, 1))
    def codes(consent):
        return [v.code for v in rules.evaluate(rules.Proposal("transfer_management", consents={"pledgee": consent},
                                                              **proposal))]
    assert "ENCUMBERED" in codes(None)
    assert "ENCUMBERED" in codes({"bank": "开江县某村镇银行", "credit_code": "91511723MA62000002"})
    assert "ENCUMBERED" in codes({"credit_code": application.bank.credit_code, "encumbrance": -1})
    assert "ENCUMBERED" not in codes({"credit_code": application.bank.credit_code,
                                      "encumbrance": application.encumbrance_id})
    # an ordinary listing cannot pass a consent as data through its documents (there it is only a yes or no),
    # so a village cannot borrow the bank's name: that consent counts as none
    forged = {"household_consent": "委托书", "pledgee_consent": {"credit_code": application.bank.credit_code,
                                                               "encumbrance": application.encumbrance_id}}
    refused("ENCUMBERED", "right", ops.submit_listing, account("village"), right=right,
            kind="land_management_transfer", mode="出租", reserve_price="800", price_unit="per_year",
            start_date=date(2027, 1, 1), end_date=date(2030, 12, 31), permitted_use="1", payment_terms="年付",
            documents=forged)


def test_a_failed_disposal_is_relisted_as_a_disposal(app_ctx):
    application = defaulted()
    listing = list_it(application).listing
    ops.accept(account("township"), listing, listing.version)
    ops.approve(account("township"), listing, listing.version)
    ops.tick(after_notice(listing))
    assert listing.state == ListingState.failed
    fresh = ops.relist(account("village"), listing, listing.version, reserve_price="30000")
    assert disposals.disposal_of(fresh).application is application
    assert fresh.title.startswith("【抵押物处置】") and fresh.documents["pledgee_consent"] == application.disposal_consent
