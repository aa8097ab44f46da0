"""Meetings and votes: quorum, the 2/3 rule (COLLECTIVE-2-3) and the majority, each refusal leaving the motion
undecided and the ledger as it was; a passed motion is a numbered resolution with its vote on the ledger."""
from __future__ import annotations

import re
from datetime import date

import pytest

from exchange.collectives import operations as books
from exchange.collectives.models import MeetingKind, MotionKind

from tests.collectives.conftest import BAIYAN, JINSHAN, collective, entry, ledger_size, refused


def motion_at(kind: MotionKind, *, eligible: int, attendees: int, code: str = BAIYAN, held_on=date(2025, 4, 2)):
    meeting = books.hold_meeting(collective(code), MeetingKind.representatives, held_on, "村委会会议室", eligible,
                                 attendees)
    return books.add_motion(meeting, kind, "议题")


def not_decided(motion) -> None:
    assert not motion.passed and motion.resolution_number is None and motion.ledger_index is None
    assert (motion.votes_for, motion.votes_against, motion.abstentions) == (0, 0, 0)


def test_a_motion_without_quorum_is_not_passed(app_ctx):
    motion = motion_at(MotionKind.other, eligible=10, attendees=5)  # half is not more than half
    error = refused("QUORUM", books.record_votes, motion, 5, 0, 0)
    assert "不足法定人数" in error.message_zh
    not_decided(motion)
    nearest = motion_at(MotionKind.other, eligible=10, attendees=6)
    assert books.record_votes(nearest, 4, 2, 0).passed


@pytest.mark.parametrize("kind", [MotionKind.asset_lease, MotionKind.asset_disposal, MotionKind.construction_land,
                                  MotionKind.outsider_contract, MotionKind.share_plan, MotionKind.share_exit,
                                  MotionKind.distribution, MotionKind.membership])
def test_a_collective_matter_needs_two_thirds_of_all_members_or_representatives(app_ctx, kind):
    # 30 representatives: 20 is two thirds. 19 of 25 present is a large majority of those present, and not enough.
    short = motion_at(kind, eligible=30, attendees=25)
    error = refused("COLLECTIVE-2-3", books.record_votes, short, 19, 6, 0)
    assert "至少需 20 票同意，实得 19 票" in error.message_zh
    not_decided(short)
    exact = motion_at(kind, eligible=30, attendees=25)  # the nearest allowed case: exactly two thirds
    books.record_votes(exact, 20, 5, 0)
    assert exact.passed and exact.resolution_number


def test_both_failures_are_named_at_once(app_ctx):
    motion = motion_at(MotionKind.asset_lease, eligible=30, attendees=15)
    error = refused("QUORUM", books.record_votes, motion, 15, 0, 0)
    assert set(error.codes) == {"QUORUM", "COLLECTIVE-2-3"}


def test_an_ordinary_matter_needs_more_than_half_of_those_present(app_ctx):
    refused("MAJORITY", books.record_votes, motion_at(MotionKind.other, eligible=10, attendees=8), 4, 3, 1)
    assert books.record_votes(motion_at(MotionKind.other, eligible=10, attendees=8), 5, 3, 0).passed


def test_votes_cannot_exceed_those_present_or_be_negative(app_ctx):
    refused("VOTES-COUNT", books.record_votes, motion_at(MotionKind.other, eligible=10, attendees=8), 7, 2, 0)
    refused("VOTES-COUNT", books.record_votes, motion_at(MotionKind.other, eligible=10, attendees=8), 7, -1, 0)
    refused("VOTES-COUNT", books.record_votes, motion_at(MotionKind.other, eligible=10, attendees=8), 7, 2, 0,
            declare_passed=False)


def test_attendance_is_between_zero_and_those_entitled(app_ctx):
    refused("ATTENDANCE", books.hold_meeting, collective(BAIYAN), MeetingKind.assembly, date(2025, 4, 2), "礼堂", 10, 11)
    refused("ATTENDANCE", books.hold_meeting, collective(BAIYAN), MeetingKind.assembly, date(2025, 4, 2), "礼堂", 0, 0)


def test_a_failed_vote_may_be_put_on_record_without_being_declared_passed(app_ctx):
    size = ledger_size()
    motion = motion_at(MotionKind.asset_lease, eligible=30, attendees=25)
    books.record_votes(motion, 12, 13, 0, declare_passed=False)
    assert not motion.passed and motion.resolution_number is None
    assert ledger_size() == size + 1
    recorded = entry(motion.ledger_index)
    assert recorded["kind"] == "resolution" and recorded["data"]["passed"] is False
    assert recorded["data"]["votes"] == {"for": 12, "against": 13, "abstentions": 0}


def test_a_resolution_is_numbered_and_its_vote_counts_are_on_the_ledger(app_ctx):
    size = ledger_size()
    motion = motion_at(MotionKind.asset_lease, eligible=42, attendees=39, code=JINSHAN, held_on=date(2026, 3, 2))
    books.record_votes(motion, 30, 6, 3)
    assert motion.resolution_number.startswith("金山村决〔2026〕")
    assert ledger_size() == size + 1
    recorded = entry(motion.ledger_index)
    assert recorded["kind"] == "resolution" and recorded["data"]["passed"] is True
    assert recorded["data"]["resolution_number"] == motion.resolution_number
    assert recorded["data"]["meeting"] == {"kind": "representatives", "held_on": "2026-03-02", "eligible": 42,
                                           "attendees": 39}
    assert recorded["data"]["votes"] == {"for": 30, "against": 6, "abstentions": 3}
    assert motion.evidence["votes_for"] == 30 and motion.evidence["ledger_index"] == motion.ledger_index
    second = motion_at(MotionKind.other, eligible=42, attendees=39, code=JINSHAN, held_on=date(2026, 3, 2))
    books.record_votes(second, 30, 6, 3)
    serial = lambda number: int(re.fullmatch(r"金山村决〔2026〕(\d+)号", number).group(1))  # noqa: E731
    assert serial(second.resolution_number) == serial(motion.resolution_number) + 1
    refused("VOTE-RECORDED", books.record_votes, motion, 31, 5, 3)
