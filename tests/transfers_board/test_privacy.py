"""No personal identifier on anything the public can fetch: the board's sections, every public listing's page,
the statistics page and its CSV files, and the same through the API — no household head's or family member's
name (not even masked), no resident ID number (clear or masked)."""
from __future__ import annotations

import re

from sqlalchemy import select

from exchange.db import db
from exchange.identifiers import resident_id_check_char
from exchange.registry.models import Household, Person
from exchange.transfers.models import BidderProfile, PartyKind
from tests.transfers_board.conftest import numbers_on


def personal_identifiers(app) -> dict[str, set[str]]:
    with app.app_context():
        pii = app.extensions["pii"]
        people = db.session.scalars(select(Person)).all()
        return {
            "name": {h.head_name for h in db.session.scalars(select(Household))} | {p.name for p in people},
            "resident ID": {pii.decrypt(p.id_number_encrypted) for p in people},
            "masked ID": {p.id_number_masked for p in people},
            "masked name of a household bidder": set(db.session.scalars(select(BidderProfile.name).where(
                BidderProfile.party_kind == PartyKind.household))),
        }


def public_documents(client, scenario) -> dict[str, str]:
    """Everything public about the exchange: pages, CSV files and API responses."""
    urls = [f"/exchange/board?section={s}&per_page=100" for s in ("notices", "auctions", "results")]
    urls += [f"/api/v1/exchange/board?section={s}&per_page=100" for s in ("notices", "auctions", "results")]
    numbers = set()
    for url in urls[:3]:
        numbers |= set(numbers_on(client.get(url).get_data(as_text=True)))
    assert {*scenario.notices, scenario.auction, scenario.deal_organisation, scenario.deal_member, scenario.failed,
            scenario.annulled, scenario.other_township} <= numbers  # every public listing of the scenario is looked at
    for number in sorted(numbers):
        urls += [f"/exchange/board/{number}", f"/api/v1/exchange/board/{number}",
                 f"/api/v1/exchange/board/{number}/live"]
    span = "from=2020-01&to=2040-12"
    urls += [f"/exchange/stats?{span}", f"/api/v1/exchange/stats?{span}"]
    urls += [f"/exchange/stats.csv?{span}&table={t}" for t in ("township", "kind", "price", "failed", "facts")]
    documents = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        documents[url] = response.get_data(as_text=True)
    return documents


def test_no_personal_identifier_anywhere_the_public_can_look(client, app, scenario):
    identifiers = personal_identifiers(app)
    documents = public_documents(client, scenario)
    assert len(documents) > 30
    # the test looks where identifiers would be if they leaked: the winners and transferors are on these pages
    detail = documents[f"/exchange/board/{scenario.deal_member}"]
    assert "本集体成员农户" in detail and "承包农户" in detail
    for url, body in documents.items():
        for kind, values in identifiers.items():
            leaked = sorted(v for v in values if v and v in body)
            assert not leaked, f"{kind} on {url}: {leaked[:5]}"
        # and nothing shaped like a resident ID with a valid check digit (parcel codes have 19 digits)
        for candidate in re.findall(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])", body):
            assert resident_id_check_char(candidate[:17]) != candidate[17], (url, candidate)


def test_the_api_has_no_field_for_a_person(client, scenario):
    detail = client.get(f"/api/v1/exchange/board/{scenario.deal_member}").get_json()
    assert detail["winner"] == "member_household" and detail["winner_label"] == "本集体成员农户"
    assert detail["transferor"] == "household"
    forbidden = {"name", "head_name", "id_number", "id_masked", "account", "username", "contact", "bidder_name"}

    def keys(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield key
                yield from keys(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from keys(inner)
    assert not forbidden & set(keys(detail))
    assert all(set(step) == {"step", "label", "role", "role_label", "at", "ledger_index"} for step in detail["history"])
