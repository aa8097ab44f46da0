"""The demo collective's books: 金山村's confirmed roll, a share plan, a year of income and its distribution,
and a resolution to lease the idle school (what the exchange's listing step attaches)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from exchange.collectives import operations as books
from exchange.collectives.models import MeetingKind, MemberEventKind, MotionKind
from exchange.db import db
from exchange.demo.data import COUNTY
from exchange.ledger_app.service import ledger_actor, ledger_batch
from exchange.registry.models import Collective, CollectiveAsset, Household, Person

DEMO_VILLAGE = "511723100200"  # 金山村
ACTOR = {"role": "village", "division": DEMO_VILLAGE, "account": "demo-import"}


def load_books_demo() -> dict[str, int | str]:
    collective = db.session.scalar(select(Collective).join(Collective.division).where(
        Collective.division.has(code=DEMO_VILLAGE)))
    people = list(db.session.scalars(select(Person).join(Household).where(Household.collective_id == collective.id)
                                     .order_by(Person.id)))
    with ledger_actor(ACTOR), ledger_batch():
        books.list_candidates(collective, people, MemberEventKind.initial_roll, date(2025, 3, 1), "初始成员名册")
        notice = books.open_notice(collective, people, date(2025, 3, 3), "金山村集体经济组织成员名册公示")
        objection = books.raise_objection(notice, people[5], "一组村民", "该成员已于 2020 年迁出并在外村落户。",
                                          date(2025, 3, 5))
        books.handle_objection(objection, "经村民小组核实，该成员户籍未迁出，仍在本村生产生活，异议不成立。", upheld=False)
        households = len({p.household_id for p in people})
        assembly = books.hold_meeting(collective, MeetingKind.representatives, date(2025, 3, 20), "金山村村委会会议室",
                                      eligible=households, attendees=households - 4)
        roll_motion = books.add_motion(assembly, MotionKind.membership, "确认金山村集体经济组织成员名册")
        books.record_votes(roll_motion, households - 6, 1, 1)
        books.confirm_members(notice, roll_motion)
        plan_motion = books.add_motion(assembly, MotionKind.share_plan, "金山村集体经营性资产股份量化方案")
        books.record_votes(plan_motion, households - 5, 0, 1)
        school = db.session.scalar(select(CollectiveAsset).where(CollectiveAsset.code == f"{DEMO_VILLAGE}-ZC002"))
        plan = books.adopt_share_plan(
            collective, plan_motion, date(2025, 3, 31), Decimal("1250000.00"), 10000,
            [{"code": "population", "name": "人口股", "percent": "70"},
             {"code": "labour_age", "name": "劳龄股", "percent": "20"},
             {"code": "collective", "name": "集体股", "percent": "10"}],
            [school.code])
        books.run_inventory(collective, date(2025, 12, 31), [
            {"asset": a, "book_value": a.book_value, "appraised_value": a.book_value * Decimal("1.15"),
             "status": a.status, "finding": "账实相符"}
            for a in db.session.scalars(select(CollectiveAsset).where(CollectiveAsset.collective_id == collective.id))
        ], findings="2025 年度清产核资：资产账实相符，原村小学校舍闲置。")
        for month, (source, amount) in enumerate([
            ("堰塘养殖水面租金（2025 年度）", "36000.00"), ("集体林地林下经济合作收益", "18500.00"),
            ("土地经营权流转服务费", "4230.50"), ("村口经营性建设用地临时使用费", "12000.00")], start=2):
            books.record_income(collective, date(2025, month * 2, 15), source, Decimal(amount))
        meeting = books.hold_meeting(collective, MeetingKind.representatives, date(2026, 1, 18), "金山村村委会会议室",
                                     eligible=households, attendees=households - 3)
        dist_motion = books.add_motion(meeting, MotionKind.distribution, "2025 年度收益分配方案")
        books.record_votes(dist_motion, households - 5, 1, 0)
        distribution = books.distribute(collective, 2025, plan, dist_motion,
                                        {"reserve": "15", "welfare": "5", "management": "10", "dividends": "70"})
        lease_motion = books.add_motion(meeting, MotionKind.asset_lease, "原村小学校舍公开招租（挂牌出租 10 年）",
                                        subject={"asset": school.code})
        books.record_votes(lease_motion, households - 6, 2, 0)
    return {"members": len(people), "share_plan_total": plan.total_shares,
            "distribution_2025": str(distribution.distributable), "resolutions": 4,
            "village": COUNTY[1] + "新宁镇金山村"}
