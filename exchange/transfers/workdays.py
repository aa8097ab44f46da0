"""Working days (工作日) for notice periods: the official calendar from chinese-calendar, and for years it does not
cover (it raises for them) the holiday table county staff keep, plus weekends. A deadline computed with the
fallback is *provisional* and pages say so."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select

from exchange.db import db
from exchange.transfers.models import Holiday


@dataclass(frozen=True)
class Deadline:
    starts_on: date
    ends_on: date
    provisional: bool  # some day in between came from the staff-kept table, not the official calendar


def _recorded(first: date, last: date) -> dict[date, bool]:
    rows = db.session.execute(select(Holiday.day, Holiday.is_workday).where(Holiday.day.between(first, last)))
    return {day: workday for day, workday in rows}


class Calendar:
    """Answers "is this a working day?" for a span, loading the staff table once."""

    def __init__(self, first: date, last: date) -> None:
        self.recorded = _recorded(first, last)
        self.provisional = False

    def is_workday(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self.provisional = True
            if day in self.recorded:
                return self.recorded[day]
            return day.weekday() < 5


def working_days_from(start: date, days: int) -> Deadline:
    """A period of ``days`` working days beginning on ``start`` (or the next working day after it): its first and
    last working day."""
    if days < 1:
        raise ValueError("a period lasts at least one working day")
    calendar = Calendar(start, start + timedelta(days=days * 3 + 30))
    day = start
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    first, counted = day, 1
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return Deadline(first, day, calendar.provisional)


def covered_years() -> tuple[int, int]:
    """The years the official calendar library knows."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]
