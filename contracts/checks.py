"""Are the terms lawful for the right they are drawn on? The registry's own rules, plus the contract's.

``check`` builds the registry ``Proposal`` of the kind's action from the terms and keeps the rules that can be
judged from the terms (term limits, use, the written form, the mode); consents, resolutions, freezes and pledges
are the workflow's to check when it acts. The contract's own rules (CONTRACT-*) follow the same shape: a code,
where it comes from, a message in Chinese and English, and the field of the terms it is about.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from contracts.kinds import CONSTRUCTION_LAND, KINDS
from contracts.schedule import yearly_rent
from contracts.terms import ContractTerms
from contracts.text import describe_area, describe_payment, describe_price, describe_term, describe_use, party_line
from exchange.registry.models import AssetClass, CollectiveAsset, Homestead, Parcel, Right, RightType
from exchange.registry.rules import ART40_FIELDS, Proposal, RuleViolations, Violation, evaluate

# The registry rules a contract's terms can settle by themselves; the others need documents or live state.
TERMS_RULES = frozenset({"LAND-AGRI-USE", "LAND-TERM", "LAND-WRITTEN", "LEASE-20Y", "HOMESTEAD-NO-SALE"})
# Where the registry's fields live in the terms.
TERMS_FIELD = {"end_date": "end", "start_date": "start", "permitted_use": "permitted_use", "mode": "mode"}
CITE_CONTRACT = "民法典 第470条"


def _violation(code: str, citation: str, zh: str, en: str, field: str) -> Violation:
    return Violation(code, citation, zh, en, field)


# --- 农村土地承包法 Art 40 ---------------------------------------------------------------------------------


def _art40_items(terms: ContractTerms) -> dict[str, tuple[str, str | None]]:
    """Each Art 40 item: (its text, or "" when the terms lack part of it; the first missing field of the terms)."""
    kind = KINDS[terms.kind]
    first, second = terms.transferor, terms.transferee
    asset = terms.asset
    items: dict[str, tuple[str, str | None]] = {}
    missing = next((f for f, v in (("transferor.name", first.name), ("transferor.address", first.address),
                                   ("transferee.name", second.name), ("transferee.address", second.address))
                    if not v.strip()), None)
    items["parties"] = ("" if missing else f"{party_line(kind.party_labels[0], first)}；"
                                           f"{party_line(kind.party_labels[1], second)}", missing)
    missing = next((f for f, v in (("asset.name", asset.name), ("asset.location", asset.location),
                                   ("asset.area_m2", asset.area_m2), ("asset.quality_grade", asset.quality_grade))
                    if v is None or not str(v).strip()), None)
    items["parcel"] = ("" if missing else f"{asset.name}（编码 {asset.code}），坐落于{asset.location}，"
                                          f"{describe_area(asset)}，质量等级：{asset.quality_grade}", missing)
    items["term"] = (describe_term(terms), None)
    items["use"] = (describe_use(terms), None) if terms.permitted_use.strip() else ("", "permitted_use")
    for key, name in (("rights_duties", "rights_and_duties"), ("expropriation", "expropriation"),
                      ("liability", "liability")):
        text = getattr(terms, name).strip()
        items[key] = (text, None if text else name)
    items["price_payment"] = (f"{describe_price(terms)}；{describe_payment(terms)}", None)
    return items


def art40(terms: ContractTerms) -> dict[str, str]:
    """The registry's ``contract`` dict (keys of ``ART40_FIELDS``) for ``transfer_management_right``: each item
    the terms contain, as text; an item the terms lack is left out, so LAND-WRITTEN names it."""
    items = _art40_items(terms)
    return {key: items[key][0] for key in ART40_FIELDS if items[key][0]}


def _art40_field(terms: ContractTerms) -> str:
    items = _art40_items(terms)
    return next((items[key][1] for key in ART40_FIELDS if not items[key][0]), "contract")


# --- checks -----------------------------------------------------------------------------------------------


def terms_violations(terms: ContractTerms) -> list[Violation]:
    """The checks that need nothing but the terms: dates in order, a positive price, a due date in the term."""
    found = []
    if terms.end <= terms.start:
        found.append(_violation("CONTRACT-DATES", CITE_CONTRACT,
                                f"终止日期 {terms.end} 应晚于起始日期 {terms.start}。",
                                f"The end date {terms.end} must be after the start date {terms.start}.", "end"))
    in_kind = terms.payment.in_kind
    in_kind_bad = False
    if in_kind is not None:  # the amount is derived from these
        for name, value, label_zh, label_en in (
                ("kg_per_mu", in_kind.kg_per_mu, "每亩每年实物数量", "The kilograms per mu per year"),
                ("yuan_per_kg", in_kind.yuan_per_kg, "实物折价标准", "The conversion price per kg")):
            if value <= 0:
                in_kind_bad = True
                found.append(_violation("CONTRACT-PRICE", CITE_CONTRACT, f"{label_zh}应大于 0，填写的是 {value}。",
                                        f"{label_en} must be more than 0, not {value}.", f"payment.in_kind.{name}"))
    if terms.amount <= 0:
        if in_kind is None:
            found.append(_violation("CONTRACT-PRICE", CITE_CONTRACT, f"金额应大于 0 元，填写的是 {terms.amount} 元。",
                                    f"The amount must be more than 0 yuan, not {terms.amount}.", "amount"))
        elif not in_kind_bad:
            found.append(_violation("CONTRACT-PRICE", CITE_CONTRACT,
                                    f"{in_kind.kg_per_mu} 公斤按 {in_kind.yuan_per_kg} 元/公斤折价，每亩每年不足 0.01 元。",
                                    f"{in_kind.kg_per_mu} kg at {in_kind.yuan_per_kg} yuan per kg is less than 0.01 "
                                    "yuan per mu per year.", "payment.in_kind.yuan_per_kg"))
    elif terms.price_kind == "rent" and terms.rent_basis == "per_mu" and terms.asset.area_m2 is not None \
            and yearly_rent(terms) <= 0:
        found.append(_violation("CONTRACT-PRICE", CITE_CONTRACT,
                                f"按每亩 {terms.amount} 元、面积 {terms.asset.area_mu} 亩计算，年租金不足 0.01 元；"
                                "请核对面积和单价。",
                                f"At {terms.amount} yuan per mu for {terms.asset.area_mu} mu the yearly rent is less "
                                "than 0.01 yuan; check the area and the price.", "asset.area_m2"))
    if terms.payment.escalation_percent is not None and terms.payment.escalation_percent <= 0:
        found.append(_violation("CONTRACT-PRICE", CITE_CONTRACT,
                                f"租金递增比例应大于 0%，填写的是 {terms.payment.escalation_percent}%。",
                                f"The escalation must be more than 0 %, not {terms.payment.escalation_percent} %.",
                                "payment.escalation_percent"))
    due = terms.payment.first_due
    if due is not None and terms.end > terms.start and not terms.start <= due <= terms.end:
        found.append(_violation("CONTRACT-SCHEDULE", CITE_CONTRACT,
                                f"首期支付日 {due} 应在合同期限内（{terms.start} 至 {terms.end}）。",
                                f"The first due date {due} must fall within the term ({terms.start} to {terms.end}).",
                                "payment.first_due"))
    return found


def enforce_terms(terms: ContractTerms) -> None:
    found = terms_violations(terms)
    if found:
        raise RuleViolations(found)


def check(terms: ContractTerms, right: Right | None, *, transferee=None, today: date | None = None) -> list[Violation]:
    """Every reason the contract cannot be signed as drafted for ``right`` (empty when it can).

    ``right`` is the right the contract is drawn on: the household's contract or management right for a land
    transfer, the homestead use right, the collective's ownership of a construction plot or asset, the pledged
    right; None for a share transfer. ``transferee`` (a registry Household or Organisation), when given, must
    be the party the terms name.
    """
    today = today or date.today()
    kind = KINDS[terms.kind]
    found: list[Violation] = []
    right_ok = _right_violations(terms, right, transferee, found)
    if right_ok and kind.registry_action:
        for v in evaluate(_proposal(terms, right, transferee, today)):
            if v.code in TERMS_RULES:
                field = _art40_field(terms) if v.code == "LAND-WRITTEN" else TERMS_FIELD.get(v.field, v.field)
                found.append(replace(v, field=field))
    if terms.mode not in kind.modes and not any(v.field == "mode" for v in found):
        found.append(_violation("CONTRACT-MODE", "交易规则", f"{kind.title_zh}的方式应为：{'、'.join(kind.modes)}；"
                                f"填写的是“{terms.mode}”。", f"A {kind.title_en.lower()} is made by "
                                f"{', '.join(kind.modes)}, not '{terms.mode}'.", "mode"))
    found += terms_violations(terms)
    if terms.end > terms.start and terms.end < today:
        found.append(_violation("CONTRACT-DATES", CITE_CONTRACT, f"终止日期 {terms.end} 已过（今天是 {today}）。",
                                f"The end date {terms.end} has passed (today is {today}).", "end"))
    found += _asset_violations(terms)
    found += _clause_violations(terms)
    found += _deposit_violations(terms, found)
    return found


def enforce(terms: ContractTerms, right: Right | None, *, transferee=None, today: date | None = None) -> None:
    """``check``, refusing with ``RuleViolations`` (every failing code at once)."""
    found = check(terms, right, transferee=transferee, today=today)
    if found:
        raise RuleViolations(found)


def _asset_of(right: Right):
    return right.parcel or right.homestead or right.asset


def _proposal(terms: ContractTerms, right: Right, transferee, today: date) -> Proposal:
    kind = KINDS[terms.kind]
    asset = _asset_of(right)
    return Proposal(kind.registry_action, source=right, asset=asset, transferee=transferee, start_date=terms.start,
                    end_date=terms.end, mode=terms.mode, permitted_use=terms.permitted_use,
                    contract=art40(terms) if kind.asset == "parcel" else None,
                    area_m2=getattr(asset, "area_m2", None), today=today)


def _holder_name(holder) -> str:
    return getattr(holder, "head_name", None) or getattr(holder, "name", "")


def _right_violations(terms: ContractTerms, right: Right | None, transferee, found: list[Violation]) -> bool:
    """CONTRACT-RIGHT, -ASSET, -PARTY and -ISSUER; False when the right is not one the kind can be drawn on."""
    kind = KINDS[terms.kind]
    if right is None:
        if kind.code != "share_transfer":
            found.append(_violation("CONTRACT-RIGHT", "交易规则", f"{kind.title_zh}须指明所依据的权利。",
                                    f"A {kind.title_en.lower()} must name the right it is drawn on.", "right_number"))
        return False
    asset = _asset_of(right)
    expected = {"parcel": Parcel, "homestead": Homestead, "collective_asset": CollectiveAsset}.get(kind.asset)
    fits = right.right_type in kind.source_types and (expected is None or isinstance(asset, expected))
    if fits and isinstance(asset, CollectiveAsset):
        is_construction = asset.category == CONSTRUCTION_LAND
        fits = is_construction if kind.code.startswith("construction_") else \
            not (kind.code == "asset_lease" and (is_construction or asset.asset_class == AssetClass.non_operating))
    if not fits:
        found.append(_violation("CONTRACT-RIGHT", "交易规则",
                                f"权利 {right.number}（{_RIGHT_NAMES[right.right_type]}，{_asset_name(asset)}）"
                                f"不能订立{kind.title_zh}。",
                                f"Right {right.number} ({right.right_type.value}) cannot be the subject of a "
                                f"{kind.title_en.lower()}.", "right_number"))
        return False
    if terms.right_number and terms.right_number != right.number:
        found.append(_violation("CONTRACT-RIGHT", "交易规则",
                                f"合同载明的权利编号 {terms.right_number} 与所依据的权利 {right.number} 不符。",
                                f"The right number {terms.right_number} is not the right {right.number}.",
                                "right_number"))
    if terms.asset.code != asset.code:
        found.append(_violation("CONTRACT-ASSET", CITE_CONTRACT,
                                f"标的编码应为 {asset.code}，填写的是 {terms.asset.code}。",
                                f"The asset code is {asset.code}, not {terms.asset.code}.", "asset.code"))
    registered = getattr(asset, "area_m2", None)
    if registered is not None and terms.asset.area_m2 is not None and terms.asset.area_m2 > registered:
        found.append(_violation("CONTRACT-ASSET", CITE_CONTRACT,
                                f"面积 {terms.asset.area_m2} 平方米超过登记面积 {registered} 平方米。",
                                f"The area {terms.asset.area_m2} m² exceeds the registered {registered} m².",
                                "asset.area_m2"))
    holders = [_holder_name(h.holder) for h in right.holders]
    if terms.transferor.name not in holders:
        found.append(_violation("CONTRACT-PARTY", CITE_CONTRACT,
                                f"甲方应为权利人（{'、'.join(holders)}），填写的是“{terms.transferor.name}”。",
                                f"The transferor must be the right's holder ({', '.join(holders)}), "
                                f"not '{terms.transferor.name}'.", "transferor.name"))
    if transferee is not None and terms.transferee.name != _holder_name(transferee):
        found.append(_violation("CONTRACT-PARTY", CITE_CONTRACT,
                                f"乙方应为“{_holder_name(transferee)}”，填写的是“{terms.transferee.name}”。",
                                f"The transferee is '{_holder_name(transferee)}', not '{terms.transferee.name}'.",
                                "transferee.name"))
    if terms.issuer != right.collective.name:
        found.append(_violation("CONTRACT-ISSUER", "农村土地承包法 第36条",
                                f"发包方（集体经济组织）应为“{right.collective.name}”，填写的是“{terms.issuer}”。",
                                f"The collective is '{right.collective.name}', not '{terms.issuer}'.", "issuer"))
    return True


_RIGHT_NAMES = {
    RightType.ownership: "所有权", RightType.contract: "土地承包经营权", RightType.management: "土地经营权",
    RightType.qualification: "宅基地资格权", RightType.homestead_use: "宅基地使用权", RightType.construction_use:
    "集体经营性建设用地使用权", RightType.lease: "租赁权", RightType.shares: "集体资产股份",
}


def _asset_name(asset) -> str:
    if isinstance(asset, Parcel):
        return f"地块 {asset.code}"
    if isinstance(asset, Homestead):
        return f"宅基地 {asset.code}"
    return f"{asset.category} {asset.name}"


def _asset_violations(terms: ContractTerms) -> list[Violation]:
    asset, kind = terms.asset, KINDS[terms.kind]
    if kind.code == "share_transfer":
        if asset.shares is None or asset.shares <= 0:
            return [_violation("CONTRACT-ASSET", CITE_CONTRACT, "股份转让须写明转让的股份数（大于 0）。",
                               "A share transfer states the number of shares moved (more than 0).", "asset.shares")]
        return []
    if asset.area_m2 is None:
        if kind.asset == "parcel" or kind.code == "mortgage":
            return []  # land: LAND-WRITTEN names it; a mortgage may pledge a right whatever its area
        return [_violation("CONTRACT-ASSET", CITE_CONTRACT, "请填写标的面积（平方米）。",
                           "Give the area of the asset (m²).", "asset.area_m2")]
    if asset.area_m2 <= 0:
        return [_violation("CONTRACT-ASSET", CITE_CONTRACT, f"面积应大于 0 平方米，填写的是 {asset.area_m2}。",
                           f"The area must be more than 0 m², not {asset.area_m2}.", "asset.area_m2")]
    return []


_CLAUSE_LABELS = {"rights_and_duties": ("双方的权利和义务", "the rights and duties"),
                  "liability": ("违约责任", "the liability for breach"),
                  "dispute_resolution": ("争议解决方式", "how disputes are resolved")}


def _clause_violations(terms: ContractTerms) -> list[Violation]:
    """Clauses every contract needs (民法典 Art 470); for land, Art 40's own are LAND-WRITTEN's."""
    names = ["dispute_resolution"] if KINDS[terms.kind].asset == "parcel" else list(_CLAUSE_LABELS)
    missing = [name for name in names if not getattr(terms, name).strip()]
    if not missing:
        return []
    return [_violation("CONTRACT-CLAUSES", CITE_CONTRACT,
                       f"合同须载明{'、'.join(_CLAUSE_LABELS[n][0] for n in missing)}（可使用标准条款）。",
                       f"The contract must state {', '.join(_CLAUSE_LABELS[n][1] for n in missing)} "
                       "(the standard clause may be used).", missing[0])]


def _deposit_violations(terms: ContractTerms, found: list[Violation]) -> list[Violation]:
    deposit = terms.deposit_applied
    if deposit == 0:
        return []
    if deposit < 0:
        return [_violation("CONTRACT-DEPOSIT", "交易规则", f"保证金抵作价款的金额不能为负数（{deposit} 元）。",
                           f"The deposit applied cannot be negative ({deposit} yuan).", "deposit_applied")]
    if any(v.code in ("CONTRACT-DATES", "CONTRACT-PRICE", "CONTRACT-SCHEDULE") for v in found):
        return []  # no schedule to compare with
    from contracts.schedule import rent_schedule, schedule_total

    total = schedule_total(rent_schedule(replace(terms, deposit_applied=Decimal(0))))
    if deposit > total:
        return [_violation("CONTRACT-DEPOSIT", "交易规则",
                           f"保证金抵作价款的金额 {deposit} 元超过合同价款合计 {total} 元。",
                           f"The deposit applied, {deposit} yuan, exceeds the contract's total of {total} yuan.",
                           "deposit_applied")]
    return []
