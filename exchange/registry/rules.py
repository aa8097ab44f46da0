"""The rules engine: each rule of domain.md §3 that concerns the registry is one small function.

A rule has a stable code, the article it comes from, and a message in Chinese and English. ``enforce``
runs every rule that applies to a proposed operation and refuses with *all* failing codes at once.
Figures that vary by place come from configuration (see ``exchange/config.py``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app

from exchange.errors import DomainError
from exchange.registry.models import (
    CollectiveAsset, Homestead, Household, Organisation, OrganisationKind, Parcel, Right, RightType,
)

# 农村土地承包法 Art 40: what a written management-right transfer contract contains.
ART40_FIELDS = {
    "parties": ("双方当事人的姓名、住所", "names and addresses of the parties"),
    "parcel": ("流转土地的名称、坐落、面积、质量等级", "name, location, area and quality grade of the land"),
    "term": ("流转期限和起止日期", "term and start and end dates"),
    "use": ("流转土地的用途", "use of the land"),
    "rights_duties": ("双方当事人的权利和义务", "rights and duties of the parties"),
    "price_payment": ("流转价款及支付方式", "price and manner of payment"),
    "expropriation": ("土地被依法征收、征用、占用时有关补偿费的归属", "who receives compensation on expropriation"),
    "liability": ("违约责任", "liability for breach"),
}
AGRICULTURAL_USES = {"1": "种植业", "2": "林业", "3": "畜牧业", "4": "渔业"}  # TDYT codes; 5 = 非农业用途
LEASE_MODES = {"出租"}
HOMESTEAD_ALLOWED_MODES = {"出租", "合作"}  # lease, or co-operation to revitalise idle homesteads
REGISTER_YEARS = 5  # 农村土地承包法 Art 41: a management right of five years or more is registered
PLEDGEABLE = {RightType.contract, RightType.management, RightType.construction_use, RightType.lease, RightType.shares}


@dataclass
class Proposal:
    """What an operation is about to do, in the terms the rules speak."""

    action: str
    source: Right | None = None  # the right acted on or derived from
    asset: Parcel | Homestead | CollectiveAsset | None = None
    applicant: Household | Organisation | Any | None = None  # who asks (must hold the source right)
    transferee: Household | Organisation | Any | None = None
    start_date: date | None = None
    end_date: date | None = None
    mode: str | None = None
    permitted_use: str | None = None
    contract: dict | None = None
    consents: dict = field(default_factory=dict)  # contracting_household, pledgee, filed_with_collective
    resolution: dict | None = None  # members_total, votes_for, votes_against, abstentions, number, date
    county_review: str | None = None
    township_approval: str | None = None
    register: bool = True
    shares: list[Decimal] = field(default_factory=list)
    area_m2: Decimal | None = None
    household_persons: int | None = None
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Rule:
    code: str
    citation: str
    message_zh: str
    message_en: str
    actions: frozenset[str]
    check: Callable[[Proposal], dict | None]  # None when satisfied, else values for the messages
    field: str | None = None


RULES: list[Rule] = []


def rule(code: str, citation: str, message_zh: str, message_en: str, actions: set[str], field: str | None = None):
    def register(check):
        RULES.append(Rule(code, citation, message_zh, message_en, frozenset(actions), check, field))
        return check
    return register


@dataclass
class Violation:
    code: str
    citation: str
    message_zh: str
    message_en: str
    field: str | None

    def as_dict(self) -> dict:
        return {"code": self.code, "citation": self.citation, "message_zh": self.message_zh,
                "message_en": self.message_en, "field": self.field}


class RuleViolations(DomainError):
    """A refusal carrying every rule that failed."""

    def __init__(self, violations: list[Violation]) -> None:
        codes = ", ".join(v.code for v in violations)
        super().__init__(
            code=violations[0].code if len(violations) == 1 else "RULES",
            message_zh="；".join(f"{v.code}：{v.message_zh}" for v in violations),
            message_en="; ".join(f"{v.code}: {v.message_en}" for v in violations),
            field=violations[0].field,
            status=422,
            details=[v.as_dict() for v in violations],
        )
        self.codes = [v.code for v in violations]
        self.summary = codes


def evaluate(proposal: Proposal) -> list[Violation]:
    violations = []
    for r in RULES:
        if proposal.action not in r.actions:
            continue
        values = r.check(proposal)
        if values is not None:
            violations.append(Violation(r.code, r.citation, r.message_zh.format(**values),
                                        r.message_en.format(**values), r.field))
    return violations


def enforce(proposal: Proposal) -> None:
    violations = evaluate(proposal)
    if violations:
        raise RuleViolations(violations)


def _config(name: str):
    return current_app.config[name]


def anniversary(start: date, years: int) -> date:
    """The ``years``-th anniversary of ``start``; a 29 February falls on 1 March in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February, and the year is not a leap year
        return date(start.year + years, 3, 1)


def last_day_of_term(start: date, years: int) -> date:
    """The last day of a term of ``years`` years starting on ``start``: the day before the anniversary, since the
    start and end dates of a right are both days it is in force (2027-01-01 + 5 years → 2031-12-31; a term from
    29 February ends on 28 February)."""
    return anniversary(start, years) - timedelta(days=1)


def term_length(start: date, end: date) -> tuple[int, int]:
    """A term from ``start`` to ``end`` (both days included) in whole calendar years and the days left over."""
    years = max(end.year - start.year, 0)
    while years > 0 and last_day_of_term(start, years) > end:
        years -= 1
    counted = last_day_of_term(start, years) if years else start - timedelta(days=1)
    return years, (end - counted).days


def _describe_term(start: date, end: date) -> tuple[str, str]:
    """(zh, en) for the length of a term, e.g. "20 年零 32 天（约 20.1 年）" / "20 years and 32 days (about 20.1 years)"."""
    years, days = term_length(start, end)
    if not days:
        return f"{years} 年", f"{years} years"
    year_length = (anniversary(start, years + 1) - anniversary(start, years)).days
    about = (years + Decimal(days) / year_length).quantize(Decimal("0.1"), ROUND_HALF_UP)
    approx_zh = f"（约 {about} 年）" if about != years else ""
    approx_en = f" (about {about} years)" if about != years else ""
    return (f"{years} 年零 {days} 天{approx_zh}",
            f"{years} {'year' if years == 1 else 'years'} and {days} {'day' if days == 1 else 'days'}{approx_en}")


def _is_outside_capital(party) -> bool:
    return isinstance(party, Organisation) and party.kind == OrganisationKind.company


TRANSFERS = {"transfer_management", "lease_use", "grant_construction_use", "lease_asset"}


@rule("LAND-AGRI-USE", "农村土地承包法 第38条第2项",
      "土地经营权流转不得改变土地所有权的性质和土地的农业用途；拟定用途“{use}”不是农业用途（应为 1 种植业、2 林业、3 畜牧业、4 渔业）。",
      "A management-right transfer may not change the land's agricultural use; use '{use}' is not agricultural "
      "(accepted: 1 cropping, 2 forestry, 3 livestock, 4 fishery).",
      {"transfer_management"}, field="permitted_use")
def land_agri_use(p: Proposal):
    if p.permitted_use not in AGRICULTURAL_USES:
        return {"use": p.permitted_use or "—"}
    return None


@rule("LAND-TERM", "农村土地承包法 第38条第3项",
      "流转期限不得超过所依据权利的剩余期限：应不晚于 {limit}，申请为 {end}。",
      "The term may not exceed the remaining term of the right it comes from: it must end by {limit}, not {end}.",
      {"transfer_management", "pledge"}, field="end_date")
def land_term(p: Proposal):
    if p.source is None or p.source.end_date is None:
        return None
    if p.end_date is None or p.end_date > p.source.end_date:
        return {"limit": p.source.end_date.isoformat(), "end": p.end_date.isoformat() if p.end_date else "无期限"}
    return None


@rule("LAND-FILING", "农村土地承包法 第36条",
      "承包方流转土地经营权，应当向发包方（村集体经济组织）备案；请先完成备案。",
      "A transfer by the contracting household must be filed with the collective (the 发包方); file it first.",
      {"transfer_management"}, field="consents.filed_with_collective")
def land_filing(p: Proposal):
    if p.source is not None and p.source.right_type == RightType.contract and not p.consents.get("filed_with_collective"):
        return {}
    return None


@rule("LAND-WRITTEN", "农村土地承包法 第40条",
      "流转合同应为书面形式并载明第40条各项内容，缺少：{missing}。",
      "The transfer needs a written contract with every item of Art 40; missing: {missing_en}.",
      {"transfer_management"}, field="contract")
def land_written(p: Proposal):
    contract = p.contract or {}
    missing = [key for key in ART40_FIELDS if not str(contract.get(key) or "").strip()]
    if missing:
        return {"missing": "、".join(ART40_FIELDS[k][0] for k in missing),
                "missing_en": "; ".join(f"{k} ({ART40_FIELDS[k][1]})" for k in missing)}
    return None


@rule("LAND-REGISTER-5Y", "农村土地承包法 第41条",
      "{reason_zh}",
      "{reason_en}",
      {"transfer_management", "pledge"}, field="register")
def land_register_5y(p: Proposal):
    if p.action == "transfer_management" and not p.register and p.start_date and p.end_date \
            and p.end_date >= last_day_of_term(p.start_date, REGISTER_YEARS):
        return {"reason_zh": "流转期限五年以上的土地经营权由平台办理登记，不能选择不登记。",
                "reason_en": "A management right of five years or more is registered by the platform; "
                             "it cannot be left unregistered."}
    if p.source is not None and p.source.right_type == RightType.management \
            and p.source.terms.get("registered") is False:
        return {"reason_zh": "该土地经营权未登记，不得对抗善意第三人，不能再流转或抵押；请先办理登记。",
                "reason_en": "This management right is not registered and cannot be asserted against third "
                             "parties, so it cannot be re-transferred or pledged; register it first."}
    return None


@rule("LAND-RETRANSFER", "农村土地承包法 第46条、第47条",
      "受让方再流转或抵押土地经营权，须经承包方书面同意并向发包方备案。",
      "A re-transfer or pledge by a transferee needs the contracting household's written consent and filing "
      "with the collective.",
      {"transfer_management", "pledge"}, field="consents.contracting_household")
def land_retransfer(p: Proposal):
    if p.source is not None and p.source.right_type == RightType.management:
        if not (p.consents.get("contracting_household") and p.consents.get("filed_with_collective")):
            return {}
    return None


@rule("LAND-CAPITAL-REVIEW", "农村土地承包法 第45条",
      "工商企业等社会资本流转土地经营权面积 {area_mu} 亩，超过 {limit_mu} 亩，须先通过县级资格审查和项目审核（请填写审核文号）。",
      "A company taking {area_mu} mu, more than {limit_mu} mu, must first pass the county's qualification and "
      "project review (give the review number).",
      {"transfer_management"}, field="county_review")
def land_capital_review(p: Proposal):
    from exchange.registry.models import to_mu

    limit = Decimal(str(_config("LAND_CAPITAL_REVIEW_AREA_M2")))
    area = p.area_m2 or Decimal(0)
    if _is_outside_capital(p.transferee) and area > limit and not (p.county_review or "").strip():
        return {"area_mu": to_mu(area), "limit_mu": to_mu(limit)}
    return None


@rule("LAND-OUTSIDER-CONTRACT", "农村土地承包法 第52条",
      "将集体土地发包给本集体经济组织以外的单位或个人，须经成员（代表）三分之二以上同意并报乡（镇）人民政府批准。",
      "Contracting collective land to a party outside the collective needs 2/3 of members (or representatives) "
      "and the township's approval.",
      {"grant_contract_right"}, field="resolution")
def land_outsider_contract(p: Proposal):
    parcel = p.asset
    outsider = not (isinstance(p.transferee, Household) and parcel is not None
                    and p.transferee.collective.credit_code == parcel.collective.credit_code)
    if outsider and not (_two_thirds(p.resolution) and (p.township_approval or "").strip()):
        return {}
    return None


@rule("LEASE-20Y", "民法典 第705条",
      "租赁期限不得超过二十年；{detail}",
      "A lease may not exceed 20 years; {detail_en}",
      {"transfer_management", "lease_use", "lease_asset", "grant_construction_use"}, field="end_date")
def lease_20y(p: Proposal):
    if p.mode not in LEASE_MODES:
        return None
    if p.start_date is None or p.end_date is None:
        return {"detail": "申请的租赁没有起止日期（无期限）。", "detail_en": "the requested lease has no start or end date."}
    limit = last_day_of_term(p.start_date, int(_config("LEASE_MAX_YEARS")))
    if p.end_date > limit:
        term_zh, term_en = _describe_term(p.start_date, p.end_date)
        return {"detail": f"自 {p.start_date} 起租的，最迟应于 {limit} 届满；申请至 {p.end_date}，为 {term_zh}。",
                "detail_en": f"one starting {p.start_date} must end by {limit}; the requested end {p.end_date} makes "
                             f"{term_en}."}
    return None


@rule("HOMESTEAD-ONE", "土地管理法 第62条",
      "{reason_zh}",
      "{reason_en}",
      {"allocate_homestead"}, field="household")
def homestead_one(p: Proposal):
    household = p.transferee
    held = [r for r in _household_rights(household) if r.right_type == RightType.qualification and r.active]
    if held:
        return {"reason_zh": f"一户只能拥有一处宅基地，该户已有宅基地 {held[0].homestead.code}。",
                "reason_en": f"One household, one homestead: this household already holds {held[0].homestead.code}."}
    persons = max(min(p.household_persons or 0, _config("HOMESTEAD_MAX_PERSONS")), _config("HOMESTEAD_MIN_PERSONS"))
    limit = Decimal(str(_config("HOMESTEAD_AREA_PER_PERSON_M2"))) * persons
    if p.area_m2 is not None and p.area_m2 > limit:
        return {"reason_zh": f"宅基地面积 {p.area_m2} 平方米超过标准 {limit} 平方米（{persons} 人 × "
                             f"{_config('HOMESTEAD_AREA_PER_PERSON_M2')} 平方米）。",
                "reason_en": f"Homestead area {p.area_m2} m² exceeds the standard of {limit} m² ({persons} persons × "
                             f"{_config('HOMESTEAD_AREA_PER_PERSON_M2')} m²)."}
    return None


@rule("HOMESTEAD-NO-SALE", "土地管理法 第62条；中央有关文件",
      "宅基地使用权和农房不得出售给城镇居民，只能出租或合作利用（方式应为：出租、合作），申请方式为“{mode}”。",
      "Homestead use rights and rural houses are not sold; only lease or co-operation is allowed "
      "(accepted: 出租, 合作), not '{mode}'.",
      {"lease_use"}, field="mode")
def homestead_no_sale(p: Proposal):
    if isinstance(p.asset, Homestead) and p.mode not in HOMESTEAD_ALLOWED_MODES:
        return {"mode": p.mode or "—"}
    return None


@rule("HOMESTEAD-REAPPLY", "土地管理法 第62条",
      "农村村民出卖、出租、赠与住宅后，再申请宅基地的，不予批准（该户的宅基地 {code} 已{how}）。",
      "A household that sold, leased or gave away its house gets no new homestead ({code} was {how_en}).",
      {"allocate_homestead"}, field="household")
def homestead_reapply(p: Proposal):
    for r in _household_rights(p.transferee):
        if r.right_type in (RightType.qualification, RightType.homestead_use) and r.end_reason == "transferred":
            return {"code": r.homestead.code, "how": "转让", "how_en": "transferred"}
        if r.right_type == RightType.homestead_use:
            leased = [d for d in _derived(r) if d.right_type == RightType.lease]
            if leased:
                return {"code": r.homestead.code, "how": "出租", "how_en": "leased"}
    return None


@rule("NO-PLEDGE", "民法典 第399条",
      "{reason_zh}",
      "{reason_en}",
      {"pledge"}, field="right")
def no_pledge(p: Proposal):
    right = p.source
    if right.right_type not in PLEDGEABLE:
        return {"reason_zh": "土地所有权、宅基地使用权和资格权不得抵押。",
                "reason_en": "Land ownership and homestead use or qualification rights cannot be pledged."}
    if right.disputed:
        return {"reason_zh": "权属有争议的财产不得抵押。", "reason_en": "A disputed right cannot be pledged."}
    if right.active_freezes():
        return {"reason_zh": "被依法查封的财产不得抵押。", "reason_en": "A frozen right cannot be pledged."}
    return None


@rule("COLLECTIVE-2-3", "土地管理法 第63条；民法典 第261条",
      "出让、出租集体经营性建设用地或处分集体资产，须经成员（代表）三分之二以上同意并记录表决票数；{detail}",
      "Granting or leasing collective construction land, or disposing of collective assets, needs a resolution "
      "of 2/3 of members or representatives with the vote counts; {detail_en}",
      {"grant_construction_use", "lease_asset"}, field="resolution")
def collective_two_thirds(p: Proposal):
    if _two_thirds(p.resolution):
        return None
    r = p.resolution or {}
    if not r:
        return {"detail": "未提供决议。", "detail_en": "no resolution was given."}
    return {"detail": f"同意 {r.get('votes_for')} 票，应到 {r.get('members_total')} 人，不足三分之二。",
            "detail_en": f"{r.get('votes_for')} in favour of {r.get('members_total')} is less than two thirds."}


@rule("ENCUMBERED", "民法典 物权编 抵押权",
      "{reason_zh}",
      "{reason_en}",
      TRANSFERS, field="right")
def encumbered(p: Proposal):
    right = p.source
    if right is None:
        return None
    if right.active_freezes():
        f = right.active_freezes()[0]
        return {"reason_zh": f"该权利已被{f.authority}查封（{f.document_number}），不得流转。",
                "reason_en": f"This right is frozen by {f.authority} ({f.document_number}) and cannot be transferred."}
    consent = p.consents.get("pledgee")
    for e in right.active_pledges():
        if not consent:
            return {"reason_zh": f"该权利已抵押给{e.pledgee.name}，流转须经抵押权人同意。",
                    "reason_en": f"This right is pledged to {e.pledgee.name}; a transfer needs the pledgee's consent."}
        if isinstance(consent, dict) and not pledgee_consents(consent, e):
            given = consent.get("bank") or consent.get("credit_code") or "—"
            return {"reason_zh": f"该权利已抵押给{e.pledgee.name}，所附同意出自“{given}”，不是该抵押的抵押权人。",
                    "reason_en": f"This right is pledged to {e.pledgee.name}; the consent attached is given by "
                                 f"'{given}', who is not that pledge's pledgee."}
    return None


def pledgee_consents(consent: dict, encumbrance) -> bool:
    """Whether a consent recorded as data (the bank that gave it, by credit code, and the pledge it gave it for)
    is the consent of this pledge's pledgee. A plain true is the older form: the submitting staff attest that the
    pledgee's written consent is on file; it names nobody, so it cannot be checked here."""
    return (consent.get("credit_code") == encumbrance.pledgee.credit_code
            and consent.get("encumbrance") in (None, encumbrance.id))


@rule("TITLE-CLEAR", "交易规则",
      "{reason_zh}",
      "{reason_en}",
      TRANSFERS | {"pledge"}, field="right")
def title_clear(p: Proposal):
    right = p.source
    if right is None:
        return None
    if not right.active:
        return {"reason_zh": "该权利已终止，不能再处分。", "reason_en": "This right has ended and cannot be disposed of."}
    if right.end_date is not None and right.end_date < p.today:
        return {"reason_zh": f"该权利已于 {right.end_date} 到期。", "reason_en": f"This right expired on {right.end_date}."}
    if right.disputed:
        return {"reason_zh": "该权利权属有争议，不能处分。", "reason_en": "The title of this right is disputed."}
    if p.applicant is not None and not any(h.holder is p.applicant for h in right.holders):
        return {"reason_zh": "申请人不是该权利的权利人。", "reason_en": "The applicant does not hold this right."}
    return None


# What each action creates, and the rights over the same asset it may not overlap: the kinds that give the asset
# (or its use) to someone. A right carved out of another (a sublease of a management right, a lease of a granted
# construction-land use right) overlaps the rights it derives from, and that is no double grant.
EXCLUSIVE_KINDS = {
    "grant_contract_right": frozenset({RightType.contract}),
    "transfer_management": frozenset({RightType.management}),
    "allocate_homestead": frozenset({RightType.qualification, RightType.homestead_use}),
    "lease_use": frozenset({RightType.lease, RightType.construction_use}),
    "grant_construction_use": frozenset({RightType.construction_use, RightType.lease}),
    "lease_asset": frozenset({RightType.construction_use, RightType.lease}),
}
RIGHT_NAMES = {
    RightType.ownership: ("所有权", "ownership right"), RightType.contract: ("土地承包权", "contract right"),
    RightType.management: ("土地经营权", "management right"), RightType.qualification: ("宅基地资格权", "homestead qualification right"),
    RightType.homestead_use: ("宅基地使用权", "homestead use right"),
    RightType.construction_use: ("集体经营性建设用地使用权", "construction-land use right"),
    RightType.lease: ("租赁权", "lease"), RightType.shares: ("集体资产股份", "shares"),
}
ASSET_NAMES = {Parcel: ("地块", "Parcel"), Homestead: ("宅基地", "Homestead"), CollectiveAsset: ("集体资产", "Collective asset")}


def _overlaps(start: date | None, end: date | None, other: Right) -> bool:
    """Whether [start, end] and the other right's term share a day (no start or no end: open on that side)."""
    return (start is None or other.end_date is None or other.end_date >= start) and \
        (end is None or other.start_date is None or other.start_date <= end)


@rule("DOUBLE-GRANT", "民法典 第114条；登记规则",
      "{asset} {code} 已有有效的{kind}（{number}，{term}），与本次申请的期限重叠；同一资产不能重复设立。",
      "{asset_en} {code} already has an active {kind_en} ({number}, {term_en}) overlapping the one requested; "
      "the same asset is not given twice.",
      set(EXCLUSIVE_KINDS), field="start_date")
def double_grant(p: Proposal):
    from exchange.registry.operations import rights_over

    if p.asset is None:
        return None
    chain, right = set(), p.source
    while right is not None and id(right) not in chain:  # the source and the rights it derives from
        chain.add(id(right))
        right = right.derived_from
    for other in rights_over(p.asset, EXCLUSIVE_KINDS[p.action]):
        if id(other) not in chain and _overlaps(p.start_date, p.end_date, other):
            kind_zh, kind_en = RIGHT_NAMES[other.right_type]
            asset_zh, asset_en = ASSET_NAMES[type(p.asset)]
            term_zh = "无期限" if other.start_date is None and other.end_date is None else \
                f"{other.start_date or '—'} 至 {other.end_date or '—'}"
            term_en = "no fixed term" if other.start_date is None and other.end_date is None else \
                f"{other.start_date or '—'} to {other.end_date or '—'}"
            return {"asset": asset_zh, "asset_en": asset_en, "code": p.asset.code, "kind": kind_zh,
                    "kind_en": kind_en, "number": other.number, "term": term_zh, "term_en": term_en}
    return None


@rule("SHARES-SUM", "实践规则",
      "共有人的份额之和应恰好为 1，现为 {total}。",
      "The co-holders' shares must sum to exactly 1, not {total}.",
      {"grant_contract_right", "transfer_management", "lease_use", "grant_construction_use", "lease_asset",
       "allocate_homestead", "register_asset"}, field="holders")
def shares_sum(p: Proposal):
    if p.shares and sum(p.shares, Decimal(0)) != Decimal(1):
        return {"total": sum(p.shares, Decimal(0)).normalize()}
    return None


def _two_thirds(resolution: dict | None) -> bool:
    if not resolution:
        return False
    try:
        total, votes_for = int(resolution["members_total"]), int(resolution["votes_for"])
    except (KeyError, TypeError, ValueError):
        return False
    return total > 0 and 0 <= votes_for <= total and 3 * votes_for >= 2 * total


def _household_rights(household) -> list[Right]:
    from sqlalchemy import select

    from exchange.db import db
    from exchange.registry.models import RightHolder

    if household is None or household.id is None:
        return []
    return list(db.session.scalars(select(Right).join(RightHolder).where(RightHolder.household_id == household.id)))


def _derived(right: Right) -> list[Right]:
    from sqlalchemy import select

    from exchange.db import db

    return list(db.session.scalars(select(Right).where(Right.derived_from_id == right.id)))
