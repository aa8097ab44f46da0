"""The access matrix: role × jurisdiction × URL, and the audit trail of refusals."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from exchange.audit.models import AuditEvent, Outcome
from exchange.db import db

# Demo jurisdictions: township = 新宁镇 511723100, township2 = 普安镇 511723101,
# village = 金山村 511723100200, county = 开江县 511723.
OWN_VILLAGE, OTHER_VILLAGE_SAME_TOWNSHIP, OTHER_TOWNSHIP = "511723100200", "511723100201", "511723101"

MATRIX = [
    # (account, method, url, expected status)
    ("county", "GET", "/divisions/511723", 200),
    ("county", "GET", f"/divisions/{OTHER_TOWNSHIP}", 200),
    ("township", "GET", "/divisions/511723100", 200),
    ("township", "GET", f"/divisions/{OWN_VILLAGE}", 200),
    ("township", "GET", f"/divisions/{OTHER_TOWNSHIP}", 403),
    ("township", "GET", "/divisions/511723", 403),
    ("township2", "GET", f"/divisions/{OTHER_TOWNSHIP}", 200),
    ("township2", "GET", f"/divisions/{OWN_VILLAGE}", 403),
    ("village", "GET", f"/divisions/{OWN_VILLAGE}", 200),
    ("village", "GET", f"/divisions/{OTHER_VILLAGE_SAME_TOWNSHIP}", 403),
    ("village", "GET", "/divisions/511723100", 403),
    ("bank", "GET", f"/divisions/{OWN_VILLAGE}", 403),
    ("bidder", "GET", f"/divisions/{OWN_VILLAGE}", 403),
    ("admin", "GET", f"/divisions/{OWN_VILLAGE}", 403),
    ("admin", "GET", "/admin/accounts", 200),
    ("county", "GET", "/admin/accounts", 403),
    ("village", "GET", "/admin/accounts", 403),
    ("county", "GET", "/audit", 200),
    ("township", "GET", "/audit", 200),
    ("admin", "GET", "/audit", 200),
    ("village", "GET", "/audit", 403),
    ("bank", "GET", "/audit", 403),
    ("bidder", "GET", "/audit", 403),
]


@pytest.mark.parametrize("username, method, url, expected", MATRIX)
def test_access_matrix(login_as, username, method, url, expected):
    client = login_as(username)
    response = client.open(url, method=method)
    assert response.status_code == expected, (username, url)


@pytest.mark.parametrize("url", ["/dashboard", "/divisions/511723", "/audit", "/admin/accounts", "/account/api-keys"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_out_of_jurisdiction_refusal_names_both_places_and_is_logged(login_as):
    client = login_as("township")
    response = client.get(f"/divisions/{OTHER_TOWNSHIP}")
    page = response.get_data(as_text=True)
    assert "开江县普安镇" in page and "开江县新宁镇" in page
    with client.application.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.outcome == Outcome.denied
    assert event.username == "township"
    assert event.path == f"/divisions/{OTHER_TOWNSHIP}"
    assert event.detail["division"] == OTHER_TOWNSHIP


@pytest.mark.parametrize("username, title", [
    ("village", "村集体经济组织工作台"), ("township", "乡镇农经站工作台"), ("county", "县农村产权交易中心工作台"),
    ("bank", "金融机构工作台"), ("bidder", "竞买人工作台"), ("admin", "平台管理工作台"),
])
def test_each_role_sees_its_own_dashboard(login_as, username, title):
    page = login_as(username).get("/dashboard").get_data(as_text=True)
    assert title in page


def test_dashboard_figures_count_only_the_jurisdiction(login_as):
    village_page = login_as("village").get("/dashboard").get_data(as_text=True)
    # 3 groups × 14 households in one village; the county has 9 villages.
    assert ">42<" in village_page.replace(" ", "")


def test_admin_creates_a_staff_account_and_a_wrong_jurisdiction_is_refused(login_as):
    from tests.conftest import csrf_token

    client = login_as("admin")
    token = csrf_token(client, "/admin/accounts")
    bad = client.post("/admin/accounts", data={
        "csrf_token": token, "username": "new-township", "display_name": "回龙镇农经站",
        "password": "long-enough-1", "role": "township", "division_code": "511723102200",
    })
    assert bad.status_code == 400
    assert "乡镇账户必须绑定一个乡镇级行政区划" in bad.get_data(as_text=True)
    good = client.post("/admin/accounts", data={
        "csrf_token": token, "username": "new-township", "display_name": "回龙镇农经站",
        "password": "long-enough-1", "role": "township", "division_code": "511723102",
    })
    assert good.status_code == 302
    assert "new-township" in client.get("/admin/accounts").get_data(as_text=True)
