"""Auction benchmark (issue 6): 50 qualified bidders place 2,000 bids on one listing; every bid is accepted or
refused, each as its own transaction (lock, version check, rules, ledger entry, commit). Target: p95 ≤ 50 ms on
PostgreSQL.

    scripts/with-postgres.sh .venv/bin/python benchmarks/auction_bench.py --postgres-from-env
    .venv/bin/python benchmarks/auction_bench.py            # SQLite only

Bids come from 2 worker processes, as the server runs (`make run`: gunicorn with 2 workers), each with its own
connection, picking random bidders; a bid whose page went stale while the other worker's bid went through is
refused (STALE, BID-ALREADY-BEST, BID-TOO-LOW) — refusals are timed too.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import multiprocessing
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from benchmarks.scratch import make_database  # noqa: E402

BIDDERS, BIDS, WORKERS = 50, 2000, 2  # WORKERS: the server's worker processes (`make run` starts 2)


_APP = None  # the app built by run(), inherited by the forked workers (a Flask app cannot be pickled)


def _bidder_process(listing_id: int, names: list[str], seed: int, count: int) -> tuple[list[float], dict]:
    """One server worker process: ``count`` bids from random bidders, each a request's worth of work (load the
    bidder and the listing, place the bid at the minimum the page showed, commit), timed from start to answer."""
    from exchange.accounts.models import Account
    from exchange.db import db
    from exchange.errors import DomainError
    from exchange.transfers import operations as ops
    from exchange.transfers.models import Listing

    app, rng, timings, outcomes = _APP, random.Random(seed), [], {}
    with app.app_context():
        for _ in range(count):
            name = rng.choice(names)
            started = time.perf_counter()
            try:
                bidder = db.session.scalar(select(Account).where(Account.username == name))
                current = db.session.get(Listing, listing_id)
                amount = ops.minimum_bid(current) + Decimal(rng.randrange(0, 3))
                ops.place_bid(bidder, current, current.version, amount)
                db.session.commit()
                outcome = "accepted"
            except DomainError as error:
                db.session.rollback()
                outcome = error.code
            timings.append(time.perf_counter() - started)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            db.session.remove()
    app.extensions["database"].engine.dispose()
    return timings, outcomes


def run(label: str, url: str, folder: Path) -> dict:
    from exchange import create_app
    from exchange.accounts.models import Account, Role
    from exchange.accounts.operations import create_account
    from exchange.db import db
    from exchange.demo.data import DEMO_PASSWORD
    from exchange.demo.exchange import demo_rights
    from exchange.registry.models import Organisation, OrganisationKind
    from exchange.transfers import operations as ops

    app = create_app({"INSTANCE_PATH": str(folder / f"instance-{label}"), "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "PUBLIC_BASE_URL": "http://localhost"})
    runner = app.test_cli_runner()
    for args in (["setup"], ["demo", "load"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    account = lambda name: db.session.scalar(select(Account).where(Account.username == name))  # noqa: E731
    with app.app_context():
        year = date.today().year
        listing = ops.submit_listing(account("village"), right=demo_rights()[1], kind="land_management_transfer",
                                     mode="出租", reserve_price="1000", price_unit="per_year",
                                     start_date=date(year + 1, 1, 1), end_date=date(year + 6, 12, 31), permitted_use="1",
                                     payment_terms="按年支付", documents={"household_consent": "委托书"}, increment="1")
        ops.accept(account("township"), listing, listing.version)
        ops.approve(account("township"), listing, listing.version)
        names = []
        for i in range(BIDDERS):
            org = Organisation(name=f"压测农业合作社{i:02d}", kind=OrganisationKind.cooperative,
                               credit_code=f"93511723MA{i:07d}X"[:18])
            db.session.add(org)
            user = create_account(f"bench{i:02d}", DEMO_PASSWORD, Role.bidder, org.name)
            db.session.flush()
            ops.save_profile(user, party_kind="organisation", credit_code=org.credit_code, farming_capacity="种植",
                              address="开江县新宁镇")
            interest = ops.register_interest(user, listing, listing.version)
            ops.qualify(account("township"), interest, listing.version, qualified=True)
            ops.record_deposit(account("township"), interest, listing.version, reference=f"D{i}")
            names.append(user.username)
        ops.catch_up(listing, ops.registration_closes_at(listing) + timedelta(minutes=1))
        listing.auction_ends_at = ops.now() + timedelta(days=1)
        listing.extension_minutes = 0
        db.session.commit()
        listing_id = listing.id

    global _APP
    _APP = app
    app.extensions["database"].engine.dispose()  # the workers are forked: no connection may cross the fork
    per_worker = BIDS // WORKERS
    context = multiprocessing.get_context("fork")
    wall = time.perf_counter()
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(_bidder_process, [(listing_id, names, seed, per_worker) for seed in range(WORKERS)])
    wall = time.perf_counter() - wall
    latencies = [t for timings, _ in results for t in timings]
    outcomes: dict[str, int] = {}
    for _, counted in results:
        for outcome, n in counted.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return {"backend": label, "bids": len(latencies), "outcomes": outcomes, "wall_s": wall,
            "median_ms": statistics.median(latencies) * 1000, "p95_ms": p95 * 1000, "max_ms": latencies[-1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-from-env", action="store_true", help="also run on PostgreSQL at $TEST_POSTGRES_URL")
    args = parser.parse_args()
    targets = [("sqlite", None)]
    if args.postgres_from_env:
        if not os.environ.get("TEST_POSTGRES_URL"):
            parser.error("--postgres-from-env: TEST_POSTGRES_URL is not set (use scripts/with-postgres.sh)")
        targets.append(("postgresql", os.environ["TEST_POSTGRES_URL"]))
    with tempfile.TemporaryDirectory(prefix="auction-bench-") as tmp:
        for label, server in targets:
            url, drop = make_database(server, Path(tmp), "auction_bench")
            try:
                r = run(label, url, Path(tmp))
            finally:
                drop()
            verdict = "PASS" if r["p95_ms"] <= 50 else "MISS"
            print(f"{r['backend']:<10} {r['bids']} bids from {BIDDERS} bidders on {WORKERS} worker processes in {r['wall_s']:.1f} s: "
                  f"median {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
                  f"[target p95 ≤ 50 ms: {verdict}{'' if label == 'postgresql' else ', target is for PostgreSQL'}]; "
                  f"outcomes {r['outcomes']}")


if __name__ == "__main__":
    main()
