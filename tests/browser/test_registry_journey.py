"""A village officer finds a household's parcel on the village map, splits a management right off the
household's contract right (first refused by the rules, then accepted) and sees it on the timeline and in the ledger."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from exchange.demo.data import organisation_credit_code
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PARCEL = "5117231002000100004"
FAMILY_FARM = organisation_credit_code("92", "6F000002")


def test_village_officer_splits_a_management_right_and_sees_it_on_the_timeline(page):
    log_in(page, "village")
    page.get_by_role("link", name="登记资产与权利").click()
    expect(page.get_by_test_id("village-title")).to_have_text("开江县新宁镇金山村")
    expect(page.get_by_test_id("village-map").locator("polygon").first).to_be_visible()
    page.get_by_test_id("parcels").get_by_role("link", name=PARCEL).click()

    expect(page.get_by_test_id("asset-title")).to_contain_text(PARCEL)
    expect(page.get_by_test_id("map").locator("polygon")).to_have_count(1)
    expect(page.get_by_test_id("active-rights")).to_contain_text("土地承包权")
    expect(page.get_by_test_id("timeline")).to_contain_text("发包（承包权登记）")
    page.get_by_test_id("transfer-link").click()

    page.get_by_label("受让方（统一社会信用代码或承包方编码）").fill(FAMILY_FARM)
    page.get_by_label("土地用途", exact=True).select_option("5")
    page.get_by_label("起始日期").fill("2026-12-01")
    page.get_by_label("终止日期").fill("2060-11-30")
    page.get_by_label("流转价款", exact=True).fill("650 元/亩/年")
    page.get_by_test_id("transfer-submit").click()
    errors = page.get_by_test_id("rule-errors")
    for code in ("LAND-AGRI-USE", "LAND-TERM", "LAND-FILING", "LAND-WRITTEN", "LEASE-20Y"):
        expect(errors).to_contain_text(code)
    expect(errors).to_contain_text("未能登记，数据没有改动")

    page.get_by_label("土地用途", exact=True).select_option("1")
    page.get_by_label("终止日期").fill("2036-11-30")
    for label, text in [("双方当事人的姓名、住所", "甲方 王*明；乙方 开江县绿源家庭农场"),
                        ("流转土地的名称、坐落、面积、质量等级", "金山村一组，二等地"),
                        ("流转期限和起止日期", "2026-12-01 至 2036-11-30"), ("流转土地的用途", "种植水稻"),
                        ("双方当事人的权利和义务", "不得改变农业用途"), ("流转价款及支付方式", "每年 12 月支付"),
                        ("征收、征用、占用时补偿费的归属", "土地补偿费归承包方"), ("违约责任", "按合同约定")]:
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_label("已向发包方备案").check()
    page.get_by_test_id("transfer-submit").click()

    expect(page).to_have_url(re.compile(rf"/registry/parcels/{PARCEL}$"))
    expect(page.locator(".flash-success")).to_contain_text("已登记土地经营权")
    expect(page.locator(".flash-success")).to_contain_text("交易鉴证书 511723-JZ-")
    rights = page.get_by_test_id("active-rights")
    expect(rights).to_contain_text("土地经营权")
    expect(rights).to_contain_text("开江县绿源家庭农场")
    expect(rights).to_contain_text("土地承包权")  # the household keeps its contract right
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("土地经营权流转")
    timeline.get_by_role("link", name=re.compile("账本条目")).last.click()
    expect(page.get_by_test_id("lookup-result")).to_contain_text('"action":"transfer_management"')
    expect(page.get_by_test_id("lookup-result")).to_contain_text(FAMILY_FARM)
