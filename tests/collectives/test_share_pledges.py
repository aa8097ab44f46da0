"""Pledge of shares (股权质押): a bank applies with the household's consent, the township registers (a signed
股权质押登记证明) or refuses, the bank releases. Every rule is a refusal that writes nothing; while pledged the
shares are neither transferred, inherited nor exited; a second bank sees the first pledge and its rank."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.accounts.models import Account, Role
from exchange.collectives import operations as books
from exchange.collectives import share_pledges
from exchange.collectives.models import MotionKind, SharePledge, SharePledgeEvent, SharePledgeStep
from exchange.db import db
from exchange.errors import DomainError
from exchange.registry.models import Organisation, OrganisationKind

from tests.collectives.conftest import BAIYAN, JINSHAN, collective, entry, households, ledger_size, resolution, snapshot
from tests.collectives.test_documents import pdf_text, signed

TODAY = date.today()
CONSENT = {"document": "质押同意书 001", "signed_on": TODAY}


def account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def pledge_snapshot() -> dict:
    db.session.flush()
    return {**snapshot(), "pledges": db.session.scalar(select(func.count()).select_from(SharePledge)),
            "pledge_events": db.session.scalar(select(func.count()).select_from(SharePledgeEvent))}


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """Refused with ``code`` and nothing written: no row of the books or of the pledges, no ledger entry."""
    before = pledge_snapshot()
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    codes = getattr(caught.value, "codes", [caught.value.code])
    assert code in codes, (code, codes, caught.value.message_zh)
    assert pledge_snapshot() == before
    return caught.value


@pytest.fixture
def baiyan_plan_bank(baiyan_plan):
    return {**baiyan_plan, "bank": account("bank"), "township": account("township")}


def second_bank() -> Account:
    db.session.add(Organisation(name="开江县邮政储蓄银行", credit_code="91511723MA62000029", kind=OrganisationKind.bank))
    other = Account(username="bank2", display_name="邮储银行信贷员", password_hash="-", role=Role.bank,
                    institution="开江县邮政储蓄银行")
    db.session.add(other)
    db.session.flush()
    return other


def apply(ctx, household=None, **overrides):
    args = {"shares": Decimal("100"), "loan_amount": Decimal("20000.00"), "start": TODAY,
            "end": date(TODAY.year + 2, 1, 1), "valuation_basis": {"method": "shares"}, "contract_number": "ZY-001",
            "consent": CONSENT}
    args.update(overrides)
    bank = args.pop("account", ctx["bank"])
    return share_pledges.apply(bank, ctx["plan"], household or ctx["households"][0], **args)


def held(ctx, household=None) -> Decimal:
    return books.share_balances(ctx["plan"])[(household or ctx["households"][0]).id]


def test_the_whole_pledge_and_its_certificate(baiyan_plan_bank, tmp_path):
    ctx = baiyan_plan_bank
    home = ctx["households"][0]
    before = ledger_size()
    pledge = apply(ctx)
    # 300000 元 / 1000 shares = 300 元 a share: 100 shares are worth 30000 元
    assert pledge.valuation == Decimal("30000.00") and pledge.step == SharePledgeStep.applied
    applied = entry(pledge.events[0].ledger_index)
    assert applied["kind"] == "pledge" and applied["data"]["action"] == "share_pledge_apply"
    assert applied["data"]["household"] == home.code and applied["data"]["consent"]["document"] == "质押同意书 001"
    assert ledger_size() == before + 1
    number = share_pledges.register(pledge, ctx["township"])
    assert pledge.step == SharePledgeStep.registered and pledge.certificate_number == number
    assert number.startswith(f"511723-GZ-{TODAY.year}-")
    registered = entry(pledge.events[-1].ledger_index)
    assert registered["kind"] == "pledge" and registered["data"]["rank"] == 1
    certificate = entry(pledge.certificate_index)
    assert certificate["kind"] == "certificate" and certificate["data"]["certificate"]["number"] == number
    assert certificate["data"]["subject_entry"] == pledge.events[-1].ledger_index
    assert ledger_size() == before + 3
    for index in range(before, ledger_size()):  # no name in clear (the ledger itself refuses resident IDs)
        assert home.head_name not in str(entry(index))
    assert share_pledges.unpledged(ctx["plan"], home) == held(ctx) - 100
    pdf = share_pledges.documents.share_pledge_pdf(pledge)
    assert signed(pdf, tmp_path)
    text = pdf_text(pdf, tmp_path)
    for fact in ("股权质押登记证明", number, home.code, "四川开江农村商业银行", "100.00股", "30000.00元", "20000.00元",
                 "第1顺位", "质押同意书001", "ZY-001"):
        assert fact in text, fact
    released = share_pledges.release(pledge, ctx["bank"], "贷款已结清")
    assert entry(released)["kind"] == "release" and pledge.step == SharePledgeStep.released
    assert share_pledges.unpledged(ctx["plan"], home) == held(ctx)


def test_pledged_shares_are_not_transferred_inherited_or_exited(baiyan_plan_bank):
    ctx = baiyan_plan_bank
    plan, (home, other) = ctx["plan"], ctx["households"][:2]
    pledge = apply(ctx, shares=held(ctx) - 10, loan_amount=Decimal("1000.00"))
    share_pledges.register(pledge, ctx["township"])
    error = refused("SHARES-PLEDGED", books.transfer_shares, plan, home, other, Decimal("11"), "transfer")
    assert pledge.certificate_number in error.message_zh and "10" in error.message_zh
    refused("SHARES-PLEDGED", books.transfer_shares, plan, home, other, Decimal("11"), "inheritance")
    exit_motion = resolution(ctx["collective"], MotionKind.share_exit, date(2025, 6, 1))
    refused("SHARES-PLEDGED", books.exit_shares, plan, home, Decimal("11"), Decimal("100.00"), exit_motion)
    books.transfer_shares(plan, home, other, Decimal("10"), "transfer")  # the free shares still move
    share_pledges.release(pledge, ctx["bank"])
    books.exit_shares(plan, home, Decimal("11"), Decimal("100.00"), exit_motion)


def test_a_second_bank_sees_the_first_pledge_and_its_rank(baiyan_plan_bank):
    ctx = baiyan_plan_bank
    home = ctx["households"][0]
    first = apply(ctx, shares=Decimal("100"))
    share_pledges.register(first, ctx["township"])
    other = second_bank()
    seen = share_pledges.existing_pledges(ctx["plan"], home)
    assert seen == [{"rank": 1, "pledgee": "四川开江农村商业银行", "shares": "100.00", "loan_amount": "20000.00",
                     "end_date": first.end_date.isoformat(), "certificate": first.certificate_number}]
    free = held(ctx) - 100
    error = refused("SHARES-PLEDGED", apply, ctx, account=other, shares=free + 1)
    assert "第 1 顺位" in error.message_zh and str(free) in error.message_zh
    second = apply(ctx, account=other, shares=Decimal("50"), loan_amount=Decimal("15000.00"), contract_number="YC-1")
    assert entry(second.events[0].ledger_index)["data"]["existing_pledges"][0]["rank"] == 1
    share_pledges.register(second, ctx["township"])
    assert entry(second.events[-1].ledger_index)["data"]["rank"] == 2
    assert [p["rank"] for p in share_pledges.existing_pledges(ctx["plan"], home)] == [1, 2]
    assert "第 2 顺位" in str(entry(second.certificate_index)["data"]["facts"]["rows"])
    refused("SHARE-PLEDGE-NOT-PLEDGEE", share_pledges.release, first, other)


def test_refusals_of_the_application_write_nothing(baiyan_plan_bank):
    ctx = baiyan_plan_bank
    refused("SHARE-PLEDGE-OVER-VALUE", apply, ctx, loan_amount=Decimal("30000.01"))
    refused("SHARE-PLEDGE-OVER-VALUE", apply, ctx, valuation_basis={"method": "appraisal", "amount": "1000.00",
                                                                   "appraiser": "开江评估所"})
    refused("SHARE-BALANCE", apply, ctx, shares=held(ctx) + 1)
    refused("SHARE-BALANCE", apply, ctx, shares=Decimal("0"))
    refused("SHARE-BALANCE", apply, ctx, shares=Decimal("1.001"))
    refused("SHARE-BALANCE", apply, ctx, shares="NaN")
    refused("SHARE-PLEDGE-CONSENT", apply, ctx, consent={})
    refused("SHARE-PLEDGE-CONSENT", apply, ctx, consent={"document": "x", "signed_on": date(TODAY.year + 1, 1, 1)})
    refused("LOAN-TERMS", apply, ctx, end=TODAY)
    refused("LOAN-TERMS", apply, ctx, loan_amount=Decimal("-1"))
    refused("REQUIRED", apply, ctx, contract_number=" ")
    refused("VALUATION-METHOD", apply, ctx, valuation_basis={"method": "rent"})
    refused("VALUATION-APPRAISER", apply, ctx, valuation_basis={"method": "appraisal", "amount": "5000"})
    refused("VALUATION-FIGURES", apply, ctx, valuation_basis={"method": "appraisal", "amount": "x", "appraiser": "a"})
    outsider = households(JINSHAN, 1)[0]
    refused("SHARES-INSIDE", apply, ctx, household=outsider)
    refused("BANK-UNKNOWN", apply, ctx, account=account("village"))
    # several failures at once, each named
    error = refused("SHARE-PLEDGE-CONSENT", apply, ctx, consent={}, end=TODAY, contract_number="")
    assert {"SHARE-PLEDGE-CONSENT", "LOAN-TERMS", "REQUIRED"} <= set(error.codes)


def test_refusals_of_registration_refusal_and_release_write_nothing(baiyan_plan_bank):
    ctx = baiyan_plan_bank
    pledge = apply(ctx, shares=held(ctx) - 5, loan_amount=Decimal("1000.00"))
    refused("SHARE-PLEDGE-JURISDICTION", share_pledges.register, pledge, account("township2"))
    refused("SHARE-PLEDGE-JURISDICTION", share_pledges.register, pledge, account("village"))
    refused("SHARE-PLEDGE-STEP", share_pledges.release, pledge, ctx["bank"])
    refused("REASON-REQUIRED", share_pledges.refuse, pledge, ctx["township"], " ")
    # the shares moved since the application: registration checks again
    books.transfer_shares(ctx["plan"], ctx["households"][0], ctx["households"][1], Decimal("10"), "transfer")
    refused("SHARE-BALANCE", share_pledges.register, pledge, ctx["township"])
    index = share_pledges.refuse(pledge, account("county"), "出质股数超过该户现有股数")
    assert entry(index)["data"]["action"] == "share_pledge_refuse" and pledge.step == SharePledgeStep.refused
    refused("SHARE-PLEDGE-STEP", share_pledges.register, pledge, ctx["township"])
    refused("SHARE-PLEDGE-STEP", share_pledges.refuse, pledge, ctx["township"], "again")


def test_two_applications_beyond_the_balance_register_only_while_shares_are_free(baiyan_plan_bank):
    ctx = baiyan_plan_bank
    half = (held(ctx) / 2).quantize(Decimal("0.01")) + 1
    first, second = apply(ctx, shares=half, loan_amount=Decimal("100.00")), apply(ctx, shares=half, loan_amount=Decimal("100.00"))
    share_pledges.register(first, ctx["township"])
    refused("SHARES-PLEDGED", share_pledges.register, second, ctx["township"])


def test_the_demo_pledges_shares_of_jinshan(app_ctx):
    before = ledger_size()
    result = share_pledges.demo()
    pledge = db.session.scalar(select(SharePledge).where(SharePledge.certificate_number == result["share_pledge_registered"]))
    assert pledge.step == SharePledgeStep.registered and pledge.plan.collective.division.code == JINSHAN
    assert db.session.get(SharePledge, result["share_pledge_waiting"]).step == SharePledgeStep.applied
    assert ledger_size() == before + 4
    assert collective(BAIYAN) is not None
