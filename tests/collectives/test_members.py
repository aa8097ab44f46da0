"""成员身份确认 and membership changes: the procedure (roll, notice, objections, resolution), the roll as of any
date, and each change written to the ledger in the same transaction."""
from __future__ import annotations

from datetime import date, timedelta

from exchange.collectives import operations as books
from exchange.collectives.models import MemberEventKind, MotionKind

from tests.collectives.conftest import (
    BAIYAN, JINSHAN, collective, entry, households, ledger_size, people_of, refused, resolution,
)


def statuses(place, on: date) -> dict[int, str]:
    return {person.id: status for person, status, _events in books.roll(place, on)}


# --- the procedure --------------------------------------------------------------------------------------------


def test_initial_roll_notice_objection_and_resolution_confirm_the_members(app_ctx):
    place = collective(BAIYAN)
    homes = households(BAIYAN, 2)
    persons = people_of(*homes)
    size = ledger_size()
    books.list_candidates(place, persons, MemberEventKind.initial_roll, date(2025, 1, 6), "初始成员名册")
    notice = books.open_notice(place, persons, date(2025, 1, 7), "白岩村成员名册公示")
    assert (notice.starts_on, notice.ends_on) == (date(2025, 1, 7), date(2025, 1, 13))  # MEMBER_NOTICE_DAYS = 7
    disputed = persons[-1]
    objection = books.raise_objection(notice, disputed, "二组村民", "已在外村落户", date(2025, 1, 10))
    books.handle_objection(objection, "经核实户籍已迁出，异议成立", upheld=True)
    motion = resolution(place, MotionKind.membership, date(2025, 1, 14))
    confirmed = books.confirm_members(notice, motion)

    assert {e.person_id for e in confirmed} == {p.id for p in persons} - {disputed.id}
    roll = statuses(place, date(2025, 1, 14))
    assert roll[disputed.id] == "candidate"
    assert all(roll[p.id] == "member" for p in persons if p is not disputed)
    # four entries: the roll, the notice, the resolution, the confirmation; nobody's ID number in clear
    assert ledger_size() == size + 4
    kinds = [entry(i)["kind"] for i in range(size, size + 4)]
    assert kinds == ["membership", "membership", "resolution", "membership"]
    confirmation = entry(confirmed[0].ledger_index)
    assert confirmation["data"]["action"] == "confirm"
    assert confirmation["data"]["resolution"]["number"] == motion.resolution_number
    assert confirmation["data"]["excluded_by_objection"] == 1
    assert {p["id_masked"] for p in confirmation["data"]["persons"]} == {p.id_number_masked for p in persons
                                                                         if p is not disputed}
    assert "*" in confirmation["data"]["persons"][0]["id_masked"]


def test_confirmation_needs_a_membership_resolution(app_ctx):
    place = collective(BAIYAN)
    persons = people_of(*households(BAIYAN, 1))
    books.list_candidates(place, persons, MemberEventKind.initial_roll, date(2025, 1, 6))
    notice = books.open_notice(place, persons, date(2025, 1, 7), "公示")
    refused("MEMBER-RESOLUTION", books.confirm_members, notice, None)
    other_kind = resolution(place, MotionKind.distribution, date(2025, 1, 20))
    refused("MEMBER-RESOLUTION", books.confirm_members, notice, other_kind)
    elsewhere = resolution(collective(JINSHAN), MotionKind.membership, date(2025, 1, 20))
    refused("MEMBER-RESOLUTION", books.confirm_members, notice, elsewhere)


def test_confirmation_waits_for_the_end_of_the_notice_and_for_every_objection(app_ctx):
    place = collective(BAIYAN)
    persons = people_of(*households(BAIYAN, 1))
    books.list_candidates(place, persons, MemberEventKind.initial_roll, date(2025, 1, 6))
    notice = books.open_notice(place, persons, date(2025, 1, 7), "公示")
    on_last_day = resolution(place, MotionKind.membership, notice.ends_on)
    refused("MEMBER-NOTICE", books.confirm_members, notice, on_last_day)
    books.raise_objection(notice, persons[0], "村民", "有异议", notice.ends_on)
    day_after = resolution(place, MotionKind.membership, notice.ends_on + timedelta(days=1))
    refused("MEMBER-OBJECTION", books.confirm_members, notice, day_after)
    books.handle_objection(notice.objections[0], "经核实异议不成立", upheld=False)
    assert len(books.confirm_members(notice, day_after)) == len(persons)  # the nearest allowed case


def test_an_objection_is_raised_during_the_notice_only(app_ctx):
    place = collective(BAIYAN)
    persons = people_of(*households(BAIYAN, 1))
    books.list_candidates(place, persons, MemberEventKind.initial_roll, date(2025, 1, 6))
    notice = books.open_notice(place, persons, date(2025, 1, 7), "公示")
    refused("NOTICE-CLOSED", books.raise_objection, notice, persons[0], "村民", "迟到的异议", notice.ends_on + timedelta(days=1))
    not_on_it = people_of(*households(BAIYAN)[1:2])[0]
    refused("NOTICE-PERSON", books.raise_objection, notice, not_on_it, "村民", "异议", notice.ends_on)


def test_an_objection_is_handled_once_with_its_outcome(app_ctx):
    place = collective(BAIYAN)
    persons = people_of(*households(BAIYAN, 1))
    books.list_candidates(place, persons, MemberEventKind.initial_roll, date(2025, 1, 6))
    notice = books.open_notice(place, persons, date(2025, 1, 7), "公示")
    objection = books.raise_objection(notice, persons[0], "村民", "有异议", date(2025, 1, 8))
    refused("REQUIRED", books.handle_objection, objection, " ", upheld=False)
    books.handle_objection(objection, "经核实异议不成立", upheld=False)
    refused("OBJECTION-HANDLED", books.handle_objection, objection, "改为成立", upheld=True)
    assert objection.upheld is False


def test_a_member_is_not_confirmed_twice(baiyan):
    place, notice = baiyan["collective"], baiyan["notice"]
    again = resolution(place, MotionKind.membership, date(2025, 2, 1))
    error = refused("MEMBER-TWICE", books.confirm_members, notice, again)
    assert baiyan["people"][0].id_number_masked in error.message_zh
    # nor put on a second notice; a new person is (the nearest allowed case)
    refused("MEMBER-TWICE", books.open_notice, place, baiyan["people"][:1], date(2025, 2, 3), "再次公示")
    newcomer = people_of(*households(BAIYAN)[3:4])
    books.list_candidates(place, newcomer, MemberEventKind.application, date(2025, 2, 1), "申请加入")
    second = books.open_notice(place, newcomer, date(2025, 2, 3), "新成员公示")
    assert len(books.confirm_members(second, resolution(place, MotionKind.membership, date(2025, 2, 12)))) == len(newcomer)


def test_a_confirmed_member_is_not_put_forward_again(baiyan):
    refused("MEMBER-TWICE", books.list_candidates, baiyan["collective"], baiyan["people"][:1],
            MemberEventKind.application, date(2025, 3, 1), "重复申请")


def test_only_people_put_forward_go_on_a_notice(app_ctx):
    place = collective(BAIYAN)
    never_listed = people_of(*households(BAIYAN, 1))
    refused("MEMBER-NOT-CANDIDATE", books.open_notice, place, never_listed, date(2025, 1, 7), "公示")


def test_a_notice_names_people_of_its_own_collective(app_ctx):
    place = collective(BAIYAN)
    outsider = people_of(*households(JINSHAN, 1))[:1]
    refused("MEMBER-OTHER-COLLECTIVE", books.list_candidates, place, outsider, MemberEventKind.application,
            date(2025, 1, 6), "申请")


# --- changes ------------------------------------------------------------------------------------------------


def test_a_member_who_settles_in_town_keeps_membership(baiyan):
    place, person = baiyan["collective"], baiyan["people"][0]
    size = ledger_size()
    event = books.record_member_change(place, person, MemberEventKind.moved_to_town, date(2025, 6, 1),
                                       "进城落户（开江县城）")
    assert statuses(place, date(2025, 6, 2))[person.id] == "member"
    assert person in books.members_on(place, date(2026, 1, 1))
    assert ledger_size() == size + 1
    recorded = entry(event.ledger_index)
    assert recorded["kind"] == "membership"
    assert recorded["data"]["kind"] == "moved_to_town" and recorded["data"]["person"]["id_masked"] == person.id_number_masked


def test_death_ends_membership_from_its_date_and_the_past_roll_is_unchanged(baiyan):
    place, person = baiyan["collective"], baiyan["people"][1]
    event = books.record_member_change(place, person, MemberEventKind.death, date(2025, 8, 15), "病故")
    assert entry(event.ledger_index)["data"]["kind"] == "death"
    assert statuses(place, date(2025, 8, 14))[person.id] == "member"
    assert statuses(place, date(2025, 8, 15))[person.id] == "former"
    refused("MEMBER-NOT-MEMBER", books.record_member_change, place, person, MemberEventKind.moved_to_town,
            date(2025, 9, 1), "进城")


def test_loss_of_membership_and_paid_exit_need_their_resolutions(baiyan):
    place, person = baiyan["collective"], baiyan["people"][2]
    refused("MEMBER-RESOLUTION", books.record_member_change, place, person, MemberEventKind.loss_by_resolution,
            date(2025, 5, 1), "长期下落不明")
    refused("EXIT-RESOLUTION", books.record_member_change, place, person, MemberEventKind.voluntary_exit,
            date(2025, 5, 1), "自愿有偿退出")
    wrong_kind = resolution(place, MotionKind.membership, date(2025, 5, 1))
    refused("EXIT-RESOLUTION", books.record_member_change, place, person, MemberEventKind.voluntary_exit,
            date(2025, 5, 1), "自愿有偿退出", wrong_kind)
    refused("REQUIRED", books.record_member_change, place, person, MemberEventKind.death, date(2025, 5, 1), " ")
    exit_motion = resolution(place, MotionKind.share_exit, date(2025, 5, 10))
    event = books.record_member_change(place, person, MemberEventKind.voluntary_exit, date(2025, 5, 10),
                                       "自愿有偿退出", exit_motion)
    assert entry(event.ledger_index)["data"]["resolution"]["number"] == exit_motion.resolution_number
    assert statuses(place, date(2025, 5, 10))[person.id] == "former"


def test_joining_goes_through_the_roll_not_through_a_change(baiyan):
    refused("MEMBER-EVENT-KIND", books.record_member_change, baiyan["collective"], baiyan["people"][0],
            MemberEventKind.confirmation, date(2025, 5, 1), "直接确认")


# --- the roll as of a date ----------------------------------------------------------------------------------


def test_the_demo_roll_as_of_past_dates(app_ctx):
    place = collective(JINSHAN)
    assert books.roll(place, date(2025, 2, 28)) == []
    before = statuses(place, date(2025, 3, 19))  # listed and on notice, not yet confirmed
    assert before and set(before.values()) == {"candidate"}
    after = statuses(place, date(2025, 3, 20))  # the meeting confirmed everyone
    assert set(after) == set(before) and set(after.values()) == {"member"}
    person = books.members_on(place, date(2025, 3, 20))[0]
    books.record_member_change(place, person, MemberEventKind.death, date(2026, 2, 1), "病故")
    assert statuses(place, date(2026, 1, 31))[person.id] == "member"
    assert statuses(place, date(2026, 2, 1))[person.id] == "former"
    assert len(books.members_on(place, date(2026, 2, 1))) == len(after) - 1
