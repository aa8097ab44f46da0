"""股份量化 and later changes: a plan adopted by resolution whose movements sum exactly to its total (SHARES-SUM),
inheritance and transfer inside the collective, and paid exit (股权有偿退出) only by its own resolution."""
from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from exchange.collectives import operations as books
from exchange.collectives import queries
from exchange.collectives.models import MeetingKind, MemberEventKind, MotionKind, ShareMovement
from exchange.db import db
from sqlalchemy import select

from tests.collectives.conftest import (
    JINSHAN, PLAN_TYPES, SHIQIAO, collective, entry, households, ledger_size, refused, resolution,
)


def plan_args(**overrides) -> dict:
    args = {"cutoff_on": date(2025, 1, 31), "quantified_value": Decimal("300000.00"), "total_shares": 1000,
            "types": PLAN_TYPES, "asset_codes": []}
    args.update(overrides)
    return args


def types(*percents) -> list[dict]:
    return [{**t, "percent": p} for t, p in zip(PLAN_TYPES, percents, strict=True)]


def test_the_plan_splits_every_share_and_records_each_household(baiyan):
    place = baiyan["collective"]
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    size = ledger_size()
    plan = books.adopt_share_plan(place, motion, **plan_args())
    movements = list(db.session.scalars(select(ShareMovement).where(ShareMovement.plan_id == plan.id)))
    by_type = Counter()
    for m in movements:
        by_type[m.share_type] += m.delta
    assert by_type == {"population": 600, "labour_age": 300, "collective": 100}
    assert sum(m.delta for m in movements) == 1000  # SHARES-SUM: exactly the plan, not 999.99
    population = [m.delta for m in movements if m.share_type == "population"]
    assert len(population) == len(baiyan["people"]) and max(population) - min(population) <= Decimal("0.01")
    balances = books.share_balances(plan)
    assert sum(balances.values()) == 1000
    assert set(balances) == {h.id for h in baiyan["households"]} | {None}
    assert ledger_size() == size + 1
    recorded = entry(plan.ledger_index)
    assert recorded["kind"] == "shares" and recorded["data"]["action"] == "quantify"
    assert recorded["data"]["resolution"]["number"] == motion.resolution_number
    assert sum(Decimal(v) for v in recorded["data"]["households"].values()) == 1000
    assert {k for k in recorded["data"]["households"]} == {h.code for h in baiyan["households"]} | {"collective"}


def test_the_demo_plan_sums_exactly_to_its_total(app_ctx):
    plan = queries.share_plan(collective(JINSHAN))
    assert sum(books.share_balances(plan).values()) == plan.total_shares == 10000


@pytest.mark.parametrize("percents", [("60", "30", "9"), ("60", "30", "10.5"), ("150", "-50", "0")])
def test_share_types_must_sum_to_exactly_one_hundred_percent(baiyan, percents):
    place = baiyan["collective"]
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    refused("SHARES-SUM", books.adopt_share_plan, place, motion, **plan_args(types=types(*percents)))
    assert books.adopt_share_plan(place, motion, **plan_args(types=types("60", "30", "10"))).total_shares == 1000


@pytest.mark.parametrize("bad", [[{"code": "founders", "percent": "100"}], [],
                                 [{"code": "population", "percent": "50"}, {"code": "population", "percent": "50"}]])
def test_share_types_are_the_known_ones_each_once(baiyan, bad):
    place = baiyan["collective"]
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    refused("SHARE-TYPE", books.adopt_share_plan, place, motion, **plan_args(types=bad))


def test_a_plan_needs_its_resolution_a_roll_and_known_assets(baiyan):
    place = baiyan["collective"]
    refused("SHARE-PLAN-RESOLUTION", books.adopt_share_plan, place, None, **plan_args())
    refused("SHARE-PLAN-RESOLUTION", books.adopt_share_plan, place,
            resolution(place, MotionKind.distribution, date(2025, 2, 10)), **plan_args())
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    refused("SHARE-NO-MEMBERS", books.adopt_share_plan, place, motion, **plan_args(cutoff_on=date(2025, 1, 13)))
    refused("SHARES-SUM", books.adopt_share_plan, place, motion, **plan_args(total_shares=0))
    refused("SHARE-ASSET", books.adopt_share_plan, place, motion, **plan_args(asset_codes=[f"{JINSHAN}-ZC002"]))


def test_a_collective_has_one_plan(app_ctx):
    place = collective(JINSHAN)
    motion = resolution(place, MotionKind.share_plan, date(2026, 2, 1))
    refused("SHARE-PLAN-EXISTS", books.adopt_share_plan, place, motion, **plan_args(cutoff_on=date(2026, 1, 31)))


# --- changes ------------------------------------------------------------------------------------------------


def test_a_paid_exit_needs_its_own_share_exit_resolution(baiyan_plan):
    place, plan = baiyan_plan["collective"], baiyan_plan["plan"]
    home = baiyan_plan["households"][0]
    held = books.share_balances(plan)[home.id]
    refused("EXIT-RESOLUTION", books.exit_shares, plan, home, held, Decimal("5000.00"), None)
    refused("EXIT-RESOLUTION", books.exit_shares, plan, home, held, Decimal("5000.00"), baiyan_plan["plan_motion"])
    elsewhere = resolution(collective(SHIQIAO), MotionKind.share_exit, date(2025, 6, 1))
    refused("EXIT-RESOLUTION", books.exit_shares, plan, home, held, Decimal("5000.00"), elsewhere)
    meeting = books.hold_meeting(place, MeetingKind.representatives, date(2025, 6, 1), "村委会", 30, 25)
    not_passed = books.record_votes(books.add_motion(meeting, MotionKind.share_exit, "退出"), 15, 10, 0,
                                    declare_passed=False)
    refused("EXIT-RESOLUTION", books.exit_shares, plan, home, held, Decimal("5000.00"), not_passed)

    motion = resolution(place, MotionKind.share_exit, date(2025, 6, 2), subject={"household": home.code})
    refused("SHARE-BALANCE", books.exit_shares, plan, home, held + Decimal("0.01"), Decimal("5000.00"), motion)
    refused("SHARE-BALANCE", books.exit_shares, plan, home, Decimal("0.001"), Decimal("5000.00"), motion)
    refused("EXIT-PRICE", books.exit_shares, plan, home, held, Decimal("-1"), motion)
    size = ledger_size()
    index = books.exit_shares(plan, home, held, Decimal("5000.00"), motion)  # the nearest allowed case
    balances = books.share_balances(plan)
    assert home.id not in balances and sum(balances.values()) == 1000  # bought back by the collective
    assert ledger_size() == size + 1
    recorded = entry(index)
    assert recorded["kind"] == "shares" and recorded["data"]["action"] == "exit"
    assert recorded["data"]["price"] == "5000.00" and recorded["data"]["resolution"]["number"] == motion.resolution_number
    other = baiyan_plan["households"][1]
    refused("EXIT-RESOLUTION", books.exit_shares, plan, other, Decimal("1"), Decimal("10.00"), motion)  # used once


def test_shares_pass_only_inside_the_collective(baiyan_plan):
    plan = baiyan_plan["plan"]
    first, second = baiyan_plan["households"][:2]
    outsider = households(JINSHAN, 1)[0]
    refused("SHARES-INSIDE", books.transfer_shares, plan, first, outsider, Decimal("1"), "transfer")
    refused("SHARES-INSIDE", books.transfer_shares, plan, first, first, Decimal("1"), "transfer")
    refused("SHARE-REASON", books.transfer_shares, plan, first, second, Decimal("1"), "gift")
    refused("SHARE-BALANCE", books.transfer_shares, plan, first, second, Decimal("100000"), "inheritance")
    before = books.share_balances(plan)
    index = books.transfer_shares(plan, first, second, before[first.id], "inheritance")
    after = books.share_balances(plan)
    assert first.id not in after and after[second.id] == before[first.id] + before[second.id]
    assert sum(after.values()) == 1000
    assert entry(index)["data"] == {"action": "inheritance", "from": first.code, "to": second.code,
                                    "shares": str(before[first.id]), "price": None}


def test_shares_are_quantified_over_the_roll_of_the_cutoff_date(baiyan):
    """Someone who settled in town keeps their share; someone who died before the cut-off gets none."""
    place = baiyan["collective"]
    moved, died = baiyan["people"][0], baiyan["people"][1]
    books.record_member_change(place, moved, MemberEventKind.moved_to_town, date(2025, 1, 20), "进城落户")
    books.record_member_change(place, died, MemberEventKind.death, date(2025, 1, 20), "病故")
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    plan = books.adopt_share_plan(place, motion, **plan_args(types=types("100", "0", "0")))
    holders = {m.person_id for m in db.session.scalars(select(ShareMovement).where(ShareMovement.plan_id == plan.id))}
    assert moved.id in holders and died.id not in holders
    assert len(holders) == len(baiyan["people"]) - 1
