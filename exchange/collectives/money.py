"""Splitting an amount exactly: the largest-remainder method (Hamilton), to the fen.

Each share gets the amount rounded *down* to the quantum; the quanta left over go one each to the shares
with the largest remainders; ties go to the earlier key in the order given. The parts always sum to the
total exactly, none is negative, and no part differs from its exact value by a whole quantum or more.

The same rule serves twice in a distribution (收益分配): the distributable income over the plan's four
percentages (reserve, welfare, management, dividends), then the dividends over the households' shares.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_DOWN, Decimal

FEN = Decimal("0.01")


def is_fen_amount(value: Decimal) -> bool:
    """A finite amount to the fen at most, small enough for the books' NUMERIC(14, 2) columns (not NaN, not
    1E+30, not 0.001)."""
    return value.is_finite() and abs(value) < Decimal(10) ** 12 and value == value.quantize(FEN)


def split_exact(total: Decimal, weights: Mapping[Hashable, Decimal], quantum: Decimal = FEN) -> dict[Hashable, Decimal]:
    total = Decimal(total)
    if total != total.quantize(quantum):
        raise ValueError(f"total {total} is not a whole number of {quantum}")
    weight_sum = sum((Decimal(w) for w in weights.values()), Decimal(0))
    if weight_sum <= 0:
        raise ValueError("weights must sum to more than zero")
    if any(Decimal(w) < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    exact = {k: total * Decimal(w) / weight_sum for k, w in weights.items()}
    parts = {k: v.quantize(quantum, rounding=ROUND_DOWN) for k, v in exact.items()}
    left = int((total - sum(parts.values(), Decimal(0))) / quantum)
    order = sorted(exact, key=lambda k: (-(exact[k] - parts[k]), list(weights).index(k)))
    for k in order[:left]:
        parts[k] += quantum
    return parts


DISTRIBUTION_PARTS = ("reserve", "welfare", "management", "dividends")  # 公积公益金、福利费、管理费、股东分红


def split_by_percent(total: Decimal, percentages: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """A distributable amount over a plan's percentages (summing to 100), to the fen, the parts summing to it
    exactly; a fen left over by rounding goes to the part with the largest remainder (ties: reserve first)."""
    return split_exact(total, {k: Decimal(percentages[k]) for k in DISTRIBUTION_PARTS})
