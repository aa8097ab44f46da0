"""The collateral flow: a bank applies, the township or county registers (the registry's pledge and a mortgage
registration certificate), the bank releases or, on default, asks for disposal. Operations flush; callers commit."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from exchange.certificates.models import Certificate, CertificateKind
from exchange.certificates.operations import issue_certificate
from exchange.collateral.models import CollateralApplication, CollateralEvent, CollateralStep
from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app.service import actor, record
from exchange.registry import operations as registry
from exchange.registry import rules
from exchange.registry.models import Organisation, OrganisationKind, Right

FEN = Decimal("0.01")


def bank_of(account) -> Organisation:
    """The bank a bank account works for (its institution)."""
    bank = db.session.scalar(select(Organisation).where(Organisation.name == (account.institution or ""),
                                                        Organisation.kind == OrganisationKind.bank))
    if bank is None:
        raise DomainError("BANK-UNKNOWN", f"账户所属机构“{account.institution}”未登记为银行。",
                          f"The account's institution '{account.institution}' is not a registered bank.",
                          field="institution", status=403)
    return bank


def valuation(right: Right, basis: dict, on: date) -> Decimal:
    """抵押物价值: annual rent × remaining years of the right + value of attachments, or an appraiser's figure."""
    method = basis.get("method")
    try:
        if method == "rent":
            if right.end_date is None:
                raise DomainError("VALUATION-TERM", "该权利无期限，不能按租金 × 剩余期限估值，请采用评估价值。",
                                  "The right has no end date; value it by appraisal.", field="valuation_basis.method")
            years = Decimal(max((right.end_date - on).days, 0)) / Decimal("365.25")
            value = Decimal(str(basis["annual_rent"])) * years + Decimal(str(basis.get("attachments", "0")))
        elif method == "appraisal":
            if not str(basis.get("appraiser", "")).strip():
                raise DomainError("VALUATION-APPRAISER", "评估价值须写明评估机构。", "An appraisal names the appraiser.",
                                  field="valuation_basis.appraiser")
            value = Decimal(str(basis["amount"]))
        else:
            raise DomainError("VALUATION-METHOD", "估值方式应为 rent（年租金 × 剩余年限 + 附着物）或 appraisal（评估价值）。",
                              "Valuation method is rent (annual rent × remaining years + attachments) or appraisal.",
                              field="valuation_basis.method")
    except (KeyError, ArithmeticError, ValueError) as exc:
        if isinstance(exc, DomainError):
            raise
        raise DomainError("VALUATION-FIGURES", "估值数据不完整或不是数字（rent 需 annual_rent，appraisal 需 amount）。",
                          "Valuation figures missing or not numbers (rent needs annual_rent; appraisal needs amount).",
                          field="valuation_basis") from None
    value = value.quantize(FEN, rounding=ROUND_HALF_UP)
    if value <= 0:
        raise DomainError("VALUATION-ZERO", "抵押物价值应大于 0。", "The collateral's value must be more than 0.",
                          field="valuation_basis")
    return value


def existing_pledges(right: Right) -> list[dict]:
    """What a second bank sees before lending: every active pledge with its rank (no personal identifiers)."""
    return [{"rank": rank, "pledgee": e.pledgee.name, "amount": str(e.amount), "end_date": e.end_date.isoformat()}
            for rank, e in enumerate(sorted(right.active_pledges(), key=lambda e: e.id), start=1)]


def _check(right: Right, bank: Organisation, amount: Decimal, start: date, end: date, value: Decimal | None,
           consents: dict, raise_now: bool = True) -> list:
    """The pledge rules, then (when the value is known) the ceiling: all failures reported together."""
    violations = rules.evaluate(rules.Proposal("pledge", source=right, asset=right.parcel or right.homestead or right.asset,
                                               transferee=bank, start_date=start, end_date=end, consents=consents))
    secured = sum((e.amount for e in right.active_pledges()), Decimal(0))
    if value is not None and secured + amount > value:
        violations.append(rules.Violation(
            "COLLATERAL-OVER-VALUE", "担保法规则；农村承包土地经营权抵押贷款试点办法",
            f"已有抵押 {secured} 元，加上本次 {amount} 元，超过抵押物价值 {value} 元。",
            f"Existing pledges of {secured} plus {amount} exceed the collateral's value of {value}.", "loan_amount"))
    if right.active_freezes() and not any(v.code == "NO-PLEDGE" for v in violations):
        violations.append(rules.Violation("NO-PLEDGE", "民法典 第399条", "被依法查封的财产不得抵押。",
                                          "A frozen right cannot be pledged.", "right"))
    if violations and raise_now:
        raise rules.RuleViolations(violations)
    return violations


def _event(application: CollateralApplication, step: CollateralStep, note: str = "", index: int | None = None,
           account=None):
    who = account.username if account is not None else actor().get("account") or ""
    event = CollateralEvent(application=application, step=step, account=who, note=note, ledger_index=index)
    db.session.add(event)
    return event


def apply(bank: Organisation, right: Right, *, loan_amount: Decimal, start: date, end: date, valuation_basis: dict,
          contract_number: str, guarantee: str = "", insurance: str = "", consents: dict | None = None) -> CollateralApplication:
    """A bank applies to register a mortgage. The rules run now and again at registration."""
    loan_amount = Decimal(str(loan_amount))
    if loan_amount <= 0 or end <= start:
        raise DomainError("LOAN-TERMS", "贷款金额应大于 0，期限终止日应晚于起始日。",
                          "The loan amount must be more than 0 and the term must end after it starts.", field="loan_amount")
    consents = consents or {}
    try:
        value = valuation(right, valuation_basis, start)
    except DomainError:
        # the law first: a homestead is not pledgeable whatever its valuation
        _check(right, bank, loan_amount, start, end, None, consents)
        raise
    _check(right, bank, loan_amount, start, end, value, consents)
    application = CollateralApplication(bank=bank, right=right, loan_amount=loan_amount, start_date=start, end_date=end,
                                        valuation=value, valuation_basis={k: str(v) for k, v in valuation_basis.items()}, guarantee=guarantee,
                                        insurance=insurance, contract_number=contract_number, consents=consents,
                                        applied_by=actor().get("account") or "")
    db.session.add(application)
    _event(application, CollateralStep.applied, f"valuation {value}")
    return application


def _require_step(application: CollateralApplication, *steps: CollateralStep) -> None:
    if application.step not in steps:
        raise DomainError("COLLATERAL-STEP", f"该申请当前状态为 {application.step.value}，不能进行此操作。",
                          f"The application is {application.step.value}; this step does not apply.",
                          field="application", status=409)


def register(application: CollateralApplication) -> Certificate:
    """抵押登记 by the township or county: the registry's pledge (rules again) and the mortgage certificate."""
    _require_step(application, CollateralStep.applied)
    right = application.right
    _check(right, application.bank, application.loan_amount, application.start_date, application.end_date,
           application.valuation, application.consents)
    encumbrance = registry.pledge(right, application.bank, application.loan_amount, application.start_date,
                                  application.end_date, contract_number=application.contract_number,
                                  consents=application.consents)
    application.encumbrance = encumbrance
    certificate = issue_certificate(CertificateKind.mortgage, right, encumbrance)
    _event(application, CollateralStep.registered, certificate.number, encumbrance.ledger_index)
    return certificate


def refuse(application: CollateralApplication, reason: str) -> None:
    _require_step(application, CollateralStep.applied)
    if not reason.strip():
        raise DomainError("REASON-REQUIRED", "请说明不予登记的理由。", "Give the reason for refusing.", field="reason")
    _event(application, CollateralStep.refused, reason)


def release(application: CollateralApplication, reason: str) -> int:
    """解押 by the bank once the loan is repaid (while a disposal listing is open, it is withdrawn first)."""
    _require_step(application, CollateralStep.registered, CollateralStep.disposal_requested)
    from exchange.collateral.disposal import open_listing

    current = open_listing(application)
    if current is not None:
        raise DomainError("DISPOSAL-OPEN", f"抵押物正在处置挂牌 {current.listing.number}，请先撤回挂牌再解押。",
                          f"The collateral is in disposal listing {current.listing.number}; withdraw it before "
                          "releasing.", field="application", status=409)
    index = registry.release_pledge(application.encumbrance, reason or "贷款已结清")
    _event(application, CollateralStep.released, reason, index)
    return index


def request_disposal(account, application: CollateralApplication, reason: str, outstanding) -> int:
    """On default the pledgee bank asks for the collateral to be listed on the exchange and consents to the listing
    (recorded as data: which bank, for which pledge, by which account, at which ledger entry); the proceeds go to
    it first, up to the outstanding amount declared here. The listing itself is the village's (see ``disposal``)."""
    _require_step(application, CollateralStep.registered)
    bank = bank_of(account)
    encumbrance = application.encumbrance
    if encumbrance is None or encumbrance.pledgee_id != bank.id:
        raise DomainError("DISPOSAL-NOT-PLEDGEE",
                          f"该抵押的抵押权人是{application.bank.name}，{bank.name}不能申请处置或同意处置挂牌。",
                          f"The pledgee of this mortgage is {application.bank.name}; {bank.name} cannot ask for its "
                          "disposal or consent to its listing.", field="application", status=403)
    try:
        amount = Decimal(str(outstanding).strip().replace(",", ""))
    except ArithmeticError:
        amount = Decimal(0)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(FEN):
        raise DomainError("OUTSTANDING", "违约处置须写明未偿还金额（大于 0，最多两位小数）。",
                          "State the outstanding amount (more than 0, at most two decimals).", field="outstanding")
    if not str(reason or "").strip():
        raise DomainError("REASON-REQUIRED", "请说明违约情况（如逾期天数）。", "Say how the loan defaulted.",
                          field="reason")
    right = application.right
    index = record("pledge", [{"type": "right", "id": right.number}], {
        "action": "disposal_requested", "right": right.number, "pledgee": bank.name,
        "pledgee_code": bank.credit_code, "encumbrance": encumbrance.id, "outstanding": str(amount),
        "reason": reason.strip(), "pledgee_consents_to_listing": True},
        by={"role": account.role.value, "division": account.division.code if account.division else None,
            "account": account.username})
    application.outstanding = amount
    application.disposal_consent = {"bank": bank.name, "credit_code": bank.credit_code, "encumbrance": encumbrance.id,
                                    "application": application.id, "account": account.username, "ledger_index": index}
    _event(application, CollateralStep.disposal_requested, f"{reason.strip()}; outstanding {amount}", index, account)
    return index
