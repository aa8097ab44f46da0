"""The books' pages, in Chinese: what village staff manage and township staff check, who is refused, and what a
household's statement leaves out."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from exchange.audit.models import AuditEvent, Outcome
from exchange.collectives import queries
from exchange.collectives.models import Meeting, Motion
from exchange.db import db
from exchange.registry.models import Household
from ledger.entry import _is_resident_id

from tests.collectives.conftest import BAIYAN, JINSHAN, SHIQIAO, collective
from tests.conftest import csrf_token, login

SHOW = f"/collectives/{JINSHAN}"


def text(response) -> str:
    return response.get_data(as_text=True)


def clear_resident_ids(page: str) -> list[str]:
    """18-character numbers that are resident IDs (a household's 18-digit 承包方编码 is not one)."""
    return [m for m in re.findall(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])", page) if _is_resident_id(m)]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_village_staff_see_their_books(login_as):
    client = login_as("village")
    page = text(client.get(SHOW))
    assert "金山村股份经济合作联合社" in page and "会议与决议" in page
    assert re.search(r'data-testid="member-count">(\d+)<', page).group(1) == "162"
    assert "金山村决〔2025〕1号" in page and "金山村决〔2026〕2号" in page
    assert "原村小学校舍公开招租" in page and 'data-testid="vote-link"' in page
    assert "2025 年度" in page


def test_the_roll_as_of_a_past_date(login_as):
    client = login_as("village")
    before = text(client.get(f"{SHOW}/roll?as_of=2025-03-19"))
    assert before.count("<td>待确认</td>") == 162 and "<td>成员</td>" not in before
    after = text(client.get(f"{SHOW}/roll?as_of=2025-03-20"))
    assert after.count("<td>成员</td>") == 162 and "2025-03-20 确认" in after
    assert "该日期尚无名册" in text(client.get(f"{SHOW}/roll?as_of=2025-01-01"))
    assert clear_resident_ids(after) == []
    exported = client.get(f"{SHOW}/roll?as_of=2025-03-20&format=csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["household", "name", "relation", "id_masked", "status", "since"]
    assert len(rows) == 163 and {r[4] for r in rows[1:]} == {"member"}
    assert all("*" in r[3] for r in rows[1:]) and clear_resident_ids(exported.get_data(as_text=True)) == []


def test_the_asset_ledger_as_of_a_date_as_page_csv_and_xlsx(login_as):
    client = login_as("village")
    page = text(client.get(f"{SHOW}/asset-ledger?as_of=2025-12-31"))
    assert "金山村原村小学校舍" in page and "2025-12-31" in page
    assert "2025-12-31" not in text(client.get(f"{SHOW}/asset-ledger?as_of=2025-12-30")).split("</form>")[1]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{SHOW}/asset-ledger?as_of=2025-12-31&format=csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    school = next(r for r in rows if r["code"] == f"{JINSHAN}-ZC002")
    assert school["class"] == "operating" and school["book_value"] == "520000.00"
    assert school["appraised_value"] == "598000.00" and school["inventory"] == "2025-12-31"
    book = load_workbook(io.BytesIO(client.get(f"{SHOW}/asset-ledger?as_of=2025-12-31&format=xlsx").data))
    sheet = book.active
    assert [c.value for c in sheet[1]][:3] == ["code", "name", "class"] and sheet.max_row == len(rows) + 1


def test_the_distribution_page_and_its_payout_list(login_as):
    client = login_as("village")
    page = text(client.get(f"{SHOW}/distributions/2025"))
    assert "2025 年度收益分配" in page and "70730.50" in page
    assert re.search(r'data-testid="payout-total">([\d.]+)<', page).group(1) == "49511.35"
    rows = list(csv.DictReader(io.StringIO(client.get(f"{SHOW}/distributions/2025?format=csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert sum(int(r["amount"].replace(".", "")) for r in rows) == 4951135  # in fen: exact
    assert client.get(f"{SHOW}/distributions/2024").status_code == 404


def test_a_household_statement_shows_that_household_only(app, login_as):
    with app.app_context():
        item = queries.distribution_or_404(collective(JINSHAN), 2025)
        mine = next(p for p in item.payouts if p.household)
        code, amount, head = mine.household.code, str(mine.amount), mine.household.head_name
        others = [(h.code, h.head_name) for h in db.session.scalars(select(Household).where(
            Household.collective_id == item.collective_id, Household.code != code))]
    client = login_as("village")
    page = text(client.get(f"{SHOW}/distributions/2025/households/{code}"))
    assert "2025 年度分红对账单" in page and code in page and amount in page and head in page
    assert not [c for c, _ in others if c in page]
    assert not [name for c, name in others if name != head and name in page]
    assert clear_resident_ids(page) == []
    assert client.get(f"{SHOW}/distributions/2025/households/{JINSHAN}099999").status_code == 404


def vote_form(client, **overrides) -> dict:
    data = {"csrf_token": csrf_token(client, f"{SHOW}/votes"), "kind": "representatives", "held_on": "2026-05-06",
            "place": "金山村村委会会议室", "eligible": "42", "attendees": "39", "motion_kind": "asset_lease",
            "title": "堰塘养殖水面续租", "votes_for": "27", "votes_against": "10", "abstentions": "2"}
    data.update(overrides)
    return data


def test_a_vote_short_of_two_thirds_is_refused_in_chinese_and_saves_nothing(app, login_as):
    client = login_as("village")
    meetings, motions = count(app, Meeting), count(app, Motion)
    response = client.post(f"{SHOW}/votes", data=vote_form(client))  # 27 of 42: two thirds is 28
    page = text(response)
    assert response.status_code == 422
    assert "COLLECTIVE-2-3" in page and "至少需 28 票同意，实得 27 票" in page and "数据没有改动" in page
    assert (count(app, Meeting), count(app, Motion)) == (meetings, motions)
    response = client.post(f"{SHOW}/votes", data=vote_form(client, votes_for="28", votes_against="9"),
                           follow_redirects=True)
    assert response.status_code == 200 and re.search(r"决议 金山村决〔2026〕\d+号 已通过并记入账本", text(response))
    assert (count(app, Meeting), count(app, Motion)) == (meetings + 1, motions + 1)


def test_a_vote_without_quorum_is_refused(login_as):
    client = login_as("village")
    response = client.post(f"{SHOW}/votes", data=vote_form(client, attendees="21", votes_for="21", votes_against="0",
                                                            abstentions="0", motion_kind="other"))
    assert response.status_code == 422 and "QUORUM" in text(response) and "不足法定人数" in text(response)


@pytest.mark.parametrize("username, path, status", [
    ("village", SHOW, 200),
    ("village", f"/collectives/{BAIYAN}", 403),  # another village of the same township
    ("village", f"/collectives/{SHIQIAO}/roll", 403),
    ("township", SHOW, 200),  # 新宁镇 checks its villages
    ("township", f"{SHOW}/roll", 200),
    ("township", f"{SHOW}/distributions/2025", 200),
    ("township", f"{SHOW}/votes", 403),  # and does not keep their books
    ("township2", SHOW, 403),  # 普安镇
    ("township2", f"{SHOW}/distributions/2025", 403),
    ("township2", f"/collectives/{SHIQIAO}", 200),
    ("county", f"{SHOW}/asset-ledger", 200),
    ("county", f"{SHOW}/votes", 403),
    ("bank", SHOW, 403),
    ("bidder", f"{SHOW}/roll", 403),
    ("member", f"{SHOW}/distributions/2025", 403),
    ("admin", SHOW, 403),
])
def test_who_may_open_which_page(client, username, path, status):
    login(client, username)
    assert client.get(path).status_code == status


def test_a_refusal_is_logged(app, client):
    login(client, "township2")
    assert client.get(f"{SHOW}/roll").status_code == 403
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.username == "township2")
                                  .order_by(AuditEvent.id.desc()).limit(1))
        assert event.outcome == Outcome.denied and event.action == "collective.view"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(f"{SHOW}/roll")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_township_cannot_post_a_vote(app, login_as):
    client = login_as("township")
    token = csrf_token(client, SHOW)
    motions = count(app, Motion)
    response = client.post(f"{SHOW}/votes", data={"csrf_token": token, "title": "越权表决"})
    assert response.status_code == 403 and count(app, Motion) == motions
