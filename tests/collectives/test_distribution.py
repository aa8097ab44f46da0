"""收益分配: a year's income split by a resolution's percentages (exactly 100 %), then the dividends over the
households' shares, both to the fen with totals that are exact (largest-remainder, ``money.split_exact``)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.collectives import operations as books
from exchange.collectives import queries
from exchange.collectives.models import MotionKind
from exchange.collectives.money import FEN, split_by_percent, split_exact

from tests.collectives.conftest import JINSHAN, collective, entry, ledger_size, refused, resolution

PLAN = {"reserve": "15", "welfare": "5", "management": "10", "dividends": "70"}


def test_the_demo_distribution_sums_exactly_to_the_distributable_income(app_ctx):
    place = collective(JINSHAN)
    item = queries.distribution_or_404(place, 2025)
    assert item.distributable == books.income_of_year(place, 2025) == Decimal("70730.50")
    allocations = {k: Decimal(v) for k, v in item.allocations.items()}
    assert sum(allocations.values()) == item.distributable
    assert sum(p.amount for p in item.payouts) == allocations["dividends"]
    assert allocations["dividends"] == Decimal("49511.35")  # 70 % of 70730.50, exactly
    plan = queries.share_plan(place)
    balances = books.share_balances(plan)
    assert {p.household_id for p in item.payouts} == set(balances)  # every holder, the collective's own shares too
    for payout in item.payouts:
        exact = allocations["dividends"] * payout.shares / plan.total_shares
        assert abs(payout.amount - exact) < FEN and payout.amount == payout.amount.quantize(FEN)
    recorded = entry(item.ledger_index)
    assert recorded["kind"] == "distribution" and recorded["data"]["action"] == "distribute"
    assert sum(Decimal(v) for v in recorded["data"]["payouts"].values()) == allocations["dividends"]


def income(place, *amounts: str, year: int = 2025) -> None:
    for n, amount in enumerate(amounts, start=1):
        books.record_income(place, date(year, n, 10), f"租金 {n}", Decimal(amount))


@pytest.mark.parametrize("percentages, code", [
    ({"reserve": "15", "welfare": "5", "management": "10", "dividends": "71"}, "DIST-PERCENT"),  # 101 %
    ({"reserve": "60", "welfare": "50", "management": "0", "dividends": "0"}, "DIST-PERCENT"),  # 110 %
    ({"reserve": "15", "welfare": "5", "management": "10", "dividends": "69.99"}, "DIST-PERCENT"),  # 99.99 %
    ({"reserve": "15", "welfare": "5", "dividends": "80"}, "DIST-PERCENT"),  # management missing
    ({"reserve": "-10", "welfare": "5", "management": "10", "dividends": "95"}, "DIST-PERCENT"),
    ({"reserve": "NaN", "welfare": "5", "management": "10", "dividends": "70"}, "DIST-PERCENT"),
    ({"reserve": "十五", "welfare": "5", "management": "10", "dividends": "70"}, "DIST-PERCENT"),
])
def test_a_distribution_plan_over_or_under_one_hundred_percent_is_refused(baiyan_plan, percentages, code):
    place = baiyan_plan["collective"]
    income(place, "1000.00")
    motion = resolution(place, MotionKind.distribution, date(2026, 1, 20))
    refused(code, books.distribute, place, 2025, baiyan_plan["plan"], motion, percentages)
    assert books.distribute(place, 2025, baiyan_plan["plan"], motion, PLAN).distributable == Decimal("1000.00")


def test_a_distribution_needs_its_resolution_income_and_is_made_once(baiyan_plan):
    place, plan = baiyan_plan["collective"], baiyan_plan["plan"]
    motion = resolution(place, MotionKind.distribution, date(2026, 1, 20))
    refused("DIST-NO-INCOME", books.distribute, place, 2025, plan, motion, PLAN)
    income(place, "1000.00")
    refused("DIST-RESOLUTION", books.distribute, place, 2025, plan, None, PLAN)
    refused("DIST-RESOLUTION", books.distribute, place, 2025, plan, baiyan_plan["plan_motion"], PLAN)
    refused("DIST-RESOLUTION", books.distribute, place, 2025, plan,
            resolution(collective(JINSHAN), MotionKind.distribution, date(2026, 1, 20)), PLAN)
    refused("DIST-PLAN", books.distribute, place, 2025, queries.share_plan(collective(JINSHAN)), motion, PLAN)
    size = ledger_size()
    books.distribute(place, 2025, plan, motion, PLAN)
    assert ledger_size() == size + 1
    refused("DIST-TWICE", books.distribute, place, 2025, plan, motion, PLAN)


def test_awkward_amounts_still_sum_exactly(baiyan_plan):
    place, plan = baiyan_plan["collective"], baiyan_plan["plan"]
    income(place, "333.33", "0.01", "66.67")  # 400.01 yuan over odd shares
    motion = resolution(place, MotionKind.distribution, date(2026, 1, 20))
    item = books.distribute(place, 2025, plan, motion, {"reserve": "33.3", "welfare": "33.3", "management": "0.1",
                                                         "dividends": "33.3"})
    allocations = {k: Decimal(v) for k, v in item.allocations.items()}
    assert item.distributable == Decimal("400.01") and sum(allocations.values()) == Decimal("400.01")
    assert sum(p.amount for p in item.payouts) == allocations["dividends"]
    assert all(p.amount >= 0 for p in item.payouts)


def test_a_small_income_is_never_split_into_a_negative_part(baiyan_plan):
    """Rounding reserve and welfare half-up separately (0.015 → 0.02 twice) used to leave dividends at −0.01."""
    place = baiyan_plan["collective"]
    income(place, "0.03")
    motion = resolution(place, MotionKind.distribution, date(2026, 1, 20))
    item = books.distribute(place, 2025, baiyan_plan["plan"], motion,
                            {"reserve": "50", "welfare": "50", "management": "0", "dividends": "0"})
    allocations = {k: Decimal(v) for k, v in item.allocations.items()}
    assert allocations == {"reserve": Decimal("0.02"), "welfare": Decimal("0.01"), "management": Decimal("0.00"),
                           "dividends": Decimal("0.00")}
    assert all(p.amount == 0 for p in item.payouts)


# --- the rounding rule, as properties ------------------------------------------------------------------------

fen_amounts = st.integers(min_value=1, max_value=10**11).map(lambda fen: Decimal(fen) / 100)
percent_parts = st.lists(st.integers(min_value=0, max_value=10000), min_size=3, max_size=3).filter(
    lambda parts: sum(parts) <= 10000)


@settings(max_examples=300, deadline=None)
@given(total=fen_amounts, parts=percent_parts)
def test_the_four_parts_sum_exactly_none_negative_none_a_fen_off(total, parts):
    hundredths = [*parts, 10000 - sum(parts)]  # percentages with two decimals, summing to exactly 100
    percentages = dict(zip(("reserve", "welfare", "management", "dividends"), (Decimal(p) / 100 for p in hundredths),
                           strict=True))
    allocations = split_by_percent(total, percentages)
    assert sum(allocations.values()) == total
    for key, amount in allocations.items():
        assert amount >= 0 and amount == amount.quantize(FEN)
        assert abs(amount - total * percentages[key] / 100) < FEN


@settings(max_examples=300, deadline=None)
@given(total=fen_amounts, shares=st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=60)
       .filter(lambda s: sum(s) > 0))
def test_dividends_over_households_sum_exactly_and_each_within_a_fen(total, shares):
    weights = {household: Decimal(s) / 100 for household, s in enumerate(shares)}  # shares to 0.01
    payouts = split_exact(total, weights)
    assert sum(payouts.values()) == total
    whole = sum(weights.values())
    for household, amount in payouts.items():
        assert amount >= 0 and abs(amount - total * weights[household] / whole) < FEN
        if weights[household] == 0:
            assert amount == 0
