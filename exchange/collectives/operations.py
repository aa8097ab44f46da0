"""Operations on a collective's books. Each checks its rules, adds rows, writes its ledger entry in the same
transaction and flushes; the caller commits once."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from exchange.collectives.models import (
    CANDIDATE, JOINING, LEAVING, Distribution, IncomeRecord, InventoryItem, InventoryRun, Meeting, MeetingKind,
    MemberEvent, MemberEventKind, Motion, MotionKind, Notice, Objection, Payout, ShareMovement, SharePlan, SharePledge,
    SharePledgeStep,
)
from exchange.collectives.money import FEN, is_fen_amount, split_by_percent, split_exact
from exchange.collectives.rules import Check, check_percentages, check_resolution, check_share_types, check_votes
from exchange.db import db, utcnow
from exchange.errors import DomainError
from exchange.ledger_app.service import record
from exchange.registry.models import AssetClass, Collective, CollectiveAsset, Household, Person


def _subject(collective: Collective) -> dict:
    return {"type": "collective", "id": collective.credit_code}


def _person_ref(person: Person) -> dict:
    return {"id_hash": person.id_number_hash, "id_masked": person.id_number_masked,
            "household": person.household.code if person.household else None}


# --- members ------------------------------------------------------------------------------------------


def member_events(collective: Collective, on: date | None = None) -> list[MemberEvent]:
    query = select(MemberEvent).where(MemberEvent.collective_id == collective.id)
    if on is not None:
        query = query.where(MemberEvent.effective_on <= on)
    return list(db.session.scalars(query.order_by(MemberEvent.effective_on, MemberEvent.id)))


def member_status(events: list[MemberEvent]) -> str:
    """candidate, member or former, from one person's events in date order."""
    status = "none"
    for event in events:
        if event.kind in JOINING:
            status = "member"
        elif event.kind in LEAVING:
            status = "former"
        elif event.kind in CANDIDATE and status != "member":
            status = "candidate"
    return status


def roll(collective: Collective, on: date) -> list[tuple[Person, str, list[MemberEvent]]]:
    """Everyone with a membership event up to ``on``: (person, status, events). The roll as of any date."""
    by_person: dict[int, list[MemberEvent]] = defaultdict(list)
    for event in member_events(collective, on):
        by_person[event.person_id].append(event)
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(list(by_person))))}
    return sorted(((people[pid], member_status(events), events) for pid, events in by_person.items()),
                  key=lambda item: (item[0].household_id or 0, item[0].id))


def members_on(collective: Collective, on: date) -> list[Person]:
    return [person for person, status, _ in roll(collective, on) if status == "member"]


def statuses_on(collective: Collective, on: date | None = None) -> dict[int, str]:
    """person id → candidate, member or former, as of ``on`` (None: counting every event, whatever its date)."""
    by_person: dict[int, list[MemberEvent]] = defaultdict(list)
    for event in member_events(collective, on):
        by_person[event.person_id].append(event)
    return {person_id: member_status(events) for person_id, events in by_person.items()}


def _check_people(check: Check, collective: Collective, persons: list[Person]) -> None:
    """Everyone named belongs to a household of this collective (the roll is the collective's own)."""
    outsiders = [p for p in persons if p.household is None or p.household.collective_id != collective.id]
    if outsiders:
        check.fail("MEMBER-OTHER-COLLECTIVE", "成员名册",
                   f"{len(outsiders)} 人不属于本集体经济组织的农户（{'、'.join(p.id_number_masked for p in outsiders[:3])}），"
                   "不能列入本集体的名册。",
                   f"{len(outsiders)} person(s) do not belong to a household of this collective.", "persons")


def _check_not_members(check: Check, persons: list[Person], statuses: dict[int, str], on: date) -> None:
    twice = [p for p in persons if statuses.get(p.id) == "member"]
    if twice:
        check.fail("MEMBER-TWICE", "成员名册",
                   f"{len(twice)} 人已是本集体成员，不能重复确认（{'、'.join(p.id_number_masked for p in twice[:3])}）。",
                   f"{len(twice)} person(s) are already members (as of {on} or later) and cannot be confirmed twice.",
                   "persons")


def _member_event(collective: Collective, person: Person, kind: MemberEventKind, on: date, reason: str = "",
                  motion: Motion | None = None, notice: Notice | None = None, index: int | None = None) -> MemberEvent:
    event = MemberEvent(collective_id=collective.id, person=person, household=person.household, kind=kind,
                        effective_on=on, reason=reason, motion=motion, notice_id=notice.id if notice else None,
                        ledger_index=index if index is not None else -1)
    db.session.add(event)
    return event


def list_candidates(collective: Collective, persons: list[Person], kind: MemberEventKind, on: date,
                    reason: str = "") -> list[MemberEvent]:
    """Put people on the roll for confirmation: the initial roll, an application, a birth or a marriage in."""
    if kind not in CANDIDATE:
        raise DomainError("MEMBER-EVENT-KIND", f"{kind.value} 不是列入待确认名册的方式。",
                          f"{kind.value} does not put a person forward for confirmation.", field="kind")
    check = Check()
    _check_people(check, collective, persons)
    _check_not_members(check, persons, statuses_on(collective, on), on)
    check.done()
    index = record("membership", [_subject(collective)], {
        "action": "list_candidates", "kind": kind.value, "on": on.isoformat(), "reason": reason,
        "persons": [_person_ref(p) for p in persons]})
    events = [_member_event(collective, p, kind, on, reason, index=index) for p in persons]
    db.session.flush()
    return events


def open_notice(collective: Collective, persons: list[Person], starts_on: date, title: str) -> Notice:
    """公示 of people to be confirmed, for MEMBER_NOTICE_DAYS days; objections may be raised meanwhile. Only people
    put forward (initial roll, application, birth, marriage in) and not yet members go on a notice."""
    check = Check()
    _check_people(check, collective, persons)
    statuses = statuses_on(collective, starts_on)
    _check_not_members(check, persons, statuses, starts_on)
    not_listed = [p for p in persons if statuses.get(p.id) not in ("candidate", "member")]
    if not_listed:
        check.fail("MEMBER-NOT-CANDIDATE", "农村集体经济组织法 第12条",
                   f"{len(not_listed)} 人尚未列入待确认名册（初始名册、申请、出生或婚入），不能公示"
                   f"（{'、'.join(p.id_number_masked for p in not_listed[:3])}）。",
                   f"{len(not_listed)} person(s) have not been put forward (initial roll, application, birth or "
                   "marriage in) and cannot go on a notice.", "persons")
    check.done()
    days = int(current_app.config["MEMBER_NOTICE_DAYS"])
    notice = Notice(collective=collective, title=title, starts_on=starts_on, ends_on=starts_on + timedelta(days=days - 1),
                    person_ids=[p.id for p in persons], ledger_index=-1)
    db.session.add(notice)
    db.session.flush()
    notice.ledger_index = record("membership", [_subject(collective)], {
        "action": "notice", "notice": notice.id, "title": title, "starts_on": starts_on.isoformat(),
        "ends_on": notice.ends_on.isoformat(), "persons": [_person_ref(p) for p in persons]})
    return notice


def raise_objection(notice: Notice, person: Person | None, raised_by: str, text: str, on: date) -> Objection:
    if not notice.starts_on <= on <= notice.ends_on:
        raise DomainError("NOTICE-CLOSED", f"异议应在公示期 {notice.starts_on} 至 {notice.ends_on} 内提出。",
                          f"Objections are raised during the notice, {notice.starts_on} to {notice.ends_on}.",
                          field="on")
    if person is not None and person.id not in notice.person_ids:
        raise DomainError("NOTICE-PERSON", f"{person.id_number_masked} 不在该公示名单中。",
                          f"{person.id_number_masked} is not on this notice.", field="person")
    objection = Objection(notice=notice, person=person, raised_by=raised_by, text=text)
    db.session.add(objection)
    return objection


def handle_objection(objection: Objection, outcome: str, upheld: bool) -> Objection:
    if objection.handled_at is not None:
        raise DomainError("OBJECTION-HANDLED", "该异议已处理。", "This objection has been handled.", field="objection",
                          status=409)
    if not outcome.strip():
        raise DomainError("REQUIRED", "请写明处理结果。", "Say how the objection was handled.", field="outcome")
    objection.handled_at, objection.outcome, objection.upheld = utcnow(), outcome, upheld
    return objection


def confirm_members(notice: Notice, motion: Motion) -> list[MemberEvent]:
    """Confirm the people of a notice by resolution, except those an upheld objection concerns."""
    collective = notice.collective
    check = Check()
    check_resolution(check, motion, MotionKind.membership, collective.id, "MEMBER-RESOLUTION",
                     "农村集体经济组织法 第12条", "成员身份确认", "Confirming members")
    if check.violations:  # without its resolution there is no meeting date to check the rest against
        check.done()
    if motion.meeting.held_on <= notice.ends_on:
        check.fail("MEMBER-NOTICE", "农村集体经济组织法 第12条",
                   f"公示期至 {notice.ends_on} 结束，决议会议（{motion.meeting.held_on}）应在公示期满之后召开。",
                   f"The notice runs until {notice.ends_on}; the meeting ({motion.meeting.held_on}) must come after it.",
                   "motion_id")
    open_objections = [o for o in notice.objections if o.handled_at is None]
    if open_objections:
        check.fail("MEMBER-OBJECTION", "农村集体经济组织法 第12条",
                   f"还有 {len(open_objections)} 条异议未处理，处理后才能确认。",
                   f"{len(open_objections)} objection(s) are not yet handled.", "objections")
    excluded = {o.person_id for o in notice.objections if o.upheld}
    people = [p for p in db.session.scalars(select(Person).where(Person.id.in_(notice.person_ids))) if p.id not in excluded]
    # A member on the meeting's date, or by a confirmation recorded for a later date, is not confirmed again.
    on_the_day, overall = statuses_on(collective, motion.meeting.held_on), statuses_on(collective)
    _check_not_members(check, people, {p.id: "member" for p in people if "member" in
                                       (on_the_day.get(p.id), overall.get(p.id))}, motion.meeting.held_on)
    check.done()
    on = motion.meeting.held_on
    index = record("membership", [_subject(collective)], {
        "action": "confirm", "notice": notice.id, "resolution": motion.evidence, "on": on.isoformat(),
        "persons": [_person_ref(p) for p in people], "excluded_by_objection": len(excluded)})
    events = [_member_event(collective, p, MemberEventKind.confirmation, on, motion.resolution_number or "",
                            motion=motion, notice=notice, index=index) for p in people]
    db.session.flush()
    return events


def record_member_change(collective: Collective, person: Person, kind: MemberEventKind, on: date, reason: str,
                         motion: Motion | None = None) -> MemberEvent:
    """Death, marriage out, moving to town (keeps membership), voluntary exit, loss by resolution."""
    if kind in CANDIDATE or kind in JOINING:
        raise DomainError("MEMBER-EVENT-KIND", f"{kind.value} 应通过待确认名册和决议办理。",
                          f"{kind.value} goes through the roll and a resolution.", field="kind")
    check = Check()
    status = member_status([e for e in member_events(collective, on) if e.person_id == person.id])
    if status != "member":
        check.fail("MEMBER-NOT-MEMBER", "成员名册", f"{person.id_number_masked} 在 {on} 不是本集体成员。",
                   f"{person.id_number_masked} is not a member on {on}.", "person")
    if kind == MemberEventKind.loss_by_resolution:
        check_resolution(check, motion, MotionKind.membership, collective.id, "MEMBER-RESOLUTION",
                         "农村集体经济组织法 第17条", "丧失成员身份", "Loss of membership")
    if kind == MemberEventKind.voluntary_exit:
        check_resolution(check, motion, MotionKind.share_exit, collective.id, "EXIT-RESOLUTION",
                         "农村集体经济组织法 第18条", "自愿有偿退出", "A paid voluntary exit")
    if not reason.strip():
        check.fail("REQUIRED", "成员名册", "请写明变动原因。", "Give the reason for the change.", "reason")
    check.done()
    index = record("membership", [_subject(collective)], {
        "action": "change", "kind": kind.value, "on": on.isoformat(), "reason": reason,
        "person": _person_ref(person), "resolution": motion.evidence if motion else None})
    event = _member_event(collective, person, kind, on, reason, motion=motion, index=index)
    db.session.flush()
    return event


# --- meetings and resolutions --------------------------------------------------------------------------


def hold_meeting(collective: Collective, kind: MeetingKind, held_on: date, place: str, eligible: int,
                 attendees: int) -> Meeting:
    if eligible <= 0 or not 0 <= attendees <= eligible:
        raise DomainError("ATTENDANCE", f"到会人数应在 0 至应到人数 {eligible} 之间，且应到人数大于 0。",
                          f"Attendance must be between 0 and the {eligible} entitled, who must be more than 0.",
                          field="attendees")
    meeting = Meeting(collective=collective, kind=kind, held_on=held_on, place=place, eligible=eligible,
                      attendees=attendees)
    db.session.add(meeting)
    return meeting


def add_motion(meeting: Meeting, kind: MotionKind, title: str, text: str = "", subject: dict | None = None) -> Motion:
    motion = Motion(meeting=meeting, kind=kind, title=title, text=text, subject=subject or {})
    db.session.add(motion)
    return motion


def record_votes(motion: Motion, votes_for: int, votes_against: int, abstentions: int, *,
                 declare_passed: bool = True) -> Motion:
    """Record the vote. Declaring a motion passed is refused unless quorum and the required majority hold."""
    if motion.ledger_index is not None:
        raise DomainError("VOTE-RECORDED", "该议题的表决结果已记录。", "This motion's vote is already recorded.",
                          field="motion", status=409)
    check = Check()
    carried = check_votes(check, motion, votes_for, votes_against, abstentions,
                          Decimal(str(current_app.config["COLLECTIVE_QUORUM_FRACTION"])))
    if declare_passed:
        check.done()
    elif check.violations and any(v.code == "VOTES-COUNT" for v in check.violations):
        check.done()
    motion.votes_for, motion.votes_against, motion.abstentions = votes_for, votes_against, abstentions
    motion.passed = carried
    meeting = motion.meeting
    if carried:
        year = meeting.held_on.year
        count = db.session.scalar(select(func.count()).select_from(Motion).join(Meeting).where(
            Meeting.collective_id == meeting.collective.id, Motion.resolution_number.is_not(None),
            Meeting.held_on >= date(year, 1, 1),
            Meeting.held_on <= date(year, 12, 31)))
        motion.resolution_number = f"{meeting.collective.division.name}决〔{year}〕{count + 1}号"
    motion.ledger_index = record("resolution", [_subject(meeting.collective)], {
        "action": "vote", "meeting": {"kind": meeting.kind.value, "held_on": meeting.held_on.isoformat(),
                                      "eligible": meeting.eligible, "attendees": meeting.attendees},
        "motion": {"kind": motion.kind.value, "title": motion.title, "subject": motion.subject},
        "votes": {"for": votes_for, "against": votes_against, "abstentions": abstentions},
        "passed": carried, "resolution_number": motion.resolution_number})
    return motion


# --- inventory and the asset ledger --------------------------------------------------------------------


def run_inventory(collective: Collective, as_of: date, items: list[dict], findings: str = "") -> InventoryRun:
    """清产核资: each item {asset, book_value, appraised_value, status, finding}."""
    check = Check()
    for n, item in enumerate(items):
        asset = item["asset"]
        if asset.collective_id != collective.id:
            check.fail("INVENTORY-ASSET", "清产核资", f"第 {n + 1} 项资产 {asset.code} 不属于本集体。",
                       f"Item {n + 1}: asset {asset.code} does not belong to this collective.", f"items[{n}].asset")
        for key in ("book_value", "appraised_value"):
            if Decimal(str(item[key])) < 0:
                check.fail("INVENTORY-VALUE", "清产核资", f"第 {n + 1} 项的价值不能为负数。",
                           f"Item {n + 1}: values cannot be negative.", f"items[{n}].{key}")
    check.done()
    run = InventoryRun(collective=collective, as_of=as_of, findings=findings, ledger_index=-1)
    run.items = [InventoryItem(asset=i["asset"], book_value=Decimal(str(i["book_value"])),
                               appraised_value=Decimal(str(i["appraised_value"])), status=i.get("status", "in_use"),
                               finding=i.get("finding", "")) for i in items]
    db.session.add(run)
    run.ledger_index = record("registration", [_subject(collective)], {
        "action": "inventory", "as_of": as_of.isoformat(), "findings": findings,
        "items": [{"asset": i["asset"].code, "book_value": str(i["book_value"]),
                   "appraised_value": str(i["appraised_value"]), "finding": i.get("finding", "")} for i in items]})
    return run


def asset_ledger(collective: Collective, as_of: date) -> list[dict]:
    """台账 as of a date: each asset with the values of the newest inventory on or before it."""
    assets = db.session.scalars(select(CollectiveAsset).where(CollectiveAsset.collective_id == collective.id)
                                .order_by(CollectiveAsset.code)).all()
    latest: dict[int, InventoryItem] = {}
    runs = db.session.scalars(select(InventoryRun).where(InventoryRun.collective_id == collective.id,
                                                         InventoryRun.as_of <= as_of)
                              .order_by(InventoryRun.as_of, InventoryRun.id)).all()
    for run in runs:
        for item in run.items:
            latest[item.asset_id] = item
    rows = []
    for asset in assets:
        item = latest.get(asset.id)
        rows.append({"code": asset.code, "name": asset.name, "class": asset.asset_class.value,
                     "category": asset.category, "area_m2": asset.area_m2, "source": asset.source,
                     "location": asset.location,
                     "book_value": item.book_value if item else asset.book_value,
                     "appraised_value": item.appraised_value if item else None,
                     "status": item.status if item else asset.status,
                     "inventory": item.run.as_of if item else None,
                     "inventory_index": item.run.ledger_index if item else None,
                     "finding": item.finding if item else ""})
    return rows


# --- shares --------------------------------------------------------------------------------------------


def _labour_years(person: Person, cutoff: date) -> int:
    """Whole years a person has been of labour age (16 to 60) by the cut-off date."""
    if person.birth_date is None:
        return 0
    start = date(person.birth_date.year + 16, person.birth_date.month, min(person.birth_date.day, 28))
    end = min(cutoff, date(person.birth_date.year + 60, person.birth_date.month, min(person.birth_date.day, 28)))
    return max((end - start).days // 365, 0)


def adopt_share_plan(collective: Collective, motion: Motion, cutoff_on: date, quantified_value: Decimal,
                     total_shares: int, types: list[dict], asset_codes: list[str]) -> SharePlan:
    """股份量化: split ``total_shares`` over the share types, then each type over the members on the cut-off date
    (population: one weight per member; labour_age: years of labour age; collective: kept by the collective),
    by the largest-remainder method to 0.01 share, so the totals equal the plan exactly (SHARES-SUM)."""
    check = Check()
    check_resolution(check, motion, MotionKind.share_plan, collective.id, "SHARE-PLAN-RESOLUTION",
                     "农村集体经济组织法 第40条", "股份量化方案", "A share quantification plan")
    check_share_types(check, types)
    if not isinstance(total_shares, int) or total_shares <= 0 or not Decimal(str(quantified_value)).is_finite() \
            or Decimal(str(quantified_value)) < 0:
        check.fail("SHARES-SUM", "实践规则", "总股数应为大于 0 的整数，量化资产净值不能为负。",
                   "Total shares must be a whole number above 0 and the quantified value not negative.", "total_shares")
    owned = {a.code: a for a in db.session.scalars(select(CollectiveAsset).where(
        CollectiveAsset.collective_id == collective.id, CollectiveAsset.code.in_(list(asset_codes))))}
    unknown = [c for c in asset_codes if c not in owned or owned[c].asset_class == AssetClass.non_operating]
    if unknown:
        check.fail("SHARE-ASSET", "农村集体经济组织法 第40条",
                   f"量化的资产应为本集体登记的经营性或资源性资产：{'、'.join(unknown[:5])} 不是。",
                   f"Quantified assets are registered operating or resource assets of this collective; "
                   f"{', '.join(unknown[:5])} are not.", "asset_codes")
    existing = db.session.scalar(select(SharePlan.id).where(SharePlan.collective_id == collective.id))
    if existing:
        check.fail("SHARE-PLAN-EXISTS", "股份量化方案", "本集体已有股份量化方案；调整应通过股份变动办理。",
                   "This collective already has a share plan; later changes are share movements.", "collective")
    members = members_on(collective, cutoff_on)
    if not members:
        check.fail("SHARE-NO-MEMBERS", "股份量化方案", f"截止日 {cutoff_on} 没有已确认的成员。",
                   f"No confirmed members on the cut-off date {cutoff_on}.", "cutoff_on")
    check.done()
    plan = SharePlan(collective=collective, motion=motion, cutoff_on=cutoff_on,
                     quantified_value=Decimal(str(quantified_value)), total_shares=total_shares, types=types,
                     asset_codes=asset_codes, ledger_index=-1)
    db.session.add(plan)
    by_type = split_exact(Decimal(total_shares), {t["code"]: Decimal(str(t["percent"])) for t in types})
    movements = []
    for share_type, amount in by_type.items():
        if amount == 0:
            continue
        if share_type == "collective":
            movements.append(ShareMovement(plan=plan, household=None, person=None, share_type=share_type,
                                           delta=amount, reason="quantification", ledger_index=-1))
            continue
        weights = {p.id: Decimal(1) if share_type == "population" else Decimal(_labour_years(p, cutoff_on))
                   for p in members}
        if sum(weights.values()) == 0:
            weights = {p.id: Decimal(1) for p in members}
        people = {p.id: p for p in members}
        for person_id, shares in split_exact(amount, weights).items():
            if shares:
                movements.append(ShareMovement(plan=plan, household=people[person_id].household,
                                               person=people[person_id], share_type=share_type, delta=shares,
                                               reason="quantification", ledger_index=-1))
    total = sum((m.delta for m in movements), Decimal(0))
    if total != total_shares:  # cannot happen with split_exact; a guard for the invariant itself
        raise RuntimeError(f"SHARES-SUM violated: {total} != {total_shares}")
    db.session.add_all(movements)
    households = defaultdict(Decimal)
    for m in movements:
        households[m.household.code if m.household else "collective"] += m.delta
    plan.ledger_index = record("shares", [_subject(collective)], {
        "action": "quantify", "resolution": motion.evidence, "cutoff_on": cutoff_on.isoformat(),
        "quantified_value": str(quantified_value), "total_shares": total_shares, "types": types,
        "assets": asset_codes, "households": {k: str(v) for k, v in sorted(households.items())}})
    for m in movements:
        m.ledger_index = plan.ledger_index
    db.session.flush()
    return plan


def share_balances(plan: SharePlan) -> dict[int | None, Decimal]:
    """Shares per household (None: the collective's own), as the sum of all movements."""
    rows = db.session.execute(select(ShareMovement.household_id, func.sum(ShareMovement.delta))
                              .where(ShareMovement.plan_id == plan.id).group_by(ShareMovement.household_id)).all()
    return {household_id: Decimal(total) for household_id, total in rows if Decimal(total) != 0}


def _balance(plan: SharePlan, household: Household | None) -> Decimal:
    return share_balances(plan).get(household.id if household else None, Decimal(0))


def active_share_pledges(plan: SharePlan, household: Household) -> list[SharePledge]:
    """The household's registered, unreleased share pledges (股权质押), in the order registered: their rank."""
    pledges = db.session.scalars(select(SharePledge).where(SharePledge.plan_id == plan.id,
                                                           SharePledge.household_id == household.id)
                                 .options(selectinload(SharePledge.events)).order_by(SharePledge.id))
    active = [p for p in pledges if p.step == SharePledgeStep.registered]
    return sorted(active, key=lambda p: next(e.id for e in p.events if e.step == SharePledgeStep.registered))


def pledged_shares(plan: SharePlan, household: Household) -> Decimal:
    return sum((p.shares for p in active_share_pledges(plan, household)), Decimal(0))


def _check_unpledged(check: Check, plan: SharePlan, household: Household, shares: Decimal, what_zh: str,
                     what_en: str) -> None:
    """SHARES-PLEDGED: pledged shares are neither transferred, inherited nor exited until the bank releases them."""
    pledges = active_share_pledges(plan, household)
    if not pledges or not is_fen_amount(shares) or shares <= 0:
        return
    held = _balance(plan, household)
    free = held - sum((p.shares for p in pledges), Decimal(0))
    if shares <= held and shares > free:
        named = "；".join(f"{p.bank.name} {p.shares} 股（{p.certificate_number}，至 {p.end_date}）" for p in pledges)
        named_en = "; ".join(f"{p.bank.name} {p.shares} shares ({p.certificate_number}, until {p.end_date})"
                             for p in pledges)
        check.fail("SHARES-PLEDGED", "民法典 第443条",
                   f"该户 {held} 股中有 {held - free} 股已出质给{named}，质押期间不得{what_zh}；现可{what_zh}的只有 {free} 股，"
                   "或请质权人先解除质押。",
                   f"{held - free} of the household's {held} shares are pledged to {named_en} and cannot be "
                   f"{what_en} while pledged; {free} are free, or ask the pledgee to release the pledge first.",
                   "shares")


def transfer_shares(plan: SharePlan, from_household: Household, to_household: Household, shares: Decimal,
                    reason: str, price: Decimal | None = None) -> int:
    """Inheritance or transfer inside the collective (股权继承、内部转让)."""
    shares = Decimal(str(shares))
    check = Check()
    if reason not in ("inheritance", "transfer"):
        check.fail("SHARE-REASON", "股权管理", "变动原因应为 inheritance（继承）或 transfer（内部转让）。",
                   "The reason is inheritance or transfer.", "reason")
    if from_household.collective_id != plan.collective_id or from_household.id == to_household.id:
        check.fail("SHARES-INSIDE", "农村集体经济组织法 第41条", "转出户应为本集体的另一农户。",
                   "Shares pass from one household of the collective to another.", "from_household")
    if to_household.collective_id != plan.collective_id:
        check.fail("SHARES-INSIDE", "农村集体经济组织法 第41条", "股份只能在本集体经济组织内部转让或继承给本集体成员户。",
                   "Shares pass only to households of the same collective.", "to_household")
    if not is_fen_amount(shares) or shares <= 0 or shares > _balance(plan, from_household):
        check.fail("SHARE-BALANCE", "股权管理",
                   f"转出股数应为正数（至多两位小数），且不超过该户现有 {_balance(plan, from_household)} 股。",
                   f"Shares moved must be positive (two decimals at most) and at most the "
                   f"{_balance(plan, from_household)} the household holds.", "shares")
    _check_unpledged(check, plan, from_household, shares, "继承或转让" if reason == "inheritance" else "转让",
                     "inherited or transferred" if reason == "inheritance" else "transferred")
    price = Decimal(str(price)) if price is not None else None
    if price is not None and (not is_fen_amount(price) or price < 0):
        check.fail("SHARE-PRICE", "股权管理", "转让价款应为不小于 0 的金额，精确到分。",
                   "The price is an amount not below zero, to the fen.", "price")
    check.done()
    index = record("shares", [_subject(plan.collective)], {
        "action": reason, "from": from_household.code, "to": to_household.code, "shares": str(shares),
        "price": str(price) if price is not None else None})
    db.session.add_all([
        ShareMovement(plan=plan, household=from_household, share_type="mixed", delta=-shares, reason=reason,
                      price=price, ledger_index=index),
        ShareMovement(plan=plan, household=to_household, share_type="mixed", delta=shares, reason=reason,
                      price=price, ledger_index=index)])
    db.session.flush()
    return index


def exit_shares(plan: SharePlan, household: Household, shares: Decimal, price: Decimal, motion: Motion | None) -> int:
    """股权有偿退出: the collective buys the shares back at ``price``, by resolution."""
    shares = Decimal(str(shares))
    check = Check()
    check_resolution(check, motion, MotionKind.share_exit, plan.collective_id, "EXIT-RESOLUTION",
                     "农村集体经济组织法 第18条", "股权有偿退出", "A paid exit")
    if motion is not None and db.session.scalar(select(ShareMovement.id).where(
            ShareMovement.motion_id == motion.id, ShareMovement.reason == "exit").limit(1)):
        check.fail("EXIT-RESOLUTION", "农村集体经济组织法 第18条",
                   f"决议 {motion.resolution_number} 已用于一次股权退出；每次退出须有其决议。",
                   f"Resolution {motion.resolution_number} already authorised an exit; each exit needs its own.",
                   "motion_id")
    if household.collective_id != plan.collective_id:
        check.fail("SHARES-INSIDE", "农村集体经济组织法 第41条", "只有本集体的农户可以退出本集体的股份。",
                   "Only a household of this collective exits its shares.", "household")
    if not is_fen_amount(shares) or shares <= 0 or shares > _balance(plan, household):
        check.fail("SHARE-BALANCE", "股权管理",
                   f"退出股数应为正数（至多两位小数），且不超过该户现有 {_balance(plan, household)} 股。",
                   f"Shares must be positive (two decimals at most) and at most the {_balance(plan, household)} held.",
                   "shares")
    _check_unpledged(check, plan, household, shares, "退出", "exited")
    price = Decimal(str(price))
    if not is_fen_amount(price) or price < 0:
        check.fail("EXIT-PRICE", "股权管理", "退出价款应为不小于 0 的金额，精确到分。",
                   "The exit price is an amount not below zero, to the fen.", "price")
    check.done()
    index = record("shares", [_subject(plan.collective)], {
        "action": "exit", "household": household.code, "shares": str(shares), "price": str(price),
        "resolution": motion.evidence})
    db.session.add_all([
        ShareMovement(plan=plan, household=household, share_type="mixed", delta=-shares, reason="exit",
                      price=price, motion_id=motion.id, ledger_index=index),
        ShareMovement(plan=plan, household=None, share_type="collective", delta=shares, reason="exit",
                      price=price, motion_id=motion.id, ledger_index=index)])
    db.session.flush()
    return index


# --- income and distribution ---------------------------------------------------------------------------


def record_income(collective: Collective, received_on: date, source: str, amount: Decimal,
                  right_number: str | None = None) -> IncomeRecord:
    amount = Decimal(str(amount))
    if not is_fen_amount(amount) or amount <= 0:
        raise DomainError("INCOME-AMOUNT", "收入金额应为正数，精确到分。", "Income must be positive, to the fen.",
                          field="amount")
    if not source.strip() or len(source) > 200:
        raise DomainError("REQUIRED", "请写明收入来源（不超过 200 字）。", "Give the source of the income (at most 200 "
                          "characters).", field="source")
    if right_number is not None and len(right_number) > 40:
        raise DomainError("INCOME-RIGHT", "合同或权利编号不超过 40 个字符。",
                          "The right or contract number has at most 40 characters.", field="right_number")
    item = IncomeRecord(collective_id=collective.id, received_on=received_on, source=source, amount=amount,
                        right_number=right_number, ledger_index=-1)
    db.session.add(item)
    item.ledger_index = record("distribution", [_subject(collective)], {
        "action": "income", "received_on": received_on.isoformat(), "source": source, "amount": str(amount),
        "right": right_number})
    db.session.flush()
    return item


def income_of_year(collective: Collective, year: int) -> Decimal:
    total = db.session.scalar(select(func.sum(IncomeRecord.amount)).where(
        IncomeRecord.collective_id == collective.id, IncomeRecord.received_on >= date(year, 1, 1),
        IncomeRecord.received_on <= date(year, 12, 31)))
    return Decimal(total or 0).quantize(FEN)


def distribute(collective: Collective, year: int, plan: SharePlan, motion: Motion,
               percentages: dict[str, str]) -> Distribution:
    """收益分配 of a year's income. The distributable income is split over the four percentages, then the dividends
    over the share balances, both by the largest-remainder method to the fen (``money.split_exact``): the four
    parts sum to the distributable income exactly, and the payouts to the dividends exactly."""
    check = Check()
    check_resolution(check, motion, MotionKind.distribution, collective.id, "DIST-RESOLUTION",
                     "农村集体经济组织法 第42条", "收益分配方案", "A distribution plan")
    check_percentages(check, percentages)
    distributable = income_of_year(collective, year)
    if distributable <= 0:
        check.fail("DIST-NO-INCOME", "收益分配", f"{year} 年没有可分配收入。", f"No distributable income in {year}.", "year")
    if db.session.scalar(select(Distribution.id).where(Distribution.collective_id == collective.id,
                                                       Distribution.year == year)):
        check.fail("DIST-TWICE", "收益分配", f"{year} 年的收益已经分配过。", f"{year}'s income has already been distributed.",
                   "year")
    if plan.collective_id != collective.id:
        check.fail("DIST-PLAN", "收益分配", "股份量化方案不属于本集体。", "The share plan belongs to another collective.",
                   "plan")
    check.done()
    pct = {k: Decimal(str(v)) for k, v in percentages.items()}
    # Rounding reserve, welfare and management half-up separately and giving dividends the rest could leave
    # the dividends a fen or more off their share, or below zero on a small amount; one exact split cannot.
    allocations = split_by_percent(distributable, pct)
    balances = share_balances(plan)
    total_shares = sum(balances.values(), Decimal(0))
    payouts = split_exact(allocations["dividends"], balances) if allocations["dividends"] > 0 else {k: Decimal(0) for k in balances}
    distribution = Distribution(
        collective=collective, plan_id=plan.id, motion=motion, year=year, distributable=distributable,
        percentages={k: str(v) for k, v in pct.items()}, allocations={k: str(v) for k, v in allocations.items()},
        per_share=str((allocations["dividends"] / total_shares).quantize(Decimal("0.000001"))), ledger_index=-1)
    distribution.payouts = [Payout(household_id=household_id, shares=balances[household_id], amount=amount)
                            for household_id, amount in payouts.items()]
    db.session.add(distribution)
    codes = {h.id: h.code for h in db.session.scalars(select(Household).where(Household.id.in_(
        [k for k in payouts if k is not None])))}
    distribution.ledger_index = record("distribution", [_subject(collective)], {
        "action": "distribute", "year": year, "resolution": motion.evidence, "distributable": str(distributable),
        "percentages": distribution.percentages, "allocations": distribution.allocations,
        "payouts": {codes.get(k, "collective"): str(v) for k, v in sorted(payouts.items(), key=lambda i: codes.get(i[0], ""))}})
    return distribution
