"""Rules of the collective's books: each one small function with a code, a citation and bilingual messages.

They share the registry's refusal type (``RuleViolations``): a refusal names every failing rule at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from exchange.collectives.models import TWO_THIRDS_KINDS, Motion, MotionKind
from exchange.registry.rules import RuleViolations, Violation


@dataclass
class Check:
    """Collects violations for one operation and raises them together."""

    violations: list[Violation] = field(default_factory=list)

    def fail(self, code: str, citation: str, zh: str, en: str, field: str | None = None) -> None:
        self.violations.append(Violation(code, citation, zh, en, field))

    def done(self) -> None:
        if self.violations:
            raise RuleViolations(self.violations)


def check_votes(check: Check, motion: Motion, votes_for: int, votes_against: int, abstentions: int,
                quorum_fraction: Decimal) -> bool:
    """QUORUM, VOTES-COUNT, and COLLECTIVE-2-3 or MAJORITY. Returns whether the motion carries."""
    meeting = motion.meeting
    carried = True
    if min(votes_for, votes_against, abstentions) < 0 or votes_for + votes_against + abstentions > meeting.attendees:
        check.fail("VOTES-COUNT", "表决规则",
                   f"表决票数（同意 {votes_for}、反对 {votes_against}、弃权 {abstentions}）不能为负，合计不能超过到会 {meeting.attendees} 人。",
                   f"Votes ({votes_for} for, {votes_against} against, {abstentions} abstaining) cannot be negative "
                   f"nor exceed the {meeting.attendees} present.", "votes_for")
        return False
    if Decimal(meeting.attendees) <= Decimal(meeting.eligible) * quorum_fraction:
        check.fail("QUORUM", "村民委员会组织法 第22条；农村集体经济组织章程",
                   f"到会 {meeting.attendees} 人，未超过应到 {meeting.eligible} 人的 {quorum_fraction:.0%}，会议不足法定人数，不能形成决议。",
                   f"{meeting.attendees} present of {meeting.eligible} is not more than {quorum_fraction:.0%}: "
                   "no quorum, no resolution.", "attendees")
        carried = False
    if motion.kind in TWO_THIRDS_KINDS:
        if 3 * votes_for < 2 * meeting.eligible:
            check.fail("COLLECTIVE-2-3", "土地管理法 第63条；民法典 第261条；农村土地承包法 第52条",
                       f"此类事项须经成员（代表）三分之二以上同意：应到 {meeting.eligible} 人，至少需 "
                       f"{-(-2 * meeting.eligible // 3)} 票同意，实得 {votes_for} 票。",
                       f"This matter needs 2/3 of all {meeting.eligible} members or representatives: at least "
                       f"{-(-2 * meeting.eligible // 3)} in favour, got {votes_for}.", "votes_for")
            carried = False
    elif 2 * votes_for <= meeting.attendees:
        check.fail("MAJORITY", "村民委员会组织法 第22条",
                   f"须经到会人员过半数同意：到会 {meeting.attendees} 人，同意 {votes_for} 票。",
                   f"Needs more than half of those present: {votes_for} of {meeting.attendees}.", "votes_for")
        carried = False
    return carried


def check_resolution(check: Check, motion: Motion | None, kind: MotionKind, collective_id: int,
                     code: str, citation: str, what_zh: str, what_en: str) -> None:
    """The operation needs a passed resolution of ``kind`` of the same collective."""
    if motion is None or not motion.passed or motion.kind != kind or motion.meeting.collective_id != collective_id:
        check.fail(code, citation, f"{what_zh}须有本集体经济组织已通过的相应决议（类型：{kind.value}）。",
                   f"{what_en} needs a passed resolution of this collective (kind: {kind.value}).", "motion_id")


def check_percentages(check: Check, percentages: dict[str, Any]) -> None:
    values = _decimals({k: v for k, v in percentages.items()}) if isinstance(percentages, dict) else None
    if not values or set(values) != {"reserve", "welfare", "management", "dividends"} or any(v < 0 for v in values.values()):
        check.fail("DIST-PERCENT", "农村集体经济组织财务制度",
                   "分配方案应列明公积公益金（reserve）、福利费（welfare）、管理费（management）和股东分红（dividends）四项比例，且均不小于 0。",
                   "The plan gives four percentages — reserve, welfare, management, dividends — none negative.",
                   "percentages")
        return
    total = sum(values.values(), Decimal(0))
    if total != 100:
        check.fail("DIST-PERCENT", "农村集体经济组织财务制度",
                   f"分配比例合计应恰好为 100%，现为 {total.normalize()}%。",
                   f"The percentages must sum to exactly 100%, not {total.normalize()}%.", "percentages")


def _decimals(values: dict[str, Any]) -> dict[str, Decimal] | None:
    """Finite decimals, or None when one of the values is not a number (text, NaN, infinity, a list …)."""
    try:
        found = {k: Decimal(str(v)) for k, v in values.items() if not isinstance(v, (bool, dict, list))}
    except ArithmeticError:
        return None
    if len(found) != len(values) or not all(v.is_finite() for v in found.values()):
        return None
    return found


def check_share_types(check: Check, types: list[dict]) -> None:
    known = {"population", "labour_age", "collective"}
    types = types if isinstance(types, list) and all(isinstance(t, dict) for t in types) else [{}]
    codes = [t.get("code") for t in types]
    bad = [c for c in codes if c not in known]
    if bad or not types or len(set(codes)) != len(codes):
        check.fail("SHARE-TYPE", "股份量化方案",
                   f"股份类型应各不相同，且为 population 人口股、labour_age 劳龄股、collective 集体股之一；现为 {codes}。",
                   f"Share types must be distinct, each one of population, labour_age, collective; got {codes}.",
                   "types")
        return
    percents = _decimals({t["code"]: t.get("percent") for t in types})
    if percents is None or any(v < 0 for v in percents.values()):
        check.fail("SHARES-SUM", "实践规则", "各类股份比例应为不小于 0 的数。",
                   "Each share type's percent is a number, not negative.", "types")
        return
    total = sum(percents.values(), Decimal(0))
    if total != 100:
        check.fail("SHARES-SUM", "实践规则", f"各类股份比例之和应恰好为 100%，现为 {total.normalize()}%。",
                   f"The share types' percentages must sum to exactly 100%, not {total.normalize()}%.", "types")


def notice_over(notice_end: date, on: date) -> bool:
    return on > notice_end
