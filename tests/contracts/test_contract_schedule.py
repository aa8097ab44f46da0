"""Rent schedules: periods, proration by days, escalation, rent in kind, and rounding that sums exactly.

The expected figures are worked out by hand (examples) or by an independent formula over calendar years and
whole contract years (properties), never read back from the code under test.
"""
from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from contract_testing import land_input, land_terms
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from contracts import TermsSchema, rent_schedule, rmb_upper, schedule_total, yearly_rent
from contracts.schedule import add_months
from exchange.registry.rules import RuleViolations

FEN = Decimal("0.01")


def _total_input(**overrides) -> dict:
    """A rent of a whole amount per year (not per 亩)."""
    return land_input(rent_basis="total", **overrides)


def test_yearly_rent_per_mu_over_ten_years():
    terms = land_terms()  # 2000 m² = 3.00 亩 × 650 元
    rows = rent_schedule(terms)
    assert terms.asset.area_mu == Decimal("3.00") and yearly_rent(terms) == Decimal("1950.00")
    assert [r.amount for r in rows] == [Decimal("1950.00")] * 10
    assert [r.due for r in rows] == [date(2027 + i, 1, 31) for i in range(10)]
    assert [(r.period_start, r.period_end) for r in rows] == [(date(2027 + i, 1, 1), date(2027 + i, 12, 31))
                                                              for i in range(10)]
    assert schedule_total(rows) == Decimal("19500.00")
    assert all(r.in_kind_kg is None and r.note == "" for r in rows)


def test_per_mu_uses_the_area_in_mu_as_printed():
    terms = land_terms(asset={"area_m2": "1223.96"})  # 1.83594 亩, printed 1.84
    assert terms.asset.area_mu == Decimal("1.84")
    assert yearly_rent(terms) == Decimal("1196.00")  # 650 × 1.84


def test_escalation_every_three_years_compounds_on_the_previous_rent():
    terms = TermsSchema().load(_total_input(amount="10000.00", payment={
        "escalation_percent": "5.00", "escalation_every_years": 3}))
    rows = rent_schedule(terms)
    assert [r.amount for r in rows] == [Decimal("10000.00")] * 3 + [Decimal("10500.00")] * 3 + \
        [Decimal("11025.00")] * 3 + [Decimal("11576.25")]
    assert schedule_total(rows) == Decimal("106151.25")
    assert [r.note for r in rows][3] == "已递增 1 次" and rows[0].note == ""


def test_rent_in_kind_is_reckoned_in_kilograms_and_valued_at_the_conversion_price():
    terms = TermsSchema().load(land_input(amount=None, payment={
        "in_kind": {"crop": "稻谷", "kg_per_mu": "400.00", "yuan_per_kg": "2.80"}}))
    assert terms.amount == Decimal("1120.00") and terms.rent_basis == "per_mu"  # 400 kg × 2.80 per 亩
    rows = rent_schedule(terms)
    assert [r.in_kind_kg for r in rows] == [Decimal("1200.00")] * 10  # 3.00 亩 × 400 kg
    assert [r.amount for r in rows] == [Decimal("3360.00")] * 10
    assert "稻谷 1200.00 公斤" in rows[0].note and "2.80 元/公斤" in rows[0].note


def test_partial_first_and_last_periods_are_prorated_by_days():
    # 36,500 a year is 100 a day in a 365-day year; 2028 has 366 days but is a whole period.
    terms = TermsSchema().load(_total_input(amount="36500.00", start="2027-03-15", end="2029-06-30", payment={
        "align": "calendar", "first_due": "2027-03-31"}))
    rows = rent_schedule(terms)
    assert [(r.period_start, r.period_end, r.amount) for r in rows] == [
        (date(2027, 3, 15), date(2027, 12, 31), Decimal("29200.00")),  # 292 days
        (date(2028, 1, 1), date(2028, 12, 31), Decimal("36500.00")),
        (date(2029, 1, 1), date(2029, 6, 30), Decimal("18100.00")),  # 181 days
    ]
    assert "292/365" in rows[0].note and rows[1].note == "" and "181/365" in rows[2].note
    assert [r.due for r in rows] == [date(2027, 3, 31), date(2028, 3, 31), date(2029, 3, 31)]


def test_a_last_period_cut_short_by_the_end_date_is_prorated():
    terms = TermsSchema().load(_total_input(amount="1200.00", start="2027-01-01", end="2027-09-30", payment={
        "period_months": 6, "first_due": "2027-01-01", "align": "contract"}))
    rows = rent_schedule(terms)
    assert [(r.period_start, r.period_end) for r in rows] == [(date(2027, 1, 1), date(2027, 6, 30)),
                                                             (date(2027, 7, 1), date(2027, 9, 30))]
    assert rows[0].amount == Decimal("600.00")
    assert rows[1].amount == Decimal("300.00")  # 92 of 184 days of the half-year Jul–Dec


def test_monthly_instalments_round_to_the_fen_and_sum_exactly():
    terms = TermsSchema().load(_total_input(amount="1000.00", end="2027-12-31", payment={
        "period_months": 1, "first_due": "2027-01-05"}))
    rows = rent_schedule(terms)
    assert len(rows) == 12 and schedule_total(rows) == Decimal("1000.00")
    assert sorted({r.amount for r in rows}) == [Decimal("83.33"), Decimal("83.34")]
    assert sum(1 for r in rows if r.amount == Decimal("83.34")) == 4  # 1000 − 12 × 83.33 = 0.04
    assert rows[1].due == date(2027, 2, 5) and rows[11].due == date(2027, 12, 5)


def test_a_lump_sum_is_one_instalment_and_a_mortgage_has_none():
    terms = TermsSchema().load(land_input(price_kind="lump_sum", rent_basis="total", amount="88000.00",
                                          payment={"first_due": "2027-01-15"}))
    assert rent_schedule(terms) == [rent_schedule(terms)[0]]
    only = rent_schedule(terms)[0]
    assert (only.amount, only.due, only.period_start, only.period_end) == \
        (Decimal("88000.00"), date(2027, 1, 15), date(2027, 1, 1), date(2036, 12, 31))
    mortgage = replace(terms, kind="mortgage", mode="抵押")
    assert rent_schedule(mortgage) == []


def test_the_deposit_applied_is_noted_on_the_first_instalments():
    terms = land_terms(deposit_applied="2500.00")  # 1,950 a year
    rows = rent_schedule(terms)
    assert rows[0].amount == Decimal("1950.00") and "保证金 1950.00 元抵作本期价款" in rows[0].note
    assert "保证金 550.00 元抵作本期价款" in rows[1].note and "保证金" not in rows[2].note


@pytest.mark.parametrize("overrides, code, field", [
    ({"end": "2026-12-31"}, "CONTRACT-DATES", "end"),
    ({"amount": "0.00"}, "CONTRACT-PRICE", "amount"),
    ({"payment": {"first_due": "2037-01-31"}}, "CONTRACT-SCHEDULE", "payment.first_due"),
])
def test_no_schedule_for_terms_that_cannot_have_one(overrides, code, field):
    with pytest.raises(RuleViolations) as refused:
        rent_schedule(land_terms(**overrides))
    assert refused.value.codes == [code] and refused.value.field == field


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
    assert add_months(date(2027, 3, 31), 12 * 20) == date(2047, 3, 31)


@pytest.mark.parametrize("amount, text", [
    ("0.00", "人民币零元整"), ("0.05", "人民币伍分"), ("1.05", "人民币壹元零伍分"), ("10.00", "人民币壹拾元整"),
    ("1196.00", "人民币壹仟壹佰玖拾陆元整"), ("1010.10", "人民币壹仟零壹拾元壹角整"),
    ("10500.00", "人民币壹万零伍佰元整"), ("106151.25", "人民币壹拾万陆仟壹佰伍拾壹元贰角伍分"),
    ("100000001.00", "人民币壹亿零壹元整"), ("1980000.00", "人民币壹佰玖拾捌万元整"),
])
def test_amounts_in_chinese_capitals(amount, text):
    assert rmb_upper(Decimal(amount)) == text


# --- properties -------------------------------------------------------------------------------------------

money = st.integers(min_value=100, max_value=10_000_000).map(lambda fen: Decimal(fen) / 100)


def _expected_by_calendar_year(yearly: Decimal, start: date, end: date) -> Fraction:
    """Σ over calendar years of yearly × (days of the term in the year) / (days in the year)."""
    total = Fraction(0)
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        total += Fraction(yearly) * Fraction((last - first).days + 1, 366 if calendar.isleap(year) else 365)
    return total


def _fen(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(FEN, ROUND_HALF_UP)


def _check_rows(terms, rows) -> None:
    assert rows[0].period_start == terms.start and rows[-1].period_end == terms.end
    for before, after in zip(rows, rows[1:]):
        assert after.period_start == before.period_end + timedelta(days=1)
        assert before.due <= after.due
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert all(r.amount == r.amount.quantize(FEN) and r.amount >= 0 for r in rows)
    assert all(terms.payment.first_due <= r.due <= terms.end for r in rows)


@settings(max_examples=150, deadline=None)
@given(yearly=money, start=st.dates(date(2020, 1, 1), date(2040, 12, 31)), days=st.integers(1, 12 * 366))
def test_calendar_yearly_periods_sum_to_the_prorated_rent(yearly, start, days):
    end = start + timedelta(days=days)
    terms = TermsSchema().load(_total_input(amount=str(yearly), start=start.isoformat(), end=end.isoformat(),
                                            payment={"align": "calendar", "first_due": start.isoformat()}))
    rows = rent_schedule(terms)
    _check_rows(terms, rows)
    assert len(rows) == end.year - start.year + 1
    expected = _expected_by_calendar_year(yearly, start, end)
    assert schedule_total(rows) == _fen(expected)
    for row in rows:  # each instalment is within a fen of its exact share
        exact = _expected_by_calendar_year(yearly, row.period_start, row.period_end)
        assert abs(Fraction(row.amount) - exact) < Fraction(1, 100)


@settings(max_examples=150, deadline=None)
@given(yearly=money, years=st.integers(1, 30), months=st.sampled_from([12, 6, 3, 1]),
       start=st.dates(date(2020, 1, 1), date(2040, 12, 31)), percent=st.integers(1, 2000),
       every=st.integers(1, 6), escalate=st.booleans())
def test_whole_years_sum_to_the_escalated_yearly_rents(yearly, years, months, start, percent, every, escalate):
    end = add_months(start, 12 * years) - timedelta(days=1)
    payment = {"period_months": months, "first_due": start.isoformat()}
    rise = Fraction(1)
    if escalate:
        payment.update(escalation_percent=str(Decimal(percent) / 100), escalation_every_years=every)
        rise = 1 + Fraction(percent, 100 * 100)
    terms = TermsSchema().load(_total_input(amount=str(yearly), start=start.isoformat(), end=end.isoformat(),
                                            payment=payment))
    rows = rent_schedule(terms)
    _check_rows(terms, rows)
    assert len(rows) == years * 12 // months
    steps = [(year // every) if escalate else 0 for year in range(years)]
    expected = sum((Fraction(yearly) * rise ** step for step in steps), Fraction(0))
    assert schedule_total(rows) == _fen(expected)
    per_year = 12 // months
    for year, step in enumerate(steps):  # within a year, every instalment is a fen or less from its share
        share = Fraction(yearly) * rise ** step / per_year
        assert all(abs(Fraction(r.amount) - share) < Fraction(1, 100)
                   for r in rows[year * per_year:(year + 1) * per_year])


@settings(max_examples=100, deadline=None)
@given(area=st.integers(334, 10_000_000).map(lambda c: Decimal(c) / 100),
       kg=st.integers(1, 200_000).map(lambda c: Decimal(c) / 100),
       price=st.integers(1, 2_000).map(lambda c: Decimal(c) / 100), years=st.integers(1, 20),
       months=st.sampled_from([12, 6, 3, 1]))
def test_rent_in_kind_sums_to_the_yearly_kilograms_and_their_value(area, kg, price, years, months):
    end = add_months(date(2027, 1, 1), 12 * years) - timedelta(days=1)
    terms = TermsSchema().load(land_input(amount=None, end=end.isoformat(), asset={"area_m2": str(area)}, payment={
        "period_months": months, "in_kind": {"crop": "稻谷", "kg_per_mu": str(kg), "yuan_per_kg": str(price)}}))
    mu = terms.asset.area_mu
    yearly_kg = (kg * mu).quantize(FEN, ROUND_HALF_UP)
    yearly_yuan = ((kg * price).quantize(FEN, ROUND_HALF_UP) * mu).quantize(FEN, ROUND_HALF_UP)
    assume(yearly_yuan > 0)  # a rent worth less than a fen a year is refused (CONTRACT-PRICE, tested elsewhere)
    rows = rent_schedule(terms)
    _check_rows(terms, rows)
    assert sum(r.in_kind_kg for r in rows) == yearly_kg * years
    assert schedule_total(rows) == yearly_yuan * years
