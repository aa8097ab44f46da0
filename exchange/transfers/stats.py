"""Exchange statistics (交易统计) for county staff and the public: transactions, area and value per month by
township and by kind of right, the price of farmland per 亩 and year over time, and failed listings (流拍).

Figures are aggregated in the database (grouped by month, township, kind, price unit and term, so that a rent can
be turned into a value over its term without reading every listing) and finished here. Months are months of the
exchange's time zone. Definitions, which the page repeats:

- a transaction (成交) is a listing whose award stands (awarded, and any later step; annulled ones are not);
  its month is the month of the award;
- value (成交金额) is the lump sum, or the yearly rent times the term in years (``board_queries.term_years``);
- price per 亩 and year is, for farmland management rights with a known area, the sum of yearly prices (rents,
  or lump sums spread over their terms) over the sum of areas in 亩, i.e. weighted by area;
- a failed listing's month is that of its auction's end, or of the end of its notice when nobody qualified.
"""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, func, literal_column, select

from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry.models import to_mu
from exchange.transfers.board_queries import (
    DEAL_STATES, LAND_KINDS, add_months, contract_value, kept, township_divisions, townships, yearly,
)
from exchange.transfers.models import Listing, ListingState

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DEFAULT_MONTHS = 24
MAX_MONTHS = 120
MEASURES = ("transactions", "area", "value")
TABLES = ("township", "kind", "price", "failed", "facts")
FEN = Decimal("0.01")


def parse_month(text: str | None) -> date | None:
    match = MONTH_RE.match((text or "").strip())
    return date(int(match.group(1)), int(match.group(2)), 1) if match else None


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # first day of the last month

    @property
    def months(self) -> list[str]:
        months, day = [], self.first
        while day <= self.last:
            months.append(month_key(day))
            day = add_months(day, 1)
        return months

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants: from the first month's first midnight to the midnight after the last."""
        end = add_months(self.last, 1)
        return (datetime(self.first.year, self.first.month, 1, tzinfo=zone).astimezone(timezone.utc),
                datetime(end.year, end.month, 1, tzinfo=zone).astimezone(timezone.utc))


def period(first: str | None, last: str | None, today: date) -> Period:
    """The months asked for (YYYY-MM), by default the 24 months to this one; at most 120 months."""
    end = parse_month(last) or date(today.year, today.month, 1)
    start = parse_month(first) or add_months(end, 1 - DEFAULT_MONTHS)
    if start > end:
        start, end = end, start
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        start = add_months(end, 1 - MAX_MONTHS)
    return Period(start, end)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["EXCHANGE_TIMEZONE"])


def _month_of_instant(column, label: str):
    """The local month (YYYY-MM) of a UTC timestamp column, in the database's own dialect. Constants are written
    into the SQL (not bound) so that PostgreSQL sees the same expression in SELECT and GROUP BY."""
    zone = current_app.config["EXCHANGE_TIMEZONE"]
    if db.session.get_bind().dialect.name == "postgresql":
        quoted = zone.replace("'", "''")
        return func.to_char(func.timezone(literal_column(f"'{quoted}'"), column), literal_column("'YYYY-MM'")).label(label)
    # SQLite keeps UTC text; shift by the zone's current offset (zones without summer time, like China's, are exact)
    minutes = int(datetime.now(ZoneInfo(zone)).utcoffset().total_seconds() // 60)
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column(f"'{minutes:+d} minutes'")).label(label)


def _month_of_day(column, label: str):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'")).label(label)
    return func.strftime(literal_column("'%Y-%m'"), column).label(label)


def _township_of(label: str):
    return func.substr(Division.code, 1, 9).label(label)


def _filters(divisions: tuple[int, ...] | None, kind: str | None) -> list:
    """A township as its divisions' ids (the listings' own indexed column), and a kind."""
    conditions = []
    if divisions is not None:
        conditions.append(Listing.division_id.in_(divisions))
    if kind:
        conditions.append(Listing.kind == kind)
    return conditions


@dataclass
class Fact:
    """One (month, township, kind) cell of the statistics."""

    month: str
    township: str
    kind: str
    transactions: int = 0
    area_m2: Decimal = Decimal(0)
    value: Decimal = Decimal(0)
    land_transactions: int = 0  # farmland with a known area: the base of the price per 亩
    land_area_m2: Decimal = Decimal(0)
    land_yearly: Decimal = Decimal(0)  # sum of yearly prices of those
    failed: int = 0


@dataclass
class Stats:
    period: Period
    township: str | None
    kind: str | None
    facts: list[Fact]
    townships: list[tuple[str, str]] = field(default_factory=list)  # (code, name) of all townships

    @property
    def months(self) -> list[str]:
        return self.period.months

    @property
    def township_names(self) -> dict[str, str]:
        return dict(self.townships)


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def compute(first: str | None = None, last: str | None = None, *, township: str | None = None,
            kind: str | None = None, today: date | None = None) -> Stats:
    """The statistics of a period, optionally for one township and one kind. The aggregates read every listing of
    the period, so they are kept (``board_queries.kept``) while no listing changes, for a minute at most."""
    zone = _zone()
    today = today or datetime.now(zone).date()
    span = period(first, last, today)
    return kept(("stats", span, township, kind), lambda: _compute(span, zone, township, kind))


def _compute(span: Period, zone: ZoneInfo, township: str | None, kind: str | None) -> Stats:
    start, end = span.bounds(zone)
    divisions = township_divisions(township) if township else None
    facts: dict[tuple[str, str, str], Fact] = {}
    months = set(span.months)

    def fact(month: str, town: str, kind_: str) -> Fact:
        key = (month, town, kind_)
        if month not in months:  # cannot happen with the bounds above; a stray row must not break the tables
            return Fact(month, town, kind_)
        if key not in facts:
            facts[key] = Fact(month, town, kind_)
        return facts[key]

    month = _month_of_instant(Listing.awarded_at, "month")
    town = _township_of("township")
    deals = (select(month, town, Listing.kind, Listing.price_unit, Listing.start_date, Listing.end_date,
                    func.count().label("n"), func.sum(Listing.area_m2).label("area"),
                    func.sum(Listing.award_price).label("price"),
                    func.count(Listing.area_m2).label("n_area"),
                    func.sum(case((Listing.area_m2.is_not(None), Listing.award_price))).label("price_area"))
             .join(Division, Division.id == Listing.division_id)
             .where(Listing.state.in_(DEAL_STATES), Listing.awarded_at >= start, Listing.awarded_at < end,
                    *_filters(divisions, kind))
             .group_by(literal_column("month"), literal_column("township"), Listing.kind, Listing.price_unit,
                       Listing.start_date, Listing.end_date))
    for month_, town_, kind_, unit, starts, ends, n, area, price, n_area, price_area in db.session.execute(deals):
        cell = fact(month_, town_, kind_)
        price, area = _dec(price), _dec(area)
        cell.transactions += n
        cell.area_m2 += area
        cell.value += contract_value(price, "per_year", starts, ends) if unit == "per_year" else price
        if kind_ in LAND_KINDS and n_area:
            cell.land_transactions += n_area
            cell.land_area_m2 += area
            cell.land_yearly += yearly(_dec(price_area), unit, starts, ends)

    # failed after an auction without a bid: the auction's end; failed with nobody qualified: the notice's end
    after_auction = _month_of_instant(Listing.auction_ends_at, "month")
    failed_auction = (select(after_auction, _township_of("township"), Listing.kind, func.count().label("n"))
                      .join(Division, Division.id == Listing.division_id)
                      .where(Listing.state == ListingState.failed, Listing.auction_ends_at.is_not(None),
                             Listing.auction_ends_at >= start, Listing.auction_ends_at < end,
                             *_filters(divisions, kind))
                      .group_by(literal_column("month"), literal_column("township"), Listing.kind))
    after_notice = _month_of_day(Listing.notice_ends_on, "month")
    failed_notice = (select(after_notice, _township_of("township"), Listing.kind, func.count().label("n"))
                     .join(Division, Division.id == Listing.division_id)
                     .where(Listing.state == ListingState.failed, Listing.auction_ends_at.is_(None),
                            and_(Listing.notice_ends_on >= span.first, Listing.notice_ends_on < add_months(span.last, 1)),
                            *_filters(divisions, kind))
                     .group_by(literal_column("month"), literal_column("township"), Listing.kind))
    for statement in (failed_auction, failed_notice):
        for month_, town_, kind_, n in db.session.execute(statement):
            fact(month_, town_, kind_).failed += n
    ordered = sorted(facts.values(), key=lambda f: (f.month, f.township, f.kind))
    return Stats(span, township, kind, ordered, townships())


# --- tables: what each chart draws, and what its CSV holds ----------------------------------------------------


@dataclass
class Table:
    """Rows by month, one column per series, and a total per month: ``cells[month][series]``, ``totals[month]``."""

    name: str
    measure: str
    series: list[str]  # keys: township codes, kind codes, or column names
    labels: list[str]  # what the page calls each series
    months: list[str]
    cells: dict[str, dict[str, Decimal | int | None]]
    totals: dict[str, Decimal | int] | None = None

    def column(self, key: str) -> list:
        return [self.cells[m].get(key) for m in self.months]

    def row(self, month: str) -> list:
        return [self.cells[month].get(k) for k in self.series]


def _finish(measure: str, raw: Decimal):
    """A cell from its raw sum: a count, 亩 of the summed m² (rounded once), or yuan."""
    if measure == "transactions":
        return int(raw)
    if measure == "area":
        return to_mu(raw) if raw else Decimal("0.00")
    return raw.quantize(FEN, ROUND_HALF_UP)


def _raw(cell: Fact, measure: str) -> Decimal:
    return Decimal(cell.transactions) if measure == "transactions" else cell.area_m2 if measure == "area" else cell.value


def breakdown(stats: Stats, by: str, measure: str, labels: dict[str, str]) -> Table:
    """A measure per month by township (``by="township"``) or by kind of right (``by="kind"``)."""
    sums: dict[str, dict[str, Decimal]] = {m: defaultdict(Decimal) for m in stats.months}
    keys: set[str] = set()
    for cell in stats.facts:
        if cell.transactions:
            key = cell.township if by == "township" else cell.kind
            keys.add(key)
            sums[cell.month][key] += _raw(cell, measure)
    known = [code for code, _name in stats.townships] if by == "township" else list(labels)
    series = [k for k in known if k in keys] + sorted(keys - set(known))
    names = stats.township_names if by == "township" else labels
    cells = {m: {k: _finish(measure, sums[m].get(k, Decimal(0))) for k in series} for m in stats.months}
    totals = {m: _finish(measure, sum(sums[m].values(), Decimal(0))) for m in stats.months}
    return Table(by, measure, series, [str(names.get(k, k)) for k in series], stats.months, cells, totals)


def price_table(stats: Stats) -> Table:
    """Farmland: transactions, area (亩), yearly price total and price per 亩 and year, by month."""
    series = ["land_transactions", "land_area_mu", "land_yearly", "price_per_mu_year"]
    sums = {m: [0, Decimal(0), Decimal(0)] for m in stats.months}
    for cell in stats.facts:
        if cell.land_transactions:
            row = sums[cell.month]
            row[0] += cell.land_transactions
            row[1] += cell.land_area_m2
            row[2] += cell.land_yearly
    cells = {}
    for month, (n, area, total) in sums.items():
        mu = to_mu(area) if area else Decimal("0.00")
        cells[month] = {"land_transactions": n, "land_area_mu": mu, "land_yearly": total.quantize(FEN, ROUND_HALF_UP),
                        "price_per_mu_year": (total / mu).quantize(FEN, ROUND_HALF_UP) if mu else None}
    return Table("price", "price", series, series, stats.months, cells)


def failed_table(stats: Stats) -> Table:
    """Failed listings (流拍) and transactions per month, and the share that failed."""
    cells = {m: {"failed": 0, "transactions": 0, "failed_share": None} for m in stats.months}
    for cell in stats.facts:
        cells[cell.month]["failed"] += cell.failed
        cells[cell.month]["transactions"] += cell.transactions
    for row in cells.values():
        closed = row["failed"] + row["transactions"]
        row["failed_share"] = (Decimal(row["failed"]) * 100 / closed).quantize(Decimal("0.1"), ROUND_HALF_UP) \
            if closed else None
    return Table("failed", "failed", ["transactions", "failed", "failed_share"],
                 ["transactions", "failed", "failed_share"], stats.months, cells)


def _cell(value) -> str:
    return "" if value is None else str(value)


def to_csv(header: list[str], rows: list[list]) -> str:
    """CSV with a byte-order mark, so that spreadsheet programs read the Chinese names as UTF-8."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def table_csv(table: Table, header_labels: list[str], month_label: str, total_label: str | None = None) -> str:
    header = [month_label, *header_labels] + ([total_label] if total_label else [])
    rows = [[m, *table.row(m)] + ([table.totals[m]] if total_label and table.totals else []) for m in table.months]
    return to_csv(header, rows)


def facts_csv(stats: Stats, header: list[str], kind_labels: dict[str, str]) -> str:
    """Every (month, township, kind) cell with all its figures: the data every chart is drawn from."""
    names = stats.township_names
    rows = [[f.month, f.township, names.get(f.township, ""), f.kind, str(kind_labels.get(f.kind, f.kind)),
             f.transactions, f.area_m2.quantize(FEN), _finish("area", f.area_m2), f.value.quantize(FEN, ROUND_HALF_UP),
             f.failed] for f in stats.facts]
    return to_csv(header, rows)
