"""The board and the statistics at scale: a page is found by its number from whichever end of its section is
nearer, or from the listing the previous or next page ended with (keyset); counts and statistics are kept only
while no listing changes; the township filter reads the listings' own division column; the indexes that serve
all this are in the schema, as the model declares them."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event, insert, inspect, select, update

from exchange.db import db
from exchange.divisions.models import Division
from exchange.transfers import board_queries
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingEvent, ListingState
from tests.transfers_board.conftest import account, auction, listed, numbers_on
from tests.transfers_board.test_stats import database_figures

RESULTS = [ListingState.awarded, ListingState.contracting, ListingState.signed, ListingState.settled,
           ListingState.registered, ListingState.failed, ListingState.annulled]
INDEXES = {"ix_listings_board_filter": ["state", "kind", "division_id"],
           "ix_listings_board_order": ["id", "state", "kind", "division_id"],
           "ix_listings_stats_awarded": ["state", "awarded_at"],
           "ix_listings_stats_failed": ["state", "auction_ends_at", "notice_ends_on"]}


@contextmanager
def statements(app):
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    engine = app.extensions["database"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def results_newest_first(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(Listing.number).where(Listing.state.in_(RESULTS))
                                  .order_by(Listing.id.desc())).all()


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'href="([^"]+)" rel="{rel}"', page)
    return html.unescape(match.group(1)) if match else None


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def tab_count(page: str, section: str) -> int:
    return int(re.search(rf'data-testid="tab-{section}">[^<]*<span class="count">(\d+)</span>', page).group(1))


def test_pages_by_number_come_from_the_nearer_end(client, app, scenario):
    expected = results_newest_first(app)
    assert len(expected) == 5
    for per_page in (1, 2, 3):
        pages = -(-len(expected) // per_page)
        by_number = [numbers_on(client.get(f"/exchange/board?section=results&per_page={per_page}&page={n}")
                                .get_data(as_text=True)) for n in range(1, pages + 1)]
        assert by_number == [expected[i:i + per_page] for i in range(0, len(expected), per_page)], per_page
        api = [[item["number"] for item in client.get(
            f"/api/v1/exchange/board?section=results&per_page={per_page}&page={n}").get_json()["items"]]
            for n in range(1, pages + 1)]
        assert api == by_number


def test_next_and_previous_links_continue_from_a_listing(client, app, scenario):
    expected = results_newest_first(app)
    with app.app_context():
        ids = dict(db.session.execute(select(Listing.number, Listing.id)).all())
    url, forward = "/exchange/board?section=results&per_page=2", []
    while url:
        page = client.get(url).get_data(as_text=True)
        forward.append(numbers_on(page))
        url = link(page, "next")
        if url:  # the next page starts after this page's last listing
            assert f"after={ids[forward[-1][-1]]}" in url
    assert [n for rows in forward for n in rows] == expected
    backward, url = [forward[-1]], link(page, "prev")
    while url:
        if query(url)["page"] == "1":
            assert "before" not in query(url)  # the first page is the newest, whatever came meanwhile
        else:  # an earlier page ends just before this page's first listing
            assert query(url)["before"] == str(ids[backward[-1][0]])
        page = client.get(url).get_data(as_text=True)
        backward.append(numbers_on(page))
        url = link(page, "prev")
    assert backward[::-1] == forward


def test_a_link_that_no_longer_fits_falls_back_to_the_page_number(client, app, scenario):
    expected = results_newest_first(app)
    with app.app_context():
        newest = db.session.scalar(select(Listing.id).where(Listing.number == expected[0]))
    # nothing is newer than the newest result: the page is found by its number instead
    page = client.get(f"/exchange/board?section=results&per_page=2&page=2&before={newest}").get_data(as_text=True)
    assert numbers_on(page) == expected[2:4]
    # a new result appears before the visitor follows "next": the next page still starts after what they saw
    first = client.get("/exchange/board?section=results&per_page=2").get_data(as_text=True)
    following = link(first, "next")
    with app.test_request_context():
        fresh = listed(reserve="730")
        ops.catch_up(fresh, ops.registration_closes_at(fresh) + timedelta(minutes=1))
        assert fresh.state == ListingState.failed
        db.session.commit()
    assert numbers_on(client.get(following).get_data(as_text=True)) == expected[2:4]
    by_number = client.get("/exchange/board?section=results&per_page=2&page=2").get_data(as_text=True)
    assert numbers_on(by_number) == expected[1:3]  # by its number, the page has moved on by one


def test_counts_are_kept_until_a_listing_changes(client, app, scenario):
    with statements(app) as seen:
        first = client.get("/exchange/board").get_data(as_text=True)
        counted = sum("GROUP BY listings.state" in s for s in seen)
        again = client.get("/exchange/board?section=results").get_data(as_text=True)
    assert counted == 1 and sum("GROUP BY listings.state" in s for s in seen) == 1  # the second page counted nothing
    assert (tab_count(first, "notices"), tab_count(first, "auctions"), tab_count(first, "results")) == (3, 1, 5)
    assert tab_count(again, "results") == 5
    with app.test_request_context():  # a step of the workflow: a new notice
        new = listed(reserve="720")
        db.session.commit()
    page = client.get("/exchange/board").get_data(as_text=True)
    assert tab_count(page, "notices") == 4 and new.number in numbers_on(page)
    with app.app_context():  # a change outside the workflow, through the ORM of this process
        db.session.scalar(select(Listing).where(Listing.number == new.number)).state = ListingState.failed
        db.session.commit()
    page = client.get("/exchange/board").get_data(as_text=True)
    assert (tab_count(page, "notices"), tab_count(page, "results")) == (3, 6)


def test_a_step_taken_by_another_process_is_seen_at_once(client, app, scenario):
    assert tab_count(client.get("/exchange/board").get_data(as_text=True), "notices") == 3
    local = board_queries._changes["local"]
    with app.app_context():  # what another worker's step leaves in the database: the listing and its step
        listing = db.session.scalar(select(Listing).where(Listing.number == scenario.notices[0]))
        db.session.execute(update(Listing).where(Listing.id == listing.id).values(state=ListingState.withdrawn))
        db.session.execute(insert(ListingEvent).values(listing_id=listing.id, step="withdrawn", account="village",
                                                       role="village", note="", ledger_index=0))
        db.session.commit()
    assert board_queries._changes["local"] == local  # not noticed in this process …
    page = client.get("/exchange/board").get_data(as_text=True)
    assert tab_count(page, "notices") == 2 and scenario.notices[0] not in numbers_on(page)  # … but in the database


def test_statistics_are_kept_until_a_listing_changes(client, app, scenario):
    months = sorted({month for month, _township, _kind in database_figures(app)})
    span = f"from={months[0]}&to={months[-1]}"
    with statements(app) as seen:
        before = client.get(f"/api/v1/exchange/stats?{span}").get_json()
        aggregates = sum(" GROUP BY " in s for s in seen)
        assert client.get(f"/exchange/stats?{span}").status_code == 200
        assert client.get(f"/exchange/stats.csv?{span}&table=failed").status_code == 200
    assert aggregates == 3 and sum(" GROUP BY " in s for s in seen) == 3  # the page and the CSV reused them
    assert sum(f["transactions"] for f in before["facts"]) == 3
    with app.test_request_context():  # one more deal: a single qualified bidder's offer
        deal = auction(listed(reserve="820"), "bidder2")
        ops.place_bid(account("bidder2"), deal, deal.version, "820")
        assert deal.state == ListingState.awarded
        db.session.commit()
    after = client.get(f"/api/v1/exchange/stats?{span}").get_json()
    assert sum(f["transactions"] for f in after["facts"]) == 4


def test_a_township_is_its_divisions_and_the_listings_are_filtered_on_their_own_column(client, app, scenario):
    with app.app_context():
        puan = db.session.scalar(select(Division.code).where(Division.name == "普安镇"))
        inside = set(db.session.scalars(select(Division.id).where(Division.code.startswith(puan))))
        with app.test_request_context():
            assert set(board_queries.township_divisions(puan)) == inside and len(inside) > 1
    with statements(app) as seen:
        page = client.get(f"/exchange/board?section=results&township={puan}").get_data(as_text=True)
        assert client.get(f"/exchange/stats.csv?township={puan}").status_code == 200
    assert numbers_on(page) == [scenario.other_township]
    for statement in seen:
        assert " LIKE " not in statement.upper(), statement


def test_the_listing_page_reads_no_household(client, app, scenario):
    """The transferor is named from the holders' organisations and collectives in one statement; the household
    behind a right (whose head is a person) is never loaded for a public page."""
    with statements(app) as seen:
        assert client.get(f"/exchange/board/{scenario.deal_member}").status_code == 200
    reads = [s for s in seen if s.startswith("SELECT")]
    assert not [s for s in reads if "FROM households" in s or "FROM rights " in s or "JOIN households" in s]
    assert sum("right_holders" in s for s in reads) == 1


def test_the_board_indexes_are_in_the_schema_as_the_model_declares_them(app):
    declared = {index.name: [column.name for column in index.columns] for index in Listing.__table__.indexes}
    engine = app.extensions["database"].engine
    migrated = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("listings")}
    for name, columns in INDEXES.items():
        assert declared[name] == columns and migrated[name] == columns, name
