"""The exchange end to end in a real browser: a village lists a household's management right, the township
reviews and publishes it, the public sees the notice, a family farm registers, is qualified and pays its deposit,
makes the offer when the notice ends, the contract is reviewed and signed by both sides, settled, registered and
certified, and anyone can verify the certificate. The only thing not done by a person in the browser is the
clock: the scheduler (``flask exchange tick --at``) is run as cron would, at the dates the deadlines fall on."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from stdnum.cn import ric

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def people(browser, live_server):
    """One browser per person, each signed in once (as on their own machines)."""
    contexts = {}

    def person(username: str | None):
        if username not in contexts:
            context = browser.new_context(base_url=live_server, locale="zh-CN")
            contexts[username] = context.new_page()
            contexts[username].set_default_timeout(10_000)
            if username:
                log_in(contexts[username], username)
        return contexts[username]

    yield person
    for page in contexts.values():
        page.context.close()


def test_a_management_right_goes_from_listing_to_a_verified_certificate(people, live_flask, live_python):
    right = live_python("from exchange.demo.exchange import demo_rights\nprint(demo_rights()[1].number)")
    year = date.today().year
    village, township, farm, public = people("village"), people("township"), people("bidder"), people(None)

    # 1. the village submits the listing for the household
    page = village
    page.goto("/exchange/listings/new")
    page.get_by_label("挂牌权利编号").fill(right)
    page.get_by_label("底价（元）").fill("700")
    page.get_by_label("起始日期").fill(f"{year + 1}-01-01")
    page.get_by_label("终止日期").fill(f"{year + 5}-12-31")
    page.get_by_label("用途（土地：1 种植业 2 林业 3 畜牧业 4 渔业）").fill("1")
    page.get_by_label("付款方式").fill("每年 1 月底前付清当年租金")
    page.get_by_label("承包户书面委托（编号或日期）").fill("金山村委托书（2026）第 30 号")
    page.get_by_role("button", name="提交挂牌申请").click()
    expect(page.locator(".flash-success")).to_contain_text("已提交，等待乡镇受理")
    number = re.search(r"511723-GP-\d{4}-\d{6}", page.content()).group(0)
    listing_url = f"/exchange/listings/{number}"

    # 2. the township accepts and publishes it
    page = township
    page.goto(listing_url)
    page.get_by_test_id("accept").click()
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("state")).to_contain_text("公示中")
    expect(page.get_by_test_id("notice")).to_be_visible()

    # 3. the public board shows it without personal identifiers
    page = public
    page.goto(f"/exchange/board/{number}")
    expect(page.locator("body")).to_contain_text(number)
    expect(page.locator("body")).to_contain_text("700")
    text = page.locator("body").inner_text()
    assert not [n for n in re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text) if ric.is_valid(n)]  # no resident IDs

    # 4. the family farm registers; the township qualifies it and records the deposit
    page = farm
    page.goto(listing_url)
    page.locator("input[name=plan]").fill("种植优质稻")
    page.get_by_test_id("interest").click()
    expect(page.get_by_test_id("my-interest")).to_contain_text("待资格审查")
    page = township
    page.goto(listing_url)
    page.locator("[data-testid^=qualify-]").first.click()
    page.locator("input[name=reference]").first.fill("BANK-2026-0300")
    page.locator("[data-testid^=deposit-]").first.click()
    expect(page.get_by_test_id("interests")).to_contain_text("已到账")

    # 5. the notice ends (the scheduler runs at that date); the single qualified bidder makes its offer
    notice_end = date.fromisoformat(page.get_by_test_id("notice").inner_text().split("~")[1].strip())
    after = datetime.combine(notice_end + timedelta(days=1), datetime.min.time(), timezone.utc)
    assert "registration_closed" in live_flask("exchange", "tick", "--at", after.isoformat())
    page = farm
    page.goto(listing_url)
    expect(page.get_by_test_id("state")).to_contain_text("竞价中")
    page.get_by_test_id("bid-amount").fill("720")
    page.get_by_test_id("bid").click()
    expect(page.get_by_test_id("award")).to_contain_text("720")

    # 6. the objection window passes; the contract is drafted from the standard template
    objections_end = live_python(f"from exchange.transfers.models import Listing\nfrom exchange.db import db\n"
                                 f"from sqlalchemy import select\n"
                                 f"print(db.session.scalar(select(Listing).where(Listing.number == '{number}'))"
                                 f".objection_ends_on)")
    later = datetime.combine(date.fromisoformat(objections_end) + timedelta(days=1), datetime.min.time(),
                             timezone.utc)
    assert "contracting" in live_flask("exchange", "tick", "--at", later.isoformat())

    # 7. the township reviews the contract; the farm and the village sign it on the text they read
    page = township
    page.goto(listing_url)
    expect(page.get_by_test_id("state")).to_contain_text("合同签订中")
    page.get_by_test_id("review_contract").click()
    page.get_by_test_id("contract-link").click()
    expect(page.get_by_test_id("contract-state")).to_contain_text("已审查")
    contract_url = page.url
    expect(page.get_by_test_id("schedule").locator("tbody tr")).to_have_count(5)
    for page, party in ((farm, "transferee"), (village, "transferor")):
        page.goto(contract_url)
        page.get_by_test_id(f"sign-{party}").click()
    page.goto(contract_url)
    expect(page.get_by_test_id("contract-state")).to_contain_text("已签订")
    pdf = page.request.get(contract_url + ".pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    # 8. settlement and 9. registration with the transaction certificate
    page = township
    page.goto(listing_url)
    page.locator("input[name=reference]").fill("BANK-2027-0001")
    page.get_by_test_id("settle").click()
    expect(page.get_by_test_id("state")).to_contain_text("已结算")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("state")).to_contain_text("已登记")
    certificate = page.get_by_test_id("certificate").inner_text().strip()
    expect(page.get_by_test_id("events")).to_contain_text("权属登记，出具鉴证书")

    # anyone verifies the certificate online
    page = public
    page.goto(f"/verify/{certificate}")
    expect(page.locator("body")).to_contain_text(certificate)
    expect(page.locator("body")).to_contain_text("有效")
