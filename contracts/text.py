"""How terms read in Chinese: dates, areas, amounts in figures and in capitals (大写), the term, price and payment.

The same sentences go into the contract PDF and into the registry's Art 40 record, so both say the same thing.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from contracts.terms import Asset, ContractTerms, Party
from exchange.registry.rules import AGRICULTURAL_USES, RuleViolations

FEN = Decimal("0.01")
PERIOD_NAMES = {12: "按年", 6: "按半年", 3: "按季度", 1: "按月"}
PARTY_KIND_NAMES = {"household": "农户", "organisation": "单位", "person": "自然人", "collective": "集体经济组织"}
USE_NAMES = {**AGRICULTURAL_USES, "5": "非农业用途"}
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def money(amount: Decimal) -> str:
    """¥ figures with thousands separators: 12,345.60."""
    return f"{amount.quantize(FEN, ROUND_HALF_UP):,.2f}"


def rmb_upper(amount: Decimal) -> str:
    """人民币大写, as contracts and receipts write sums: 12345.60 → 人民币壹万贰仟叁佰肆拾伍元陆角整."""
    amount = Decimal(amount).quantize(FEN, ROUND_HALF_UP)
    if amount < 0:
        return "负" + rmb_upper(-amount)
    yuan, cents = divmod(int(amount * 100), 100)
    jiao, fen = divmod(cents, 10)
    text = _integer_upper(yuan) + "元" if yuan else ""
    if not cents:
        return "人民币" + (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    else:
        text += "整"
    return "人民币" + text


def _integer_upper(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    text, zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero = bool(text)
            continue
        if text and (zero or group < 1000):
            text += "零"
        text += _group_upper(group) + _BIG_UNITS[index]
        zero = False
    return text


def _group_upper(group: int) -> str:
    digits = [int(d) for d in f"{group:04d}"]
    text, zero = "", False
    started = False
    for position, digit in enumerate(digits):
        unit = _SMALL_UNITS[3 - position]
        if digit == 0:
            zero = started
            continue
        if zero:
            text += "零"
        text += _DIGITS[digit] + unit
        zero, started = False, True
    return text


def duration(start: date, end: date) -> str:
    """The length of an inclusive term: 2026-01-01 to 2035-12-31 is 10 年."""
    from contracts.schedule import add_months

    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    while months > 0 and add_months(start, months) > after:
        months -= 1
    days = (after - add_months(start, months)).days if months >= 0 else (after - start).days
    years, months = divmod(max(months, 0), 12)
    parts = [f"{years} 年" if years else "", f"{months} 个月" if months else "", f"{days} 天" if days else ""]
    return " ".join(p for p in parts if p) or "0 天"


def describe_area(asset: Asset) -> str:
    if asset.area_m2 is None:
        return "面积：—"
    return f"面积 {asset.area_m2} 平方米（{asset.area_mu} 亩）"


def describe_term(terms: ContractTerms) -> str:
    return f"期限 {duration(terms.start, terms.end)}，自{cn_date(terms.start)}起至{cn_date(terms.end)}止"


def describe_use(terms: ContractTerms) -> str:
    from contracts.kinds import KINDS

    use = terms.permitted_use.strip()
    if KINDS[terms.kind].asset == "parcel":
        use = f"{USE_NAMES[use]}（土地用途代码 {use}）" if use in USE_NAMES else use
    return f"{use}：{terms.use_description}" if terms.use_description else use


def party_line(label: str, party: Party) -> str:
    extra = f"，证件/代码：{party.id_masked}" if party.id_masked else ""
    address = f"，住所：{party.address}" if party.address else ""
    return f"{label} {party.name}{extra}{address}"


def describe_price(terms: ContractTerms) -> str:
    from contracts.schedule import yearly_kg, yearly_rent

    if terms.kind == "mortgage":
        return f"被担保的主债权数额为 {money(terms.amount)} 元（{rmb_upper(terms.amount)}）"
    if terms.price_kind == "lump_sum":
        return f"价款总额 {money(terms.amount)} 元（{rmb_upper(terms.amount)}），一次性支付"
    first_year = yearly_rent(terms)
    in_kind = terms.payment.in_kind
    if in_kind is not None:
        return (f"实物计租：每亩每年{in_kind.crop} {in_kind.kg_per_mu} 公斤，按 {in_kind.yuan_per_kg} 元/公斤折价，"
                f"即每亩每年 {money(terms.amount)} 元；按 {terms.asset.area_mu} 亩计，首年{in_kind.crop} "
                f"{yearly_kg(terms)} 公斤，折合 {money(first_year)} 元（{rmb_upper(first_year)}）")
    if terms.rent_basis == "per_mu":
        return (f"租金每亩每年 {money(terms.amount)} 元，按 {terms.asset.area_mu} 亩计，首年租金 {money(first_year)} 元"
                f"（{rmb_upper(first_year)}）")
    return f"租金每年 {money(terms.amount)} 元（{rmb_upper(terms.amount)}）"


def describe_payment(terms: ContractTerms) -> str:
    from contracts.schedule import rent_schedule, schedule_total

    plan = terms.payment
    if terms.kind == "mortgage":
        return "主债权的履行期限和方式依借款合同约定"
    parts = []
    if terms.price_kind == "lump_sum":
        parts.append(f"乙方于{cn_date(plan.first_due)}前一次性付清")
    else:
        align = "自合同起始日起算" if plan.align == "contract" else "按自然年度（季度、月）划分，首末期不足一期的按天折算"
        parts.append(f"{PERIOD_NAMES[plan.period_months]}支付（每期 {plan.period_months} 个月，{align}），"
                     f"首期于{cn_date(plan.first_due)}前支付，以后各期于相应日期前支付")
        if plan.escalation_percent is not None:
            parts.append(f"自起始日起每满 {plan.escalation_every_years} 年，租金在上一期基础上递增 "
                         f"{plan.escalation_percent}%")
        if plan.in_kind is not None:
            parts.append(f"实物租金由乙方按折价标准以人民币支付，或经甲方同意交付等量合格{plan.in_kind.crop}")
    try:
        total = schedule_total(rent_schedule(terms))
        parts.append(f"合同期内价款合计 {money(total)} 元（{rmb_upper(total)}），各期金额见支付计划表")
    except RuleViolations:
        pass  # terms that fail CONTRACT-DATES/PRICE/SCHEDULE have no schedule yet; check() says why
    if terms.deposit_applied:
        parts.append(f"乙方已缴纳的交易保证金 {money(terms.deposit_applied)} 元抵作价款")
    return "；".join(parts)
