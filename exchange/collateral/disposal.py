"""Disposal of a defaulted loan's collateral (抵押物处置, domain.md §5): the pledged right is listed on the exchange
with the pledgee bank's consent, the buyer's payments go to the bank first up to what it declared outstanding and
the remainder to the right holder, and the registration of the transfer discharges the pledge (处置清偿).

The steps are the exchange's own (review, notice, auction, award, contract, settlement, registration: see
``exchange.transfers.operations``); this module adds what makes a listing a disposal: the link to the collateral
application, the bank's consent as data the ENCUMBERED rule checks, the split of each payment, and the discharge.
Operations flush and never commit; a refusal raises before anything is written.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from exchange.accounts.models import Account, Role
from exchange.collateral.models import (
    CollateralApplication, CollateralEvent, CollateralStep, DisposalListing, DisposalProceeds,
)
from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app.service import record
from exchange.registry import operations as registry
from exchange.registry.rules import pledgee_consents
from exchange.registry.models import RightType

TITLE_MARK = "【抵押物处置】"  # the board and the listing's pages show it in the title: anyone sees it is a disposal
DISCHARGE_REASON = "处置清偿"
DISPOSABLE = {RightType.contract: "出租", RightType.management: "转让"}  # the right listed → its default mode


def _by(account: Account) -> dict:
    return {"role": account.role.value, "division": account.division.code if account.division else None,
            "account": account.username}


def disposal_of(listing) -> DisposalListing | None:
    """The disposal a listing is, or None for an ordinary listing."""
    if listing is None or listing.id is None:
        return None
    return db.session.scalar(select(DisposalListing).where(DisposalListing.listing_id == listing.id))


def open_listing(application: CollateralApplication) -> DisposalListing | None:
    from exchange.transfers.models import OPEN_STATES

    return next((d for d in application.disposal_listings if d.listing.state in OPEN_STATES), None)


def _consent_holds(application: CollateralApplication) -> bool:
    encumbrance = application.encumbrance
    consent = application.disposal_consent
    return (encumbrance is not None and encumbrance.released_at is None and isinstance(consent, dict)
            and pledgee_consents(consent, encumbrance))


def submit_disposal_listing(account: Account, application: CollateralApplication, *, reserve_price,
                            start_date: date, end_date: date, mode: str | None = None, price_unit: str = "lump_sum",
                            permitted_use: str = "1", payment_terms: str = "", bidder_conditions: str = "",
                            deposit=None, increment=None):
    """The village lists the pledged right for disposal, on behalf of its holder, with the pledgee bank's consent.

    Why the village, and not the bank or the county: domain.md §1 has villages submit listings for households
    and the collective (and the township review them), and §5 says the collateral "is listed on the exchange
    with the bank's consent", so the bank consents (when it asks for disposal, from its own account) and does
    not list. The holder stays the transferor (TITLE-CLEAR); its written consent to a disposal on default is the
    mortgage contract's disposal clause, whose number the listing carries as the household's consent.
    """
    from exchange.transfers import operations as exchange

    if account.role != Role.village:
        raise DomainError("DISPOSAL-SUBMITTER", "处置挂牌由权利所在村集体代权利人提交（银行在申请处置时给出同意）。",
                          "A disposal listing is submitted by the village on the holder's behalf (the bank consents "
                          "when it asks for disposal).", field="account", status=403)
    if application.step != CollateralStep.disposal_requested:
        raise DomainError("DISPOSAL-STEP", f"抵押申请当前状态为 {application.step.value}，只有银行已申请违约处置"
                          "（disposal_requested）的抵押物才能挂牌处置。",
                          f"The application is {application.step.value}; only collateral whose bank asked for disposal "
                          "(disposal_requested) is listed for disposal.", field="application", status=409)
    if not _consent_holds(application):
        raise DomainError("DISPOSAL-CONSENT", "没有抵押权人（持有该抵押的银行）对处置挂牌的同意，或该抵押已解除。",
                          "There is no consent to the listing from the pledgee (the bank holding this pledge), or the "
                          "pledge was released.", field="application", status=409)
    current = open_listing(application)
    if current is not None:
        raise DomainError("DISPOSAL-OPEN", f"该抵押物已在处置挂牌 {current.listing.number} 中，不能重复挂牌。",
                          f"The collateral is already in disposal listing {current.listing.number}.",
                          field="application", status=409)
    if reserve_price in (None, "") or _not_positive(reserve_price):
        raise DomainError("DISPOSAL-RESERVE", f"请填写处置底价（大于 0 的金额，元），收到“{reserve_price or ''}”。",
                          f"Give the disposal's reserve price (an amount in yuan above 0); got '{reserve_price or ''}'.",
                          field="reserve_price")
    right = application.right
    if right.right_type not in DISPOSABLE:
        raise DomainError("DISPOSAL-KIND", "目前只能经交易所处置承包地的经营权（承包权、土地经营权）。",
                          "Only contract-land management rights (contract or management rights) are disposed of "
                          "through the exchange for now.", field="right")
    documents = {"household_consent": f"抵押合同 {application.contract_number}（违约处置条款）",
                 "filed_with_collective": True}
    listing = exchange.submit_listing(
        account, right=right, kind="land_management_transfer", mode=mode or DISPOSABLE[right.right_type],
        reserve_price=reserve_price, price_unit=price_unit, start_date=start_date, end_date=end_date,
        permitted_use=permitted_use,
        payment_terms=payment_terms or "成交后一次付清，价款经交易中心结算，先清偿抵押权人债权，余款归权利人",
        bidder_conditions=bidder_conditions, documents=documents, deposit=deposit, increment=increment,
        pledgee_consent=application.disposal_consent)
    return _link(account, application, listing)


def _not_positive(value) -> bool:
    try:
        return Decimal(str(value).strip().replace(",", "")) <= 0
    except ArithmeticError:
        return False  # not a number at all: the exchange's own check says what is accepted


def _link(account: Account, application: CollateralApplication, listing) -> DisposalListing:
    listing.title = (TITLE_MARK + listing.title)[:200]
    right = application.right
    index = record("pledge", [{"type": "right", "id": right.number}, {"type": "listing", "id": listing.number}], {
        "action": "disposal_listed", "right": right.number, "listing": listing.number,
        "pledgee": application.bank.name, "encumbrance": application.encumbrance_id,
        "outstanding": str(application.outstanding), "consent_entry": application.disposal_consent.get("ledger_index"),
        **({"relisted_from": listing.relisted_from.number} if listing.relisted_from is not None else {})},
        by=_by(account))
    disposal = DisposalListing(application=application, listing=listing, submitted_by=account.username,
                               ledger_index=index)
    db.session.add(disposal)
    db.session.flush()
    return disposal


def relisted(account: Account, old, fresh) -> None:
    """A disposal that failed (流拍) and is relisted stays a disposal of the same application."""
    disposal = disposal_of(old)
    if disposal is not None:
        _link(account, disposal.application, fresh)


def pledgee_consent(listing) -> dict | None:
    """The pledgee bank's consent a disposal listing carries, as the ENCUMBERED rule checks it."""
    consent = (listing.documents or {}).get("pledgee_consent")
    return consent if isinstance(consent, dict) else None


def split_payment(account: Account | None, payment) -> Decimal:
    """The buyer's payment, bank first: to the pledgee up to the outstanding amount it declared (less what it
    already received from this disposal), the rest to the holder. Returns the holder's share (the whole payment
    when the listing is no disposal)."""
    contract = payment.item.contract
    disposal = disposal_of(contract.listing)
    if disposal is None:
        return payment.amount
    application = disposal.application
    received = sum((p.amount for p in application.proceeds if p.recipient == "bank"), Decimal(0))
    to_bank = min(payment.amount, max(application.outstanding - received, Decimal(0)))
    to_holder = payment.amount - to_bank
    right = application.right
    index = record("pledge", [{"type": "right", "id": right.number}, {"type": "listing", "id": contract.listing.number},
                              {"type": "contract", "id": contract.number}], {
        "action": "disposal_proceeds", "right": right.number, "listing": contract.listing.number,
        "payment_entry": payment.ledger_index, "amount": str(payment.amount), "to_pledgee": str(to_bank),
        "to_holder": str(to_holder), "pledgee": application.bank.name, "outstanding": str(application.outstanding),
        "pledgee_received": str(received + to_bank)}, by=_by(account) if account is not None else None)
    for recipient, amount in (("bank", to_bank), ("holder", to_holder)):
        if amount > 0:
            db.session.add(DisposalProceeds(application=application, listing_id=contract.listing.id,
                                            payment_id=payment.id, recipient=recipient, amount=amount,
                                            paid_on=payment.paid_on, ledger_index=index))
    db.session.flush()
    return to_holder


def discharge(account: Account, listing) -> int | None:
    """The disposal's transfer is registered: the pledge is released (处置清偿) and the application is disposed."""
    disposal = disposal_of(listing)
    if disposal is None:
        return None
    application = disposal.application
    encumbrance = application.encumbrance
    index = None
    if encumbrance is not None and encumbrance.released_at is None:
        received = sum((p.amount for p in application.proceeds if p.recipient == "bank"), Decimal(0))
        index = registry.release_pledge(encumbrance, f"{DISCHARGE_REASON}：处置挂牌 {listing.number} 成交登记，"
                                                     f"抵押权人受偿 {received} 元")
    if application.step == CollateralStep.disposal_requested:
        db.session.add(CollateralEvent(application=application, step=CollateralStep.disposed, account=account.username,
                                       note=f"{DISCHARGE_REASON}（{listing.number}）", ledger_index=index))
        db.session.flush()
    return index


def summary(application: CollateralApplication) -> dict:
    """What the bank's dashboard and the application's page show of a disposal: the listings and the money."""
    bank = sum((p.amount for p in application.proceeds if p.recipient == "bank"), Decimal(0))
    holder = sum((p.amount for p in application.proceeds if p.recipient == "holder"), Decimal(0))
    listings = [d.listing for d in application.disposal_listings]
    return {"outstanding": application.outstanding, "bank_received": bank, "holder_received": holder,
            "still_owed": max((application.outstanding or Decimal(0)) - bank, Decimal(0)),
            "listings": listings, "current": listings[-1] if listings else None}
