"""Two staff approving, two bidders bidding at the same instant, on real concurrent connections: exactly one
outcome, the other refused with a clear code, and the ledger holds one entry per accepted step."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from exchange import create_app
from exchange.accounts.models import Account
from exchange.db import db
from exchange.demo.exchange import demo_rights
from exchange.errors import DomainError
from exchange.transfers import operations as ops
from exchange.transfers.models import Bid, Listing, ListingEvent, ListingState


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, database_factory):
    """An app of its own whose sessions commit for real (the shared test app rolls every test back)."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path_factory.mktemp("live-instance")),
                      "DATABASE_URL": database_factory(), "SECRET_KEY": "test", "PUBLIC_BASE_URL": "http://localhost"})
    runner = app.test_cli_runner()
    for args in (["setup"], ["demo", "load"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    yield app
    app.extensions["database"].engine.dispose()


def _account(name: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == name))


def _race(app, *calls) -> list[object]:
    """Run each call in its own thread, app context, session and connection, released together."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = call()
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                results[i] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _listing(app, state: str) -> tuple[int, int]:
    with app.app_context():
        year = date.today().year
        listing = ops.submit_listing(_account("village"), right=demo_rights()[1], kind="land_management_transfer",
                                     mode="出租", reserve_price="800", price_unit="per_year",
                                     start_date=date(year + 1, 1, 1), end_date=date(year + 6, 12, 31), permitted_use="1",
                                     payment_terms="按年支付", documents={"household_consent": "委托书"})
        ops.accept(_account("township"), listing, listing.version)
        if state == "auction":
            ops.approve(_account("township"), listing, listing.version)
            for name in ("bidder", "bidder2"):
                interest = ops.register_interest(_account(name), listing, listing.version)
                ops.qualify(_account("township"), interest, listing.version, qualified=True)
                ops.record_deposit(_account("township"), interest, listing.version, reference=name)
            ops.catch_up(listing, ops.registration_closes_at(listing) + timedelta(minutes=1))
            listing.auction_ends_at = ops.now() + timedelta(hours=1)
        db.session.commit()
        return listing.id, listing.version


def test_two_approvals_at_once_give_one_approval(live_app):
    listing_id, version = _listing(live_app, "accepted")

    def approve(name):
        return lambda: ops.approve(_account(name), db.session.get(Listing, listing_id), version)

    results = _race(live_app, approve("township"), approve("county"))
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(refusals) == 1 and refusals[0].code == "STALE", results
    with live_app.app_context():
        listing = db.session.get(Listing, listing_id)
        assert listing.state == ListingState.listed
        assert [e.step for e in db.session.scalars(select(ListingEvent).where(
            ListingEvent.listing_id == listing_id))].count("approved") == 1


def test_two_bids_at_once_give_one_accepted_bid(live_app):
    listing_id, version = _listing(live_app, "auction")

    def bid(name):
        return lambda: ops.place_bid(_account(name), db.session.get(Listing, listing_id), version, "900")

    results = _race(live_app, bid("bidder"), bid("bidder2"))
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(refusals) == 1 and refusals[0].code in ("STALE", "BID-TOO-LOW"), results
    with live_app.app_context():
        bids = db.session.scalars(select(Bid).where(Bid.listing_id == listing_id)).all()
        assert [b.amount for b in bids] == [900]
        events = db.session.scalars(select(ListingEvent).where(ListingEvent.listing_id == listing_id,
                                                               ListingEvent.step == "bid")).all()
        assert len(events) == 1 and events[0].ledger_index is not None
