"""User journeys in a real browser: each role logs in, sees its dashboard in Chinese, switches to English,
and logs out; a township officer straying outside the township is refused."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

DASHBOARDS = [
    ("village", "村集体经济组织工作台", "Village collective dashboard", "开江县新宁镇金山村"),
    ("township", "乡镇农经站工作台", "Township station dashboard", "开江县新宁镇"),
    ("county", "县农村产权交易中心工作台", "County exchange centre dashboard", "开江县"),
    ("bank", "金融机构工作台", "Bank dashboard", "四川开江农村商业银行"),
    ("bidder", "竞买人工作台", "Bidder dashboard", None),
    ("admin", "平台管理工作台", "Administration dashboard", None),
]


@pytest.mark.parametrize("username, chinese, english, jurisdiction", DASHBOARDS)
def test_role_logs_in_sees_its_dashboard_switches_language_and_logs_out(page, username, chinese, english, jurisdiction):
    log_in(page, username)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_test_id("dashboard-title")).to_have_text(chinese)
    if jurisdiction:
        expect(page.get_by_test_id("jurisdiction")).to_have_text(jurisdiction)
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_test_id("dashboard-title")).to_have_text(english)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_is_shown_in_chinese(page):
    log_in(page, "county", "not-the-password")
    expect(page.locator(".flash-error")).to_contain_text("用户名或密码错误")


def test_township_is_refused_outside_its_township(page):
    log_in(page, "township")
    page.get_by_role("link", name="辖区与台账").click()
    expect(page.locator("h1")).to_contain_text("新宁镇")
    response = page.goto("/divisions/511723101")
    assert response.status == 403
    expect(page.get_by_test_id("error-description")).to_contain_text("不在您的管辖范围")


def test_pages_load_no_outside_resources(page, live_server):
    outside = []
    page.on("request", lambda request: None if request.url.startswith(live_server) else outside.append(request.url))
    log_in(page, "county")
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("API", timeout=15_000)
    assert outside == []
