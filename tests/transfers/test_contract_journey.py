"""From award to certificate: the contract is drafted from the standard template, reviewed by the township,
accepted by both parties on its digest, settled, registered in the registry and certified."""
from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask_login import login_user
from sqlalchemy import func

from exchange.db import db
from exchange.transfers import contracting
from exchange.transfers import operations as ops
from exchange.transfers import views
from exchange.transfers.models import ContractState, DepositState, ListingState
from tests.transfers.test_workflow import account, after_notice, bidders_in, ledger_size, listed, refused


def awarded_and_drafted():
    listing = listed()
    winner, loser = bidders_in(listing, "bidder", "bidder2")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder2"), listing, listing.version, "800")
    ops.place_bid(account("bidder"), listing, listing.version, "850")
    ops.tick(ops._aware(listing.auction_ends_at) + timedelta(seconds=1))
    assert listing.state == ListingState.awarded
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1))
    assert listing.state == ListingState.contracting
    return listing, winner, loser


def test_the_whole_transfer_from_award_to_certificate(app_ctx, tmp_path):
    listing, winner, loser = awarded_and_drafted()
    contract = listing.contract
    assert contract.state == ContractState.draft and contract.kind == "land_management_transfer"
    terms = contract.terms
    assert terms["amount"] == "850.00" or Decimal(terms["amount"]) == Decimal("850")
    assert len(contract.schedule) == 8 and all(i.amount == Decimal("850.00") for i in contract.schedule)
    # nobody signs an unreviewed text
    refused("CONTRACT-STATE", contracting.sign_contract, account("bidder"), contract, listing.version, "transferee",
            contract.digest)
    # the township corrects the use clause; the digest changes with it
    before = contract.digest
    refused("CONTRACT-FIXED", contracting.review_contract, account("township"), contract, listing.version,
            {"amount": "1"})
    contracting.review_contract(account("township"), contract, listing.version)
    assert contract.state == ContractState.reviewed and contract.digest == before
    # a party who read an older text is refused; the right accounts sign on the digest they read
    refused("CONTRACT-DIGEST", contracting.sign_contract, account("bidder"), contract, listing.version, "transferee",
            "0" * 64)
    refused("CONTRACT-SIGNER", contracting.sign_contract, account("bidder2"), contract, listing.version,
            "transferee", contract.digest)
    contracting.sign_contract(account("bidder"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    assert contract.state == ContractState.signed and listing.state == ListingState.signed
    pdf = contracting.contract_pdf(contract)
    assert hashlib.sha256(pdf).hexdigest() == contract.pdf_sha256
    path = tmp_path / "contract.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    compact = "".join(text.split())
    assert "土地经营权" in compact and contract.number in compact and "850" in compact
    # settlement: the loser's deposit goes back, the winner's counts toward the price
    refused("SETTLEMENT-REFERENCE", ops.settle, account("township"), listing, listing.version, reference=" ")
    ops.settle(account("township"), listing, listing.version, reference="BANK-2027-001")
    assert loser.deposit_state == DepositState.refunded and winner.deposit_state == DepositState.applied
    assert contract.schedule[0].paid == contract.schedule[0].amount
    # registration: a new management right for the winner, the transaction certificate
    size = ledger_size()
    new, certificate = ops.register_transfer(account("township"), listing, listing.version)
    db.session.flush()
    assert listing.state == ListingState.registered and listing.certificate_number == certificate.number
    assert new.ended_at is None and new.derived_from_id == listing.right.id
    assert ledger_size() > size
    steps = [e.step for e in listing.events]
    for step in ("contract_drafted", "contract_reviewed", "contract_accepted", "contract_signed", "settled",
                 "registered"):
        assert step in steps, step


def test_a_review_that_breaks_the_law_is_refused_and_changes_nothing(app_ctx):
    listing, _, _ = awarded_and_drafted()
    contract = listing.contract
    digest, size = contract.digest, ledger_size()
    with pytest.raises(Exception):
        with db.session.begin_nested():
            contracting.review_contract(account("township"), contract, listing.version,
                                        {"end": (listing.start_date.replace(year=listing.start_date.year + 30)).isoformat()})
    db.session.refresh(contract)
    assert contract.digest == digest and contract.state == ContractState.draft and ledger_size() == size


def test_a_right_frozen_after_the_award_holds_the_listing_back_without_stopping_the_tick(app_ctx, monkeypatch):
    from exchange.registry import operations as registry

    listing = listed()
    bidders_in(listing, "bidder")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    assert listing.state == ListingState.awarded
    registry.freeze(listing.right, "开江县人民法院", "(2027)川1723执保1号", "财产保全")
    size = ledger_size()
    after = ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1)
    moved = ops.tick(after)
    assert moved == {"held_back": 1}
    assert listing.state == ListingState.awarded and listing.contract is None and ledger_size() == size
    # the township's page says why, instead of promising a contract
    monkeypatch.setattr(ops, "now", lambda: after)
    login_user(account("township"))
    page = views.show(listing.number)
    note = re.search(r'data-testid="deadline-note">([^<]*)<', page).group(1)
    assert note.startswith("成交公示期已结束，但合同暂不能生成：ENCUMBERED") and "开江县人民法院" in note
    assert "系统将生成合同" not in page


def test_a_member_who_matched_signs_as_the_household_named_in_the_register(app_ctx):
    listing = listed()
    bidders_in(listing, "bidder", "member")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder"), listing, listing.version, "800")
    ops.tick(ops._aware(listing.auction_ends_at) + timedelta(seconds=1))
    ops.match(account("member"), listing, listing.version)
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1))
    contract = listing.contract
    household = listing.winner.profile.household
    assert contract.terms["transferee"]["name"] == household.head_name
    assert contract.terms["transferee"]["address"] == listing.winner.profile.address != ""
    contracting.review_contract(account("township"), contract, listing.version)
    refused("CONTRACT-SIGNER", contracting.sign_contract, account("bidder"), contract, listing.version, "transferee",
            contract.digest)
    contracting.sign_contract(account("member"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    assert contract.state == ContractState.signed


def test_rent_for_a_collective_asset_becomes_the_collectives_income(app_ctx):
    from sqlalchemy import select

    from exchange.collectives.models import IncomeRecord, Motion, MotionKind
    from exchange.registry.models import CollectiveAsset, Right, RightType

    motion = db.session.scalar(select(Motion).where(Motion.kind == MotionKind.asset_lease, Motion.passed.is_(True)))
    school = db.session.scalar(select(CollectiveAsset).where(CollectiveAsset.code == motion.subject["asset"]))
    ownership = next(r for r in db.session.scalars(select(Right).where(Right.asset_id == school.id))
                     if r.right_type == RightType.ownership and r.active)
    year = date.today().year
    listing = ops.submit_listing(account("village"), right=ownership, kind="asset_lease", mode="出租",
                                 reserve_price="12000", price_unit="per_year", start_date=date(year + 1, 1, 1),
                                 end_date=date(year + 5, 12, 31), permitted_use="农产品仓储",
                                 payment_terms="按年支付", resolution=motion)
    ops.accept(account("township"), listing, listing.version)
    ops.approve(account("township"), listing, listing.version)
    bidders_in(listing, "bidder2")
    ops.tick(after_notice(listing))
    ops.place_bid(account("bidder2"), listing, listing.version, "12500")
    ops.tick(ops.end_of_day(listing.objection_ends_on) + timedelta(minutes=1))
    contract = listing.contract
    contracting.review_contract(account("township"), contract, listing.version)
    contracting.sign_contract(account("bidder2"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    before = db.session.scalar(select(func.count()).select_from(IncomeRecord))
    ops.settle(account("township"), listing, listing.version, reference="BANK-2027-0002")
    income = db.session.scalars(select(IncomeRecord).where(IncomeRecord.right_number == contract.number)).all()
    assert [i.amount for i in income] == [Decimal("12500.00")]
    assert contract.number in income[0].source
    ops.record_payment(account("village"), contract.schedule[1], "12500", date(year + 2, 1, 15), "BANK-2028")
    assert db.session.scalar(select(func.count()).select_from(IncomeRecord)) == before + 2


def test_rent_for_a_households_land_stays_out_of_the_collectives_books(app_ctx):
    from sqlalchemy import select

    from exchange.collectives.models import IncomeRecord

    listing, _, _ = awarded_and_drafted()
    contract = listing.contract
    contracting.review_contract(account("township"), contract, listing.version)
    contracting.sign_contract(account("bidder"), contract, listing.version, "transferee", contract.digest)
    contracting.sign_contract(account("village"), contract, listing.version, "transferor", contract.digest)
    ops.settle(account("township"), listing, listing.version, reference="BANK-2027-0003")
    assert contract.schedule[0].paid > 0
    assert not db.session.scalars(select(IncomeRecord).where(IncomeRecord.right_number == contract.number)).all()
