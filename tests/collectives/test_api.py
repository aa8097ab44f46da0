"""``/api/v1/collectives/<village>/…``: the same books, rules and access as the pages; refusals are problem+json
with the rule's code and leave nothing behind."""
from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest

from exchange.accounts.models import Role
from exchange.accounts.operations import create_account, create_api_key
from exchange.db import db

from tests.collectives.conftest import BAIYAN, JINSHAN, SHIQIAO, collective, households, snapshot
from tests.test_registry_web import api_key

API = f"/api/v1/collectives/{JINSHAN}"


def books_unchanged(app, before: dict) -> bool:
    with app.app_context():
        return snapshot() == before


def books_now(app) -> dict:
    with app.app_context():
        return snapshot()


def test_the_roll_as_of_a_date_with_identifiers_masked(client):
    village = api_key(client, "village")
    listed = client.get(f"{API}/members?as_of=2025-03-19", headers=village).json
    assert len(listed) == 162 and {r["status"] for r in listed} == {"candidate"}
    confirmed = client.get(f"{API}/members?as_of=2025-03-20", headers=village).json
    assert {r["status"] for r in confirmed} == {"member"}
    assert all("*" in r["id_masked"] and "id_number" not in r for r in confirmed)
    assert [e["kind"] for e in confirmed[0]["events"]] == ["initial_roll", "confirmation"]
    assert client.get(f"{API}/members?as_of=2025-02-01", headers=village).json == []


def test_resolutions_distributions_and_the_share_plan(client):
    township = api_key(client, "township")  # 新宁镇 checks 金山村's books
    resolutions = client.get(f"{API}/resolutions", headers=township).json
    assert len(resolutions) == 4 and all(r["passed"] and r["resolution_number"] for r in resolutions)
    lease = next(r for r in resolutions if r["kind"] == "asset_lease")
    assert lease["meeting"]["eligible"] == 42 and 3 * lease["votes_for"] >= 2 * lease["meeting"]["eligible"]
    [distribution] = client.get(f"{API}/distributions", headers=township).json
    assert distribution["year"] == 2025 and distribution["distributable"] == "70730.50"
    assert sum(Decimal(v) for v in distribution["allocations"].values()) == Decimal("70730.50")
    assert sum(Decimal(p["amount"]) for p in distribution["payouts"]) == Decimal(distribution["allocations"]["dividends"])
    plan = client.get(f"{API}/share-plan", headers=township).json
    assert plan["total_shares"] == 10000 and sum(Decimal(v) for v in plan["balances"].values()) == 10000


def vote(**overrides) -> dict:
    body = {"meeting_kind": "representatives", "held_on": "2026-05-06", "place": "村委会会议室", "eligible": 42,
            "attendees": 39, "kind": "asset_disposal", "title": "处置报废农机具", "votes_for": 27, "votes_against": 10,
            "abstentions": 2}
    body.update(overrides)
    return body


def test_a_vote_short_of_two_thirds_is_refused_and_nothing_is_written(app, client):
    village = api_key(client, "village")
    before = books_now(app)
    response = client.post(f"{API}/votes", json=vote(), headers=village)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert response.json["code"] == "COLLECTIVE-2-3" and "至少需 28 票同意" in response.json["detail"]
    assert books_unchanged(app, before)
    on_record = client.post(f"{API}/votes", json=vote(declare_passed=False), headers=village)
    assert on_record.status_code == 201 and on_record.json["passed"] is False
    assert on_record.json["resolution_number"] is None and on_record.json["ledger_index"] is not None
    passed = client.post(f"{API}/votes", json=vote(votes_for=28, votes_against=9), headers=village)
    assert passed.status_code == 201 and passed.json["passed"] and passed.json["resolution_number"]


def test_a_vote_without_quorum_is_refused(app, client):
    village = api_key(client, "village")
    before = books_now(app)
    response = client.post(f"{API}/votes", json=vote(attendees=21, votes_for=21, votes_against=0, abstentions=0,
                                                      kind="other"), headers=village)
    assert response.status_code == 422 and response.json["code"] == "QUORUM"
    assert books_unchanged(app, before)


def test_an_income_file_with_bad_rows_is_refused_naming_them(app, client):
    village = api_key(client, "village")
    before = books_now(app)
    data = "received_on,source,amount\n2026-02-01,租金,100.00\n2026-02-02,租金,abc\n2026-13-01,租金,5.00\n".encode()
    response = client.post(f"{API}/income/import", data={"file": (BytesIO(data), "income.csv")}, headers=village,
                           content_type="multipart/form-data")
    assert response.status_code == 422 and response.json["code"] == "CSV-ROWS"
    assert [(d["line"], d["field"]) for d in response.json["details"]] == [(3, "amount"), (4, "received_on")]
    assert books_unchanged(app, before)
    good = data.split(b"\n")[0] + b"\n" + data.split(b"\n")[1] + b"\n"
    imported = client.post(f"{API}/income/import", data={"file": (BytesIO(good), "income.csv")}, headers=village,
                           content_type="multipart/form-data")
    assert imported.status_code == 201 and imported.json == {"imported": 1, "total": "100.00"}


def test_a_distribution_over_one_hundred_percent_is_refused(app, client):
    village = api_key(client, "village")
    client.post(f"{API}/income", json={"received_on": "2026-03-01", "source": "租金", "amount": "1000.00"},
                headers=village)
    motion = client.post(f"{API}/votes", json=vote(kind="distribution", title="2026 年度收益分配", votes_for=30,
                                                   votes_against=7), headers=village).json
    before = books_now(app)
    over = {"reserve": "10", "welfare": "10", "management": "10", "dividends": "70.01"}
    response = client.post(f"{API}/distributions", json={"year": 2026, "motion_id": motion["id"], "percentages": over},
                           headers=village)
    assert response.status_code == 422 and response.json["code"] == "DIST-PERCENT" and "100.01%" in response.json["detail"]
    assert books_unchanged(app, before)
    exact = {**over, "dividends": "70"}
    made = client.post(f"{API}/distributions", json={"year": 2026, "motion_id": motion["id"], "percentages": exact},
                       headers=village)
    assert made.status_code == 201 and sum(Decimal(p["amount"]) for p in made.json["payouts"]) == Decimal("700.00")


def test_a_share_exit_without_its_resolution_is_refused(app, client):
    village = api_key(client, "village")
    plan = client.get(f"{API}/share-plan", headers=village).json
    code, held = next((k, v) for k, v in plan["balances"].items() if k != "collective")
    lease = next(r for r in client.get(f"{API}/resolutions", headers=village).json if r["kind"] == "asset_lease")
    before = books_now(app)
    response = client.post(f"{API}/share-exits", json={"household": code, "shares": held, "price": "8000.00",
                                                       "motion_id": lease["id"]}, headers=village)
    assert response.status_code == 422 and response.json["code"] == "EXIT-RESOLUTION"
    with client.application.app_context():
        elsewhere = households(BAIYAN, 1)[0].code
    response = client.post(f"{API}/share-exits", json={"household": elsewhere, "shares": "1", "price": "8000.00",
                                                       "motion_id": lease["id"]}, headers=village)
    assert response.status_code == 422 and response.json["code"] == "HOUSEHOLD-UNKNOWN"
    assert books_unchanged(app, before)
    motion = client.post(f"{API}/votes", json=vote(kind="share_exit", title=f"{code} 股权有偿退出", votes_for=30,
                                                   votes_against=7, subject={"household": code}), headers=village).json
    done = client.post(f"{API}/share-exits", json={"household": code, "shares": held, "price": "8000.00",
                                                   "motion_id": motion["id"]}, headers=village)
    assert done.status_code == 201
    after = client.get(f"{API}/share-plan", headers=village).json["balances"]
    assert code not in after and sum(Decimal(v) for v in after.values()) == 10000


def baiyan_key(client) -> dict:
    """An API key of a staff account of 白岩村 (the demo has none)."""
    with client.application.test_request_context():
        staff = create_account("baiyan", "Baiyan@2026-long", Role.village, "白岩村集体经济组织",
                               division=collective(BAIYAN).division)
        _key, secret = create_api_key(staff, "tests")
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_whole_confirmation_procedure_over_the_api(app, client):
    key = baiyan_key(client)
    base = f"/api/v1/collectives/{BAIYAN}"
    with app.app_context():
        hashes = [p.id_number_hash for h in households(BAIYAN, 2) for p in h.members]
        outsider = households(JINSHAN, 1)[0].members[0].id_number_hash
    refused = client.post(f"{base}/members/candidates", json={"kind": "initial_roll", "on": "2025-01-06",
                                                              "persons": hashes + [outsider]}, headers=key)
    assert refused.status_code == 422 and refused.json["code"] == "PERSON-UNKNOWN"  # not of this collective
    listed = client.post(f"{base}/members/candidates", json={"kind": "initial_roll", "on": "2025-01-06",
                                                             "persons": hashes}, headers=key)
    assert listed.status_code == 201 and listed.json["count"] == len(hashes)
    notice = client.post(f"{base}/notices", json={"starts_on": "2025-01-07", "title": "白岩村成员名册公示",
                                                  "persons": hashes}, headers=key).json
    assert notice["ends_on"] == "2025-01-13"
    objection = client.post(f"{base}/notices/{notice['id']}/objections",
                            json={"person": hashes[-1], "raised_by": "一组村民", "text": "已迁出", "on": "2025-01-09"},
                            headers=key).json
    early = client.post(f"{base}/votes", json=vote(kind="membership", held_on="2025-01-13", title="确认成员",
                                                   votes_for=30, votes_against=7), headers=key).json
    waiting = client.post(f"{base}/notices/{notice['id']}/confirmation", json={"motion_id": early["id"]}, headers=key)
    assert waiting.status_code == 422 and waiting.json["code"] == "RULES"
    assert {d["code"] for d in waiting.json["details"]} == {"MEMBER-NOTICE", "MEMBER-OBJECTION"}
    handled = client.post(f"{base}/objections/{objection['id']}/handling",
                          json={"outcome": "经核实已迁出，异议成立", "upheld": True}, headers=key)
    assert handled.json["handled"] and handled.json["upheld"]
    motion = client.post(f"{base}/votes", json=vote(kind="membership", held_on="2025-01-14", title="确认成员",
                                                    votes_for=30, votes_against=7), headers=key).json
    confirmed = client.post(f"{base}/notices/{notice['id']}/confirmation", json={"motion_id": motion["id"]},
                            headers=key)
    assert confirmed.status_code == 201 and confirmed.json["count"] == len(hashes) - 1
    twice = client.post(f"{base}/notices/{notice['id']}/confirmation", json={"motion_id": motion["id"]}, headers=key)
    assert twice.status_code == 422 and twice.json["code"] == "MEMBER-TWICE"
    roll = client.get(f"{base}/members?as_of=2025-01-14", headers=key).json
    assert sorted(r["status"] for r in roll) == ["candidate"] + ["member"] * (len(hashes) - 1)
    moved = client.post(f"{base}/members/changes", json={"person": hashes[0], "kind": "moved_to_town",
                                                         "on": "2025-06-01", "reason": "进城落户"}, headers=key)
    assert moved.status_code == 201
    later = client.get(f"{base}/members?as_of=2025-06-01", headers=key).json
    assert sorted(r["status"] for r in later) == sorted(r["status"] for r in roll)  # still a member
    exit_without = client.post(f"{base}/members/changes", json={"person": hashes[1], "kind": "voluntary_exit",
                                                                "on": "2025-06-01", "reason": "自愿退出"}, headers=key)
    assert exit_without.status_code == 422 and exit_without.json["code"] == "EXIT-RESOLUTION"
    # 金山村's staff cannot touch 白岩村's roll
    other = client.post(f"{base}/members/changes", json={"person": hashes[1], "kind": "death", "on": "2025-06-01",
                                                         "reason": "病故"}, headers=api_key(client, "village"))
    assert other.status_code == 403


@pytest.mark.parametrize("username, path, status", [
    ("village", f"{API}/members", 200),
    ("village", f"/api/v1/collectives/{BAIYAN}/resolutions", 403),
    ("township", f"{API}/distributions", 200),
    ("township2", f"{API}/members", 403),
    ("township2", f"/api/v1/collectives/{SHIQIAO}/resolutions", 200),
    ("county", f"{API}/share-plan", 200),
    ("bank", f"{API}/members", 403),
    ("bidder", f"{API}/distributions", 403),
    ("admin", f"{API}/resolutions", 403),
])
def test_who_may_read_which_books(client, username, path, status):
    response = client.get(path, headers=api_key(client, username))
    assert response.status_code == status
    if status == 403:
        assert response.content_type == "application/problem+json" and response.json["code"] == "forbidden"


def test_writes_need_the_villages_own_key(app, client):
    before = books_now(app)
    for username in ("township", "county", "bank"):
        response = client.post(f"{API}/votes", json=vote(votes_for=30, votes_against=7),
                               headers=api_key(client, username))
        assert response.status_code == 403, username
    assert client.post(f"{API}/votes", json=vote(votes_for=30, votes_against=7)).status_code == 401
    assert books_unchanged(app, before)


def test_the_books_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/collectives/{code}/members", "/api/v1/collectives/{code}/votes",
                 "/api/v1/collectives/{code}/share-exits", "/api/v1/collectives/{code}/income/import"):
        assert path in paths, path
