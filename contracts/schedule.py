"""Rent schedules (租金支付计划): which period each payment covers, when it is due and how much it is.

Periods run from the start date (``align="contract"``) or from calendar boundaries (1 January, 1 July, the
first of a quarter or month: ``align="calendar"``); a partial first or last period pays its share by days of
the nominal period. A fixed escalation raises the rent every N years, on the previous rent (compounded). Rent
in kind is reckoned in kilograms and valued at the contract's conversion price. Every amount is exact until the
end; then the total is rounded to the fen and the instalments by the largest-remainder method, so the rows sum
to the total exactly and each is within a fen of its exact amount.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

from contracts.terms import ContractTerms
from exchange.collectives.money import FEN

NO_SCHEDULE = {"mortgage"}  # a mortgage secures a debt; nothing is paid to the mortgagor under it


@dataclass(frozen=True)
class Instalment:
    number: int  # 1, 2, …
    period_start: date
    period_end: date  # inclusive
    due: date
    amount: Decimal  # yuan, to the fen
    in_kind_kg: Decimal | None  # kilograms of the crop, for rent in kind
    note: str


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 Jan + 1 month = 28 Feb)."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def yearly_rent(terms: ContractTerms) -> Decimal:
    """The first year's rent in yuan, to the fen: per 亩 times the area in 亩 as printed, or the amount given."""
    if terms.rent_basis == "per_mu":
        return (terms.amount * terms.asset.area_mu).quantize(FEN, ROUND_HALF_UP)
    return terms.amount


def yearly_kg(terms: ContractTerms) -> Decimal | None:
    """The first year's rent in kind in kilograms, to 0.01 kg."""
    if terms.payment.in_kind is None:
        return None
    return (terms.payment.in_kind.kg_per_mu * terms.asset.area_mu).quantize(FEN, ROUND_HALF_UP)


@dataclass(frozen=True)
class _Period:
    start: date
    end: date
    days: int  # days of this (possibly partial) period
    nominal_days: int  # days of the whole period it is part of
    steps: int  # escalations applied so far


def periods(terms: ContractTerms) -> list[_Period]:
    months = terms.payment.period_months
    if terms.payment.align == "calendar":
        anchor = date(terms.start.year, (terms.start.month - 1) // months * months + 1, 1)
    else:
        anchor = terms.start
    made, k = [], 0
    while True:
        nominal_start = add_months(anchor, k * months)
        nominal_end = add_months(anchor, (k + 1) * months) - timedelta(days=1)
        start = max(nominal_start, terms.start)
        if start > terms.end:
            return made
        end = min(nominal_end, terms.end)
        made.append(_Period(start, end, (end - start).days + 1, (nominal_end - nominal_start).days + 1,
                            _escalations(terms, start)))
        k += 1


def _escalations(terms: ContractTerms, period_start: date) -> int:
    every = terms.payment.escalation_every_years
    if not every or terms.payment.escalation_percent is None:
        return 0
    steps = 0
    while add_months(terms.start, 12 * every * (steps + 1)) <= period_start:
        steps += 1
    return steps


def rent_schedule(terms: ContractTerms) -> list[Instalment]:
    """The instalments of ``terms``; a lump sum is one instalment and a mortgage has none.

    Refuses (``RuleViolations``) terms that fail CONTRACT-DATES, CONTRACT-PRICE or CONTRACT-SCHEDULE.
    """
    from contracts.checks import enforce_terms

    enforce_terms(terms)
    if terms.kind in NO_SCHEDULE:
        return []
    if terms.price_kind == "lump_sum":
        return _apply_deposit(terms, [Instalment(1, terms.start, terms.end, terms.payment.first_due, terms.amount,
                                                 None, "一次性支付")])
    with localcontext() as context:
        context.prec = 50
        return _apply_deposit(terms, _rent(terms, context))


def _rent(terms: ContractTerms, context) -> list[Instalment]:
    plan = terms.payment
    share = Decimal(plan.period_months) / Decimal(12)
    rise = Decimal(1) + (plan.escalation_percent or Decimal(0)) / Decimal(100)
    made = periods(terms)
    factors = [share * Decimal(p.days) / Decimal(p.nominal_days) * rise ** p.steps for p in made]
    yuan = {i: yearly_rent(terms) * f for i, f in enumerate(factors)}
    amounts = _split(yuan)
    kilograms: dict[int, Decimal | None] = dict.fromkeys(yuan)
    if plan.in_kind is not None:
        kilograms = _split({i: yearly_kg(terms) * f for i, f in enumerate(factors)})
    rows = []
    for i, period in enumerate(made):
        due = min(add_months(plan.first_due, i * plan.period_months), terms.end)
        notes = []
        if period.days != period.nominal_days:
            notes.append(f"不足一期，按 {period.days}/{period.nominal_days} 天折算")
        if period.steps:
            notes.append(f"已递增 {period.steps} 次")
        if plan.in_kind is not None:
            notes.append(f"{plan.in_kind.crop} {kilograms[i]} 公斤，按 {plan.in_kind.yuan_per_kg} 元/公斤折价")
        rows.append(Instalment(i + 1, period.start, period.end, due, amounts[i], kilograms[i], "；".join(notes)))
    return rows


def _split(exact: dict[int, Decimal]) -> dict[int, Decimal]:
    """The exact amounts rounded to the fen (or 0.01 kg) so that they sum to their rounded total: each rounded
    down, then the fens left over go one each to the largest remainders (earlier periods first on ties).

    Not ``exchange.collectives.money.split_exact``: it spreads the *rounded* total in proportion to the
    weights, which moves every part (a whole year's exact 1.00 can come out 0.99); here each instalment stays
    within a fen of its exact amount.
    """
    total = sum(exact.values(), Decimal(0)).quantize(FEN, ROUND_HALF_UP)
    parts = {k: v.quantize(FEN, rounding=ROUND_DOWN) for k, v in exact.items()}
    left = int((total - sum(parts.values(), Decimal(0))) / FEN)
    for k in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[k] += FEN
    return parts


def _apply_deposit(terms: ContractTerms, rows: list[Instalment]) -> list[Instalment]:
    """Say on the first instalments how much of them the deposit already paid (the amounts stay gross)."""
    left = terms.deposit_applied
    made = []
    for row in rows:
        if left > 0:
            used = min(left, row.amount)
            left -= used
            note = f"保证金 {used} 元抵作本期价款"
            row = Instalment(row.number, row.period_start, row.period_end, row.due, row.amount, row.in_kind_kg,
                             f"{row.note}；{note}" if row.note else note)
        made.append(row)
    return made


def schedule_total(rows: list[Instalment]) -> Decimal:
    return sum((row.amount for row in rows), Decimal("0.00"))
