"""The contract step: drafted from the standard template of ``contracts/`` when the objection window closes,
reviewed (and corrected where unlawful) by the township, accepted by each party's account — each acceptance and
the signed PDF's hash go to the ledger — and then paid against its rent schedule."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app

import contracts
from exchange.accounts.models import Account, Role
from exchange.db import db
from exchange.errors import DomainError
from exchange.registry.models import Collective, Household
from exchange.transfers.models import Contract, ContractSignature, ContractState, Listing, ListingState, ScheduleItem
from exchange.transfers.operations import _listing_checks, _next_number, _refuse_if, _step, expect_version, lock

PARTIES = ("transferor", "transferee")


def _holder_party(holder, address: str = "") -> dict:
    """A party as the contract names it: the registered name (the contracting household by its head) and its
    address; a household is identified by its contractor code (承包方编码), never by a resident ID."""
    if isinstance(holder, Household):
        return {"kind": "household", "name": holder.head_name, "id_masked": holder.code,
                "address": address or holder.address or holder.division.full_name}
    if isinstance(holder, Collective):
        return {"kind": "collective", "name": holder.name, "id_masked": holder.credit_code or "",
                "address": address or holder.division.full_name}
    return {"kind": "organisation", "name": holder.name, "id_masked": holder.credit_code, "address": address}


def draft_input(listing: Listing) -> dict:
    """The standard terms for an awarded listing, in the shape ``contracts.TermsSchema`` loads."""
    right = listing.right
    asset = right.parcel or right.homestead or right.asset
    source = right.holders[0].holder
    winner = listing.winner.profile
    area = getattr(asset, "area_m2", None) or listing.area_m2
    location = getattr(asset, "division", None).full_name if getattr(asset, "division", None) else ""
    return {
        "kind": listing.kind,
        "mode": listing.mode,
        "right_number": right.number,
        "transferor": _holder_party(source),
        "transferee": _holder_party(winner.household or winner.organisation, winner.address),
        "issuer": listing.collective.name,
        "asset": {"code": asset.code, "name": getattr(asset, "name", None) or asset.code, "location": location,
                  "area_m2": str(area) if area is not None else None,
                  "quality_grade": (getattr(asset, "quality_grade", None) or "").strip() or "按确权登记",
                  "land_use": getattr(asset, "land_use", None) or "",
                  "boundaries": getattr(asset, "boundaries", None) or {}},
        "start": listing.start_date.isoformat(), "end": listing.end_date.isoformat(),
        "permitted_use": listing.permitted_use,
        "price_kind": "rent" if listing.price_unit == "per_year" else "lump_sum",
        "amount": str(listing.award_price),
        "payment": {"period_months": 12, "first_due": listing.start_date.isoformat()},
        "deposit_applied": str(listing.winner.deposit_amount),
    }


def terms_of(contract: Contract):
    return contracts.TermsSchema().load(contract.terms)


def _fix(contract: Contract, terms) -> None:
    """Store the terms, their digest and the schedule they produce."""
    contract.terms = terms.to_json()
    contract.digest = contracts.contract_digest(terms, contract.number)
    contract.start_date, contract.end_date = terms.start, terms.end
    for item in list(contract.schedule):
        db.session.delete(item)
    db.session.flush()
    contract.schedule = [
        ScheduleItem(number=i.number, period_start=i.period_start, period_end=i.period_end, due=i.due,
                     amount=i.amount, in_kind_kg=i.in_kind_kg)
        for i in contracts.rent_schedule(terms)]


def draft_contract(listing: Listing) -> Contract:
    """The standard contract for the award; refused (the listing stays awarded) when the right is no longer clear
    — frozen or encumbered since the notice — or the terms break a rule."""
    _refuse_if(_listing_checks(listing))
    terms = contracts.TermsSchema().load(draft_input(listing))
    contracts.enforce(terms, listing.right, transferee=listing.winner.profile.household or listing.winner.profile.organisation)
    contract = Contract(listing=listing, number=_next_number("HT", Contract, Contract.number), kind=listing.kind,
                        terms={}, digest="", state=ContractState.draft, division=listing.division,
                        start_date=listing.start_date, end_date=listing.end_date)
    db.session.add(contract)
    _fix(contract, terms)
    db.session.flush()
    _step(listing, None, "contract_drafted", {"contract": contract.number, "digest": contract.digest,
                                              "kind": contract.kind})
    return contract


def review_contract(account: Account, contract: Contract, version: int, changes: dict | None = None) -> Contract:
    """The township reviews the terms; changed terms are checked again and get a new digest."""
    listing = lock(contract.listing_id)
    expect_version(listing, version)
    if listing.state != ListingState.contracting or contract.state == ContractState.signed:
        raise DomainError("CONTRACT-STATE", "合同已签订或项目不在签约阶段，不能再审查修改。",
                          "The contract is signed or the listing is not at the contract step.", field="contract",
                          status=409)
    data = dict(contract.terms)
    for key, value in (changes or {}).items():
        if key in ("kind", "transferor", "transferee", "amount", "price_kind"):
            raise DomainError("CONTRACT-FIXED", f"“{key}”由成交结果决定，审查时不能修改。",
                              f"'{key}' comes from the award and cannot be changed at review.", field=key)
        data[key] = value
    terms = contracts.TermsSchema().load(data)
    contracts.enforce(terms, listing.right, transferee=listing.winner.profile.household or listing.winner.profile.organisation)
    changed = sorted(k for k in (changes or {}) if contract.terms.get(k) != terms.to_json().get(k))
    _fix(contract, terms)
    contract.state = ContractState.reviewed
    for signature in list(contract.signatures):  # a changed text must be accepted again
        db.session.delete(signature)
    db.session.flush()
    _step(listing, account, "contract_reviewed", {"contract": contract.number, "digest": contract.digest,
                                                  "changed": changed})
    return contract


def may_sign(account: Account, contract: Contract, party: str) -> bool:
    listing = contract.listing
    if party == "transferee":
        return listing.winner is not None and listing.winner.account_id == account.id
    return account.role == Role.village and account.division is not None and account.division.contains(listing.division)


def sign_contract(account: Account, contract: Contract, version: int, party: str, digest: str) -> ContractSignature:
    listing = lock(contract.listing_id)
    expect_version(listing, version)
    if party not in PARTIES:
        raise DomainError("CONTRACT-PARTY", "签约方应为 transferor（出让方，由村集体代为确认）或 transferee（受让方）。",
                          "Party is transferor (confirmed by the village) or transferee.", field="party")
    if contract.state != ContractState.reviewed or listing.state != ListingState.contracting:
        raise DomainError("CONTRACT-STATE", "合同须经乡镇审查后才能签订。", "The township reviews the contract before signing.",
                          field="contract", status=409)
    if not may_sign(account, contract, party):
        raise DomainError("CONTRACT-SIGNER", "您不是该合同这一方的签约账户。", "You do not sign for this party.",
                          field="party", status=403)
    if digest != contract.digest:
        raise DomainError("CONTRACT-DIGEST", "您确认的合同文本已被修改（摘要不符），请重新阅读后再签。",
                          "The contract text changed since you read it (digest mismatch); read it again and sign.",
                          field="digest", status=409)
    if any(s.party == party for s in contract.signatures):
        raise DomainError("CONTRACT-SIGNED", "这一方已签订。", "This party has already signed.", field="party", status=409)
    index = _step(listing, account, "contract_accepted", {"contract": contract.number, "party": party,
                                                          "digest": digest})
    signature = ContractSignature(contract=contract, party=party, account=account.username, digest=digest,
                                  ledger_index=index)
    db.session.add(signature)
    db.session.flush()
    if {s.party for s in contract.signatures} == set(PARTIES):
        pdf = contract_pdf(contract)
        contract.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        contract.state, listing.state = ContractState.signed, ListingState.signed
        _store(contract, pdf)
        _step(listing, None, "contract_signed", {"contract": contract.number, "digest": contract.digest,
                                                 "pdf_sha256": contract.pdf_sha256})
    return signature


def contract_pdf(contract: Contract) -> bytes:
    if contract.state == ContractState.signed and contract.pdf_sha256:
        path = contract_path(contract)
        if path.exists():
            return path.read_bytes()
    signatures = [{"party": s.party, "account": s.account, "at": s.created_at, "digest": s.digest}
                  for s in contract.signatures]
    return contracts.contract_pdf(terms_of(contract), number=contract.number, signatures=signatures)


def contract_path(contract: Contract) -> Path:
    return Path(current_app.instance_path) / "contracts" / f"{contract.number}.pdf"


def _store(contract: Contract, pdf: bytes) -> None:
    path = contract_path(contract)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)

