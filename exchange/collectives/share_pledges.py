"""Pledge of shares (股权质押): a household pledges part of its shares in the collective's adopted plan to a bank.

The bank applies with the loan, the term, the number of shares, their value and the household's written consent;
the township or county with jurisdiction over the collective registers (issuing a signed 股权质押登记证明) or refuses;
the bank releases it when the loan is repaid. While registered, those shares are neither transferred nor exited
(SHARES-PLEDGED in ``operations``). Each step writes its ledger entry (kind pledge or release, household codes and
bank names only, never a personal identifier) in the same transaction. Operations take the acting account, check
every rule before writing anything, and flush; the caller commits.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exchange.access import may
from exchange.collateral.operations import bank_of
from exchange.collectives import documents
from exchange.collectives.models import SharePledge, SharePledgeEvent, SharePledgeStep, SharePlan
from exchange.collectives.money import FEN, is_fen_amount
from exchange.collectives.operations import active_share_pledges, pledged_shares, share_balances
from exchange.collectives.rules import Check
from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app.service import record
from exchange.registry.models import Household

CITATION = "民法典 第440条、第443条；农村集体经济组织法 第41条"


def _who(account) -> dict:
    """The ledger's actor, from the account that acts (never the ambient request)."""
    return {"role": account.role.value, "division": account.division.code if account.division else None,
            "account": account.username}


def _subjects(pledge: SharePledge) -> list[dict]:
    return [{"type": "household", "id": pledge.household.code},
            {"type": "collective", "id": pledge.plan.collective.credit_code}]


def unpledged(plan: SharePlan, household: Household) -> Decimal:
    """The household's shares not under a registered pledge: what it may still pledge, transfer or exit."""
    return share_balances(plan).get(household.id, Decimal(0)) - pledged_shares(plan, household)


def existing_pledges(plan: SharePlan, household: Household) -> list[dict]:
    """What a bank sees before lending on a household's shares: every registered pledge with its rank (顺位)."""
    return [{"rank": rank, "pledgee": p.bank.name, "shares": str(p.shares), "loan_amount": str(p.loan_amount),
             "end_date": p.end_date.isoformat(), "certificate": p.certificate_number}
            for rank, p in enumerate(active_share_pledges(plan, household), start=1)]


def valuation(plan: SharePlan, shares: Decimal, basis: dict) -> tuple[Decimal, dict]:
    """质押物价值: shares × the plan's value per share (quantified value / total shares), or an appraiser's figure.
    Returns the value and the basis as recorded."""
    method = basis.get("method") if isinstance(basis, dict) else None
    if method == "shares":
        per_share = plan.quantified_value / plan.total_shares
        value = (shares * per_share).quantize(FEN, rounding=ROUND_HALF_UP)
        return value, {"method": "shares", "per_share": str(per_share.quantize(Decimal("0.0001"))),
                       "quantified_value": str(plan.quantified_value), "total_shares": plan.total_shares}
    if method == "appraisal":
        appraiser = str(basis.get("appraiser") or "").strip()
        if not appraiser:
            raise DomainError("VALUATION-APPRAISER", "评估价值须写明评估机构。", "An appraisal names the appraiser.",
                              field="valuation_basis.appraiser")
        try:
            value = Decimal(str(basis.get("amount")))
        except ArithmeticError:
            value = Decimal("NaN")
        if not value.is_finite() or not is_fen_amount(value) or value <= 0:
            raise DomainError("VALUATION-FIGURES", "评估价值应为大于 0 的金额，精确到分。",
                              "The appraised value is an amount above zero, to the fen.", field="valuation_basis.amount")
        return value, {"method": "appraisal", "amount": str(value), "appraiser": appraiser}
    raise DomainError("VALUATION-METHOD", "估值方式应为 shares（股数 × 量化方案每股净值）或 appraisal（评估价值）。",
                      "Valuation method is shares (shares × the plan's value per share) or appraisal.",
                      field="valuation_basis.method")


def _check_free(check: Check, plan: SharePlan, household: Household, shares: Decimal) -> None:
    """SHARE-BALANCE and SHARES-PLEDGED: a positive number of shares, at most what the household holds unpledged."""
    held = share_balances(plan).get(household.id, Decimal(0))
    free = held - pledged_shares(plan, household)
    if not is_fen_amount(shares) or shares <= 0 or shares > held:
        check.fail("SHARE-BALANCE", "股权管理",
                   f"质押股数应为正数（至多两位小数），且不超过该户现有 {held} 股（其中未质押 {free} 股）。",
                   f"Shares pledged must be positive (two decimals at most) and at most the {held} the household "
                   f"holds ({free} of them unpledged).", "shares")
    elif shares > free:
        named = "；".join(f"第 {p['rank']} 顺位 {p['pledgee']} {p['shares']} 股（{p['certificate']}）"
                         for p in existing_pledges(plan, household))
        check.fail("SHARES-PLEDGED", CITATION,
                   f"该户 {held} 股中已有 {held - free} 股出质（{named}），未质押的只有 {free} 股，不能再质押 {shares} 股。",
                   f"Of the household's {held} shares {held - free} are pledged already ({named}); only {free} are "
                   f"free, not {shares}.", "shares")


def apply(account, plan: SharePlan, household: Household, *, shares, loan_amount, start: date, end: date,
          valuation_basis: dict, contract_number: str, consent: dict) -> SharePledge:
    """A bank applies to register a pledge of a household's shares. Every rule runs now and again at registration."""
    bank = bank_of(account)
    check = Check()
    try:
        shares, loan_amount = Decimal(str(shares)), Decimal(str(loan_amount))
    except ArithmeticError:
        raise DomainError("SHARE-PLEDGE-FIGURES", "股数和贷款金额应为数字。", "Shares and the loan amount are numbers.",
                          field="shares") from None
    if household.collective_id != plan.collective_id:
        check.fail("SHARES-INSIDE", "农村集体经济组织法 第41条", "出质的农户应为该股份量化方案所属集体的农户。",
                   "The pledging household belongs to the collective of the share plan.", "household")
    else:
        _check_free(check, plan, household, shares)
    if not loan_amount.is_finite() or not is_fen_amount(loan_amount) or loan_amount <= 0 or end <= start:
        check.fail("LOAN-TERMS", "借款合同", "贷款金额应大于 0（精确到分），期限终止日应晚于起始日。",
                   "The loan amount must be above 0 (to the fen) and the term must end after it starts.", "loan_amount")
    if not str(contract_number or "").strip() or len(contract_number) > 40:
        check.fail("REQUIRED", "民法典 第427条", "请填写质押合同编号（不超过 40 个字符）。",
                   "Give the pledge contract's number (at most 40 characters).", "contract_number")
    consent = consent if isinstance(consent, dict) else {}
    signed_on = consent.get("signed_on")
    if not str(consent.get("document") or "").strip() or not isinstance(signed_on, date) or signed_on > date.today():
        check.fail("SHARE-PLEDGE-CONSENT", CITATION,
                   "须有出质农户户主签字的书面同意（质押同意书编号和签署日期，签署日期不晚于今天）。",
                   "The pledging household's written consent is needed: the consent document's number and the date "
                   "its head signed it (not after today).", "consent")
    value = None
    if check.violations and any(v.code in ("SHARE-BALANCE", "SHARES-INSIDE") for v in check.violations):
        check.done()  # without a valid number of shares there is nothing to value
    try:
        value, basis = valuation(plan, shares, valuation_basis)
    except DomainError as error:
        check.fail(error.code, "质押物估值", error.message_zh, error.message_en, error.field)
    if value is not None and loan_amount.is_finite() and loan_amount > value:
        check.fail("SHARE-PLEDGE-OVER-VALUE", "民法典 第440条；农村集体资产股权质押贷款办法",
                   f"贷款金额 {loan_amount} 元超过出质 {shares} 股的价值 {value} 元；至多可贷 {value} 元。",
                   f"The loan of {loan_amount} exceeds the value of the {shares} shares pledged, {value}; "
                   f"at most {value} may be lent against them.", "loan_amount")
    check.done()
    shares, loan_amount = shares.quantize(FEN), loan_amount.quantize(FEN)  # as the NUMERIC columns read them back
    pledge = SharePledge(plan=plan, household=household, bank=bank, shares=shares, loan_amount=loan_amount,
                         start_date=start, end_date=end, valuation=value, valuation_basis=basis,
                         contract_number=contract_number.strip(),
                         consent={"document": consent["document"].strip(), "signed_on": signed_on.isoformat(),
                                  "signed_by": documents._masked(household.head_name)},
                         applied_by=account.username)
    db.session.add(pledge)
    db.session.flush()
    index = record("pledge", _subjects(pledge), {
        "action": "share_pledge_apply", "pledge": pledge.id, "household": household.code, "pledgee": bank.name,
        "shares": str(shares), "loan_amount": str(loan_amount), "valuation": str(value), "valuation_basis": basis,
        "term": {"start": start.isoformat(), "end": end.isoformat()}, "contract": pledge.contract_number,
        "consent": {"document": pledge.consent["document"], "signed_on": pledge.consent["signed_on"]},
        "existing_pledges": existing_pledges(plan, household)}, by=_who(account))
    _event(pledge, SharePledgeStep.applied, account, f"valuation {value}", index)
    db.session.flush()
    return pledge


def _event(pledge: SharePledge, step: SharePledgeStep, account, note: str, index: int) -> SharePledgeEvent:
    event = SharePledgeEvent(pledge=pledge, step=step, account=account.username, note=note, ledger_index=index)
    db.session.add(event)
    return event


def _require_step(pledge: SharePledge, *steps: SharePledgeStep) -> None:
    if pledge.step not in steps:
        raise DomainError("SHARE-PLEDGE-STEP", f"该股权质押当前状态为 {pledge.step.value}，不能进行此操作。",
                          f"The share pledge is {pledge.step.value}; this step does not apply.", field="pledge",
                          status=409)


def _require_registrar(pledge: SharePledge, account) -> None:
    division = pledge.plan.collective.division
    if not may(account, "collateral.register", division):
        raise DomainError("SHARE-PLEDGE-JURISDICTION", f"只有对{division.full_name}有管辖权的乡镇或县可以办理该股权质押登记。",
                          f"Only the township or county with jurisdiction over {division.full_name} registers it.",
                          field="pledge", status=403)


def register(pledge: SharePledge, account) -> str:
    """股权质押登记 by the township or county: the rules again, the pledge entry, then the signed certificate's entry.
    Returns the certificate number."""
    _require_step(pledge, SharePledgeStep.applied)
    _require_registrar(pledge, account)
    check = Check()
    _check_free(check, pledge.plan, pledge.household, pledge.shares)
    check.done()
    rank = len(active_share_pledges(pledge.plan, pledge.household)) + 1
    index = record("pledge", _subjects(pledge), {
        "action": "share_pledge_register", "pledge": pledge.id, "household": pledge.household.code,
        "pledgee": pledge.bank.name, "shares": str(pledge.shares), "loan_amount": str(pledge.loan_amount),
        "valuation": str(pledge.valuation), "term": {"start": pledge.start_date.isoformat(),
                                                     "end": pledge.end_date.isoformat()},
        "contract": pledge.contract_number, "rank": rank}, by=_who(account))
    number, certificate_index = documents.issue_share_pledge_certificate(pledge, rank, index, _who(account))
    pledge.certificate_number, pledge.certificate_index = number, certificate_index
    _event(pledge, SharePledgeStep.registered, account, number, index)
    db.session.flush()
    return number


def refuse(pledge: SharePledge, account, reason: str) -> int:
    _require_step(pledge, SharePledgeStep.applied)
    _require_registrar(pledge, account)
    if not str(reason or "").strip():
        raise DomainError("REASON-REQUIRED", "请说明不予登记的理由。", "Give the reason for refusing.", field="reason")
    index = record("pledge", _subjects(pledge), {
        "action": "share_pledge_refuse", "pledge": pledge.id, "household": pledge.household.code,
        "pledgee": pledge.bank.name, "reason": reason}, by=_who(account))
    _event(pledge, SharePledgeStep.refused, account, reason, index)
    db.session.flush()
    return index


def release(pledge: SharePledge, account, reason: str = "") -> int:
    """解除质押 by the pledgee bank once the loan is repaid: the shares are free again."""
    _require_step(pledge, SharePledgeStep.registered)
    if bank_of(account).id != pledge.bank_id:
        raise DomainError("SHARE-PLEDGE-NOT-PLEDGEE", "只有质权人银行可以解除该股权质押。",
                          "Only the pledgee bank releases this pledge.", field="pledge", status=403)
    reason = str(reason or "").strip() or "贷款已结清"
    index = record("release", _subjects(pledge), {
        "action": "share_pledge_release", "pledge": pledge.id, "household": pledge.household.code,
        "pledgee": pledge.bank.name, "shares": str(pledge.shares), "certificate": pledge.certificate_number,
        "reason": reason}, by=_who(account))
    _event(pledge, SharePledgeStep.released, account, reason, index)
    db.session.flush()
    return index


# --- queries for pages and the API ---------------------------------------------------------------------------


def of_bank(account) -> list[SharePledge]:
    bank = bank_of(account)
    return list(db.session.scalars(select(SharePledge).where(SharePledge.bank_id == bank.id)
                                   .options(selectinload(SharePledge.events)).order_by(SharePledge.id.desc())))


def in_jurisdiction(account) -> list[SharePledge]:
    """The township's or county's queue: pledges on shares of collectives in its jurisdiction."""
    from exchange.divisions.models import Division
    from exchange.registry.models import Collective

    return list(db.session.scalars(
        select(SharePledge).join(SharePlan).join(Collective, SharePlan.collective_id == Collective.id)
        .join(Division, Collective.division_id == Division.id)
        .where(Division.code.startswith(account.division.code))
        .options(selectinload(SharePledge.events)).order_by(SharePledge.id.desc())))


def demo(bank_username: str = "bank", registrar_username: str = "township") -> dict:
    """Demo data: 金山村's last share-holding household pledges 100 shares to the demo bank for 10,000 元, registered
    by 新宁镇 (the one before it has an application waiting in the queue; the
    first households are left unpledged for whoever tries transfers and exits). Call after the books' demo; flushes."""
    from exchange.accounts.models import Account
    from exchange.collectives import queries
    from exchange.demo.books import DEMO_VILLAGE

    bank = db.session.scalar(select(Account).where(Account.username == bank_username))
    registrar = db.session.scalar(select(Account).where(Account.username == registrar_username))
    collective = queries.collective_or_404(DEMO_VILLAGE)
    plan = queries.share_plan(collective)
    holders = [h for h in queries.plan_households(plan) if share_balances(plan).get(h.id, Decimal(0)) >= 100]
    today = date.today()
    first = apply(bank, plan, holders[-1], shares=Decimal(100), loan_amount=Decimal("10000.00"), start=today,
                  end=date(today.year + 2, today.month, min(today.day, 28)), valuation_basis={"method": "shares"},
                  contract_number="KJNS-GZ-2026-0001", consent={"document": "质押同意书 2026-001", "signed_on": today})
    number = register(first, registrar)
    waiting = apply(bank, plan, holders[-2], shares=Decimal(50), loan_amount=Decimal("5000.00"), start=today,
                    end=date(today.year + 1, today.month, min(today.day, 28)), valuation_basis={"method": "shares"},
                    contract_number="KJNS-GZ-2026-0002", consent={"document": "质押同意书 2026-002", "signed_on": today})
    return {"share_pledge_registered": number, "share_pledge_waiting": waiting.id}
