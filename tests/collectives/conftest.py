"""Factories for the collective's books (成员、决议、股份、收益分配), built on the demo dataset.

The demo gives 金山村 (the ``village`` account's collective, in 新宁镇) its whole books: a confirmed roll (notice
2025-03-03 … 03-09, meeting 2025-03-20), a share plan of 10000 shares (cut-off 2025-03-31), 2025's income and
its distribution, and a resolution to lease the idle school. 白岩村 (also 新宁镇) and 石桥村 (普安镇) have no
books, so tests that build a roll, a plan or a distribution from nothing use them.

Every test runs inside the per-test transaction of ``connection``, rolled back at its end.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange.collectives import operations as books
from exchange.collectives.models import (
    Distribution, IncomeRecord, InventoryItem, InventoryRun, Meeting, MeetingKind, MemberEvent, MemberEventKind, Motion,
    MotionKind, Notice, Objection, Payout, ShareMovement, SharePlan,
)
from exchange.db import db
from exchange.divisions.models import Division
from exchange.errors import DomainError
from exchange.ledger_app import service
from exchange.registry.models import Collective, Household, Person
from ledger.entry import decode

JINSHAN = "511723100200"  # 金山村, 新宁镇: the demo books
BAIYAN = "511723100201"  # 白岩村, 新宁镇: no books yet
SHIQIAO = "511723101200"  # 石桥村, 普安镇: no books yet

BOOK_TABLES = (MemberEvent, Notice, Objection, Meeting, Motion, InventoryRun, InventoryItem, SharePlan, ShareMovement,
               IncomeRecord, Distribution, Payout)
PLAN_TYPES = [{"code": "population", "name": "人口股", "percent": "60"},
              {"code": "labour_age", "name": "劳龄股", "percent": "30"},
              {"code": "collective", "name": "集体股", "percent": "10"}]


def collective(code: str) -> Collective:
    return db.session.scalar(select(Collective).join(Division, Collective.division_id == Division.id)
                             .where(Division.code == code))


def households(code: str, count: int | None = None) -> list[Household]:
    found = list(db.session.scalars(select(Household).where(Household.collective_id == collective(code).id)
                                    .order_by(Household.code)))
    return found[:count] if count else found


def people_of(*households_: Household) -> list[Person]:
    return [person for household in households_ for person in household.members]


def ledger_size() -> int:
    return service.store().size(db.session.connection())


def entry(index: int) -> dict:
    """A ledger entry, decoded from exactly the bytes that were hashed."""
    return decode(service.store().entries(db.session.connection(), index, index + 1)[0][1])


def snapshot() -> dict[str, int]:
    """The ledger's size and the row count of every table of the books."""
    db.session.flush()
    counts = {table.__tablename__: db.session.scalar(select(func.count()).select_from(table)) for table in BOOK_TABLES}
    return {"ledger": ledger_size(), **counts}


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """The call is refused with ``code`` and has written nothing: no row of the books, no ledger entry.

    The call runs without a savepoint around it, so a row it added before refusing would be counted here."""
    before = snapshot()
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    codes = getattr(caught.value, "codes", [caught.value.code])
    assert code in codes, (code, codes, caught.value.message_zh)
    assert snapshot() == before
    return caught.value


def resolution(place: Collective, kind: MotionKind, held_on: date, *, eligible: int = 30, attendees: int = 25,
               votes_for: int = 22, title: str | None = None, subject: dict | None = None) -> Motion:
    """A passed motion (决议) of ``kind`` at a representatives' meeting of ``place``."""
    meeting = books.hold_meeting(place, MeetingKind.representatives, held_on, "村委会会议室", eligible, attendees)
    motion = books.add_motion(meeting, kind, title or f"{kind.value} 事项", subject=subject)
    books.record_votes(motion, votes_for, attendees - votes_for, 0)
    assert motion.passed and motion.resolution_number
    return motion


def confirmed_roll(place: Collective, persons: list[Person], listed_on: date = date(2025, 1, 6)) -> tuple[Notice, Motion]:
    """The whole confirmation procedure: initial roll, a 7-day notice, a membership resolution after it."""
    books.list_candidates(place, persons, MemberEventKind.initial_roll, listed_on, "初始成员名册")
    notice = books.open_notice(place, persons, listed_on + timedelta(days=1), "成员名册公示")
    motion = resolution(place, MotionKind.membership, notice.ends_on + timedelta(days=1))
    books.confirm_members(notice, motion)
    return notice, motion


@pytest.fixture
def baiyan(app_ctx):
    """白岩村 with a confirmed roll of its first three households (confirmed 2025-01-14)."""
    place = collective(BAIYAN)
    homes = households(BAIYAN, 3)
    notice, motion = confirmed_roll(place, people_of(*homes))
    return {"collective": place, "households": homes, "people": people_of(*homes), "notice": notice,
            "membership_motion": motion}


@pytest.fixture
def baiyan_plan(baiyan):
    """…and a share plan of 1000 shares adopted on 2025-02-10 with the roll of 2025-01-31."""
    place = baiyan["collective"]
    motion = resolution(place, MotionKind.share_plan, date(2025, 2, 10))
    plan = books.adopt_share_plan(place, motion, date(2025, 1, 31), Decimal("300000.00"), 1000, PLAN_TYPES, [])
    return {**baiyan, "plan": plan, "plan_motion": motion}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
