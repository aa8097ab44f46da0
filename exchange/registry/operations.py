"""Registry operations (one function each). They check the rules, change rows, write the ledger entry in the
same transaction and flush; the caller (a view or CLI command) commits once.

Rights are never edited in place: a transfer derives a new right, a correction supersedes one, and an
end (transfer of the whole right, expiry, correction) is recorded once in ``ended_at``.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app.service import actor, record
from exchange.registry import rules
from exchange.registry.models import (
    Collective, CollectiveAsset, Encumbrance, Freeze, Homestead, HolderType, Household, Organisation, Parcel,
    Person, RegistryEvent, Right, RightHolder, RightType,
)

NUMBER_PREFIX = {
    RightType.ownership: "SY", RightType.contract: "CB", RightType.management: "JY", RightType.qualification: "ZG",
    RightType.homestead_use: "ZJ", RightType.construction_use: "JS", RightType.lease: "ZL", RightType.shares: "GF",
}
ASSET_SUBJECT = {Parcel: "parcel", Homestead: "homestead", CollectiveAsset: "collective_asset"}
LEASABLE = (RightType.homestead_use, RightType.construction_use)  # what lease_use_right leases


def _now() -> datetime:
    return datetime.now(timezone.utc)


def holder_ref(holder) -> dict[str, Any]:
    """How an entry names a holder: codes for households, organisations and collectives, a keyed hash for a person."""
    if isinstance(holder, Household):
        return {"type": "household", "id": holder.code}
    if isinstance(holder, Organisation):
        return {"type": "organisation", "id": holder.credit_code, "name": holder.name}
    if isinstance(holder, Collective):
        return {"type": "collective", "id": holder.credit_code, "name": holder.name}
    if isinstance(holder, Person):
        return {"type": "person", "id_hash": holder.id_number_hash, "id_masked": holder.id_number_masked}
    raise TypeError(f"not a holder: {holder!r}")


def _holder_row(holder, share: Decimal) -> RightHolder:
    kind = {Household: HolderType.household, Organisation: HolderType.organisation,
            Collective: HolderType.collective, Person: HolderType.person}[type(holder)]
    return RightHolder(holder_type=kind, share=share, **{f"{kind.value}": holder})


def _asset_fields(asset) -> dict:
    return {{Parcel: "parcel", Homestead: "homestead", CollectiveAsset: "asset"}[type(asset)]: asset}


def _subject(asset) -> dict[str, str]:
    return subject(type(asset), asset.code)


def subject(model: type, code: str) -> dict[str, str]:
    """How an entry names an asset: its kind and its code."""
    return {"type": ASSET_SUBJECT[model], "id": code}


def _asset_division(asset):
    return asset.division


def _session_cache(name: str) -> dict:
    """Per-session memo of what this unit of work created, so bulk imports need not flush per right."""
    return db.session.info.setdefault(name, {})


def _column(asset):
    return {Parcel: Right.parcel_id, Homestead: Right.homestead_id, CollectiveAsset: Right.asset_id}[type(asset)]


def _next_number(right_type: RightType, asset) -> str:
    counts = _session_cache("right_counts")
    key = (right_type, ASSET_SUBJECT[type(asset)], asset.code)
    if key not in counts:
        counts[key] = 0
        if asset.id is not None:
            with db.session.no_autoflush:
                counts[key] = db.session.scalar(select(func.count()).select_from(Right).where(
                    _column(asset) == asset.id, Right.right_type == right_type))
    counts[key] += 1
    return right_number(right_type, asset.code, counts[key])


def right_number(right_type: RightType, asset_code: str, nth: int) -> str:
    """权利编号: the type's prefix, the asset's code and the count of rights of that type over the asset."""
    return f"{NUMBER_PREFIX[right_type]}{asset_code}-{nth:03d}"


def _event(kind: str, action: str, asset, right: Right | None, index: int, summary: dict) -> RegistryEvent:
    event = RegistryEvent(kind=kind, action=action, right=right, ledger_index=index,
                          account=actor().get("account"), summary=summary, **_asset_fields(asset))
    db.session.add(event)
    return event


def right_entry_data(number: str, right_type: RightType, holders: list[tuple[dict, Decimal]], *,
                     start: date | None = None, end: date | None = None, mode: str | None = None,
                     use: str | None = None, derived_from: str | None = None, terms: dict | None = None) -> dict:
    """What an entry records about a new right; ``holders`` are (holder_ref, share) pairs. The bulk writer
    (registry/bulk.py) builds its entries with this too, so both paths record rights alike."""
    return {
        "right": number, "right_type": right_type.value,
        "holders": [{**ref, "share": str(share)} for ref, share in holders],
        "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
        "mode": mode, "use": use, "derived_from": derived_from, "terms": terms or {},
    }


def _right_data(right: Right) -> dict[str, Any]:
    return right_entry_data(right.number, right.right_type, [(holder_ref(h.holder), h.share) for h in right.holders],
                            start=right.start_date, end=right.end_date, mode=right.mode, use=right.permitted_use,
                            derived_from=right.derived_from.number if right.derived_from else None,
                            terms=right.terms)


def _create_right(right_type: RightType, asset, holders: list[tuple[Any, Decimal]], *, kind: str, action: str,
                  start: date | None = None, end: date | None = None, derived_from: Right | None = None,
                  mode: str | None = None, use: str | None = None, terms: dict | None = None,
                  disputed: bool = False, supersedes: Right | None = None, extra: dict | None = None) -> Right:
    if supersedes is not None and supersedes.id is None:
        db.session.flush()  # the right corrected was made in this unit of work: it needs its id to be pointed at
    right = Right(right_type=right_type, number=_next_number(right_type, asset), start_date=start, end_date=end,
                  derived_from=derived_from, supersedes_id=supersedes.id if supersedes else None, mode=mode,
                  permitted_use=use, terms=terms or {}, disputed=disputed, division=asset.division,
                  collective=asset.collective, ledger_index=-1, **_asset_fields(asset))
    right.holders = [_holder_row(h, Decimal(s)) for h, s in holders]
    db.session.add(right)
    _session_cache("active_rights")[(ASSET_SUBJECT[type(asset)], asset.code, right_type)] = right
    _session_cache("rights_of_asset").setdefault((ASSET_SUBJECT[type(asset)], asset.code), []).append(right)
    data = {"action": action, **_right_data(right), **(extra or {})}
    subjects = [_subject(asset), {"type": "right", "id": right.number}]
    index = record(kind, subjects, data)
    right.ledger_index = index
    _event(kind, action, asset, right, index, {"right": right.number, **(extra or {})})
    return right


def _end(right: Right, reason: str) -> None:
    right.ended_at, right.end_reason = _now(), reason
    cache = _session_cache("active_rights")
    key = (*right.subject, right.right_type)
    if cache.get(key) is right:
        del cache[key]


def check_term(start: date | None, end: date | None, field: str = "end_date") -> None:
    if start and end and end <= start:
        raise DomainError("TERM-ORDER", f"终止日期 {end} 应晚于起始日期 {start}。",
                          f"The end date {end} must be after the start date {start}.", field=field)


def _shares(holders: list[tuple[Any, Decimal]]) -> list[Decimal]:
    return [Decimal(s) for _, s in holders]


# --- assets and the rights that come with them -----------------------------------------------------------


def register_asset(asset: Parcel | Homestead | CollectiveAsset, *, data: dict | None = None,
                   disputed: bool = False) -> Right:
    """Record an asset and the collective's ownership of it (确权登记)."""
    db.session.add(asset)
    return _create_right(RightType.ownership, asset, [(asset.collective, Decimal(1))], kind="registration",
                         action="register_asset", disputed=disputed, extra={"asset": data or {}})


def grant_contract_right(parcel: Parcel, holders: list[tuple[Household, Decimal]], start: date, end: date, *,
                         contract_number: str, resolution: dict | None = None,
                         township_approval: str | None = None) -> Right:
    """发包: the collective contracts a parcel to a household (承包权)."""
    check_term(start, end)
    rules.enforce(rules.Proposal("grant_contract_right", asset=parcel, transferee=holders[0][0],
                                 start_date=start, end_date=end, resolution=resolution,
                                 township_approval=township_approval, shares=_shares(holders)))
    ownership = _active(parcel, RightType.ownership)
    return _create_right(RightType.contract, parcel, holders, kind="registration", action="grant_contract_right",
                         start=start, end=end, derived_from=ownership, mode="发包",
                         terms={"contract_number": contract_number,
                                **({"resolution": resolution} if resolution else {})})


def transfer_management_right(source: Right, transferee, start: date, end: date, *, mode: str,
                              permitted_use: str, contract: dict, price: str, consents: dict | None = None,
                              applicant=None, county_review: str | None = None, register: bool = True) -> Right:
    """Split a management right (土地经营权) off a contract right, or re-transfer a management right."""
    if source.right_type not in (RightType.contract, RightType.management):
        raise DomainError("RIGHT-TYPE", "只能从承包权分离或再流转土地经营权。",
                          "A management right comes from a contract right or another management right.", field="right")
    check_term(start, end)
    consents = consents or {}
    rules.enforce(rules.Proposal(
        "transfer_management", source=source, asset=source.parcel, applicant=applicant, transferee=transferee,
        start_date=start, end_date=end, mode=mode, permitted_use=permitted_use, contract=contract,
        consents=consents, county_review=county_review, register=register, area_m2=source.parcel.area_m2))
    right = _create_right(
        RightType.management, source.parcel, [(transferee, Decimal(1))], kind="transfer",
        action="transfer_management", start=start, end=end, derived_from=source, mode=mode, use=permitted_use,
        terms={"price": price, "contract": contract, "consents": consents, "registered": register,
               **({"county_review": county_review} if county_review else {})})
    if source.right_type == RightType.management and mode == "转让":
        _end(source, "transferred")
    return right


def allocate_homestead(homestead: Homestead, household: Household) -> tuple[Right, Right]:
    """Allocate a homestead: the household's qualification right (资格权) and use right (使用权)."""
    persons = len(household.members)
    rules.enforce(rules.Proposal("allocate_homestead", asset=homestead, transferee=household,
                                 area_m2=homestead.area_m2, household_persons=persons))
    ownership = _active(homestead, RightType.ownership)
    qualification = _create_right(RightType.qualification, homestead, [(household, Decimal(1))],
                                  kind="registration", action="allocate_homestead", derived_from=ownership,
                                  mode="分配")
    use = _create_right(RightType.homestead_use, homestead, [(household, Decimal(1))], kind="registration",
                        action="allocate_homestead", derived_from=qualification, mode="分配",
                        terms={"house_floor_area_m2": str(homestead.house_floor_area_m2 or ""),
                               "structure": homestead.house_structure})
    return qualification, use


def lease_use_right(source: Right, lessee, start: date, end: date, *, mode: str, rent: str, applicant=None,
                    consents: dict | None = None, use: str | None = None) -> Right:
    """Lease (or contribute in co-operation) a homestead's use right and house, or lease a construction-land use right."""
    if source.right_type not in LEASABLE:
        name_zh, name_en = rules.RIGHT_NAMES[source.right_type]
        raise DomainError("RIGHT-TYPE", f"出租或合作利用的应为宅基地使用权或集体经营性建设用地使用权，该权利为{name_zh}"
                                        "（承包地经营权的流转和集体资产的出租另有办理程序）。",
                          f"Only a homestead use right or a construction-land use right is leased this way; this is a "
                          f"{name_en} (contract land is transferred as a management right, a collective asset is "
                          "leased by the collective's resolution).", field="right")
    check_term(start, end)
    asset = source.homestead or source.asset
    rules.enforce(rules.Proposal("lease_use", source=source, asset=asset, applicant=applicant, transferee=lessee,
                                 start_date=start, end_date=end, mode=mode, consents=consents or {}))
    return _create_right(RightType.lease, asset, [(lessee, Decimal(1))], kind="transfer", action="lease_use",
                         start=start, end=end, derived_from=source, mode=mode, use=use,
                         terms={"rent": rent, "consents": consents or {}})


def grant_construction_use(asset: CollectiveAsset, grantee, start: date, end: date, *, mode: str, price: str,
                           resolution: dict | None, use: str | None = None) -> Right:
    """出让/出租 of collective operating construction land (集体经营性建设用地使用权)."""
    check_term(start, end)
    ownership = _active(asset, RightType.ownership)
    rules.enforce(rules.Proposal("grant_construction_use", source=ownership, asset=asset, transferee=grantee,
                                 start_date=start, end_date=end, mode=mode, resolution=resolution))
    return _create_right(RightType.construction_use, asset, [(grantee, Decimal(1))], kind="transfer",
                         action="grant_construction_use", start=start, end=end, derived_from=ownership, mode=mode,
                         use=use or (asset.details or {}).get("planned_use"),
                         terms={"price": price, "resolution": resolution})


def lease_collective_asset(asset: CollectiveAsset, lessee, start: date, end: date, *, rent: str,
                           resolution: dict | None, use: str | None = None) -> Right:
    """出租 of a collective operating asset (an idle school, a warehouse …)."""
    check_term(start, end)
    ownership = _active(asset, RightType.ownership)
    rules.enforce(rules.Proposal("lease_asset", source=ownership, asset=asset, transferee=lessee,
                                 start_date=start, end_date=end, mode="出租", resolution=resolution))
    return _create_right(RightType.lease, asset, [(lessee, Decimal(1))], kind="transfer", action="lease_asset",
                         start=start, end=end, derived_from=ownership, mode="出租", use=use,
                         terms={"rent": rent, "resolution": resolution})


# --- encumbrances and freezes ----------------------------------------------------------------------------


def _asset_of(right: Right):
    return right.parcel or right.homestead or right.asset


def pledge(right: Right, pledgee: Organisation, amount: Decimal, start: date, end: date, *,
           contract_number: str, applicant=None, consents: dict | None = None) -> Encumbrance:
    """Register a pledge (抵押登记) of a right to a bank."""
    check_term(start, end)
    if Decimal(amount) <= 0:
        raise DomainError("AMOUNT", "担保金额应大于 0。", "The secured amount must be more than 0.", field="amount")
    rules.enforce(rules.Proposal("pledge", source=right, asset=_asset_of(right), applicant=applicant,
                                 transferee=pledgee, start_date=start, end_date=end, consents=consents or {}))
    encumbrance = Encumbrance(right=right, pledgee=pledgee, amount=Decimal(amount), start_date=start, end_date=end,
                              contract_number=contract_number, ledger_index=-1)
    db.session.add(encumbrance)
    db.session.flush()
    data = {"action": "pledge", "right": right.number, "pledgee": holder_ref(pledgee), "amount": str(amount),
            "start": start.isoformat(), "end": end.isoformat(), "contract_number": contract_number,
            "encumbrance": encumbrance.id}
    encumbrance.ledger_index = record("pledge", [_subject(_asset_of(right)), {"type": "right", "id": right.number}],
                                      data)
    _event("pledge", "pledge", _asset_of(right), right, encumbrance.ledger_index,
           {"pledgee": pledgee.name, "amount": str(amount)})
    return encumbrance


def release_pledge(encumbrance: Encumbrance, reason: str) -> int:
    """解押: the bank releases its pledge."""
    if encumbrance.released_at is not None:
        raise DomainError("ALREADY-RELEASED", "该抵押已解除。", "This pledge has already been released.",
                          field="encumbrance", status=409)
    encumbrance.released_at = _now()
    right = encumbrance.right
    index = record("release", [_subject(_asset_of(right)), {"type": "right", "id": right.number}],
                   {"action": "release", "right": right.number, "encumbrance": encumbrance.id,
                    "pledge_entry": encumbrance.ledger_index, "reason": reason})
    _event("release", "release_pledge", _asset_of(right), right, index, {"pledgee": encumbrance.pledgee.name})
    return index


def freeze(right: Right, authority: str, document_number: str, reason: str) -> Freeze:
    """查封 by a court or authority; a frozen right is not transferred or pledged."""
    for name, value in (("authority", authority), ("document_number", document_number), ("reason", reason)):
        if not (value or "").strip():
            raise DomainError("REQUIRED", f"查封须填写{ {'authority': '机关', 'document_number': '文书编号', 'reason': '原因'}[name] }。",
                              f"A freeze needs its {name.replace('_', ' ')}.", field=name)
    item = Freeze(right=right, authority=authority, document_number=document_number, reason=reason, ledger_index=-1)
    db.session.add(item)
    db.session.flush()
    item.ledger_index = record("freeze", [_subject(_asset_of(right)), {"type": "right", "id": right.number}],
                               {"action": "freeze", "right": right.number, "authority": authority,
                                "document_number": document_number, "reason": reason, "freeze": item.id})
    _event("freeze", "freeze", _asset_of(right), right, item.ledger_index, {"authority": authority})
    return item


def unfreeze(item: Freeze, document_number: str) -> int:
    """解封."""
    if item.lifted_at is not None:
        raise DomainError("ALREADY-LIFTED", "该查封已解除。", "This freeze has already been lifted.",
                          field="freeze", status=409)
    item.lifted_at = _now()
    right = item.right
    index = record("unfreeze", [_subject(_asset_of(right)), {"type": "right", "id": right.number}],
                   {"action": "unfreeze", "right": right.number, "freeze": item.id,
                    "freeze_entry": item.ledger_index, "document_number": document_number})
    _event("unfreeze", "unfreeze", _asset_of(right), right, index, {"authority": item.authority})
    return index


# --- expiry and corrections --------------------------------------------------------------------------------


def expire_rights(as_of: date) -> list[Right]:
    """End every active right whose term ran out before ``as_of`` (到期)."""
    due = db.session.scalars(select(Right).where(Right.ended_at.is_(None), Right.end_date.is_not(None),
                                                 Right.end_date < as_of).order_by(Right.id)).all()
    for right in due:
        _end(right, "expired")
        index = record("expiry", [_subject(_asset_of(right)), {"type": "right", "id": right.number}],
                       {"action": "expire", "right": right.number, "end": right.end_date.isoformat()})
        _event("expiry", "expire", _asset_of(right), right, index, {"end": right.end_date.isoformat()})
    return list(due)


CORRECTABLE = {"start_date", "end_date", "permitted_use", "mode", "holders"}


def correct_registration(right: Right, changes: dict, reason: str) -> Right:
    """更正登记: a new right that supersedes ``right`` with the corrected facts; the old one ends."""
    if not (reason or "").strip():
        raise DomainError("REASON-REQUIRED", "更正登记须说明原因。", "A correction needs a reason.", field="reason")
    unknown = set(changes) - CORRECTABLE
    if unknown:
        raise DomainError("NOT-CORRECTABLE", f"不能更正的字段：{'、'.join(sorted(unknown))}（可更正：{'、'.join(sorted(CORRECTABLE))}）。",
                          f"Fields that cannot be corrected: {', '.join(sorted(unknown))} "
                          f"(accepted: {', '.join(sorted(CORRECTABLE))}).", field=sorted(unknown)[0])
    if not right.active:
        raise DomainError("RIGHT-ENDED", "已终止的权利不能更正。", "A right that has ended cannot be corrected.",
                          field="right", status=409)
    holders = changes.get("holders") or [(h.holder, h.share) for h in right.holders]
    rules.enforce(rules.Proposal("register_asset", shares=_shares(holders)))
    start, end = changes.get("start_date", right.start_date), changes.get("end_date", right.end_date)
    check_term(start, end)
    # A correction fixes the record, not the burdens on the right: its pledges and freezes stay in force, on the
    # right that supersedes it (the entry names them, with the entries that registered them).
    pledges, freezes = right.active_pledges(), right.active_freezes()
    extra = {"supersedes": right.number, "reason": reason}
    if pledges:
        extra["pledges"] = [{"encumbrance": e.id, "pledge_entry": e.ledger_index} for e in pledges]
    if freezes:
        extra["freezes"] = [{"freeze": f.id, "freeze_entry": f.ledger_index} for f in freezes]
    _end(right, "corrected")
    new = _create_right(right.right_type, _asset_of(right), holders, kind="correction", action="correct",
                        start=start, end=end, derived_from=right.derived_from,
                        mode=changes.get("mode", right.mode), use=changes.get("permitted_use", right.permitted_use),
                        terms=right.terms, disputed=right.disputed, supersedes=right, extra=extra)
    for burden in (*pledges, *freezes):
        burden.right = new
    return new


def _active(asset, right_type: RightType) -> Right | None:
    cached = _session_cache("active_rights").get((ASSET_SUBJECT[type(asset)], asset.code, right_type))
    if cached is not None and cached.ended_at is None:
        return cached
    column = _column(asset)
    return db.session.scalar(select(Right).where(column == asset.id, Right.right_type == right_type,
                                                 Right.ended_at.is_(None)).order_by(Right.id.desc()).limit(1))


def rights_over(asset, types) -> list[Right]:
    """The active rights of ``types`` over ``asset``, those made in this unit of work and not yet flushed included
    (without flushing: a bulk import registers thousands of parcels and their contracts before it flushes)."""
    made = [r for r in _session_cache("rights_of_asset").get((ASSET_SUBJECT[type(asset)], asset.code), ())
            if r.right_type in types and r in db.session]  # not rolled back since
    found = []
    if asset.id is not None:
        with db.session.no_autoflush:
            found = db.session.scalars(select(Right).where(_column(asset) == asset.id, Right.right_type.in_(list(types)),
                                                           Right.ended_at.is_(None)).order_by(Right.id)).all()
    return [r for r in dict.fromkeys([*found, *made]) if r.ended_at is None]  # ended in this unit of work: gone


def active_rights(asset) -> list[Right]:
    column = {Parcel: Right.parcel_id, Homestead: Right.homestead_id, CollectiveAsset: Right.asset_id}[type(asset)]
    return list(db.session.scalars(select(Right).where(column == asset.id, Right.ended_at.is_(None))
                                   .order_by(Right.id)))
