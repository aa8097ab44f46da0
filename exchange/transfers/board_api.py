"""``/api/v1/exchange/board…`` and ``/api/v1/exchange/stats``: the public board and statistics as JSON, without an
account or an API key. The same data as the pages (``board_queries``, ``stats``), dumped through public schemas
that have no field for a person's name, ID number, account or contact."""
from __future__ import annotations

from flask import abort, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from exchange.transfers import board_queries as board
from exchange.transfers import stats
from exchange.transfers.board import (
    BID_KINDS, DEADLINE_NOTES, PHASE_NOTES, STATE_NAMES, stats_tables,
)
from exchange.transfers.models import ListingState
from exchange.transfers.views import KIND_LABELS

blp = Blueprint("exchange_board_api", __name__,
                description="Public board and statistics: notices, live auctions, results (no personal identifiers)")

TOWNSHIP = validate.Regexp(r"^\d{9}$", error="乡镇代码为 9 位数字 (a township code has 9 digits)")
MONTH = validate.Regexp(stats.MONTH_RE.pattern, error="月份格式为 YYYY-MM (months are YYYY-MM)")


def _unit(price_unit: str) -> str:
    return _("元/年") if price_unit == "per_year" else _("元")


class BoardArgs(Schema):
    section = fields.String(load_default="notices", validate=validate.OneOf(list(board.SECTION_STATES)),
                            metadata={"description": "notices (公示中), auctions (竞价中) or results (交易结果)"})
    township = fields.String(load_default=None, validate=TOWNSHIP, metadata={"description": "township code"})
    kind = fields.String(load_default=None, validate=validate.OneOf(list(KIND_LABELS)))
    outcome = fields.String(load_default=None, validate=validate.OneOf(list(board.OUTCOME_STATES)),
                            metadata={"description": "results only: deal, failed or annulled"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=board.PER_PAGE, validate=validate.Range(min=1, max=board.MAX_PER_PAGE))


class ListingPublicSchema(Schema):
    number = fields.String()
    url = fields.Function(lambda i: url_for("board.detail", number=i.number, _external=True))
    title = fields.String()
    kind = fields.String()
    kind_label = fields.Function(lambda i: str(KIND_LABELS.get(i.kind, i.kind)))
    mode = fields.String()
    state = fields.String()
    state_label = fields.Function(lambda i: str(STATE_NAMES.get(i.state, i.state)))
    deadline_passed = fields.String(allow_none=True, metadata={
        "description": "a deadline passed and the scheduled tick has not moved the listing yet"})
    phase = fields.String(metadata={"description": "notice, bidding, priority (members may match), closed, result"})
    location = fields.String(metadata={"description": "the division's full name"})
    township = fields.String(allow_none=True)
    area_m2 = fields.Decimal(as_string=True, allow_none=True)
    area_mu = fields.Decimal(as_string=True, allow_none=True)
    reserve_price = fields.Decimal(as_string=True)
    price_unit = fields.String(metadata={"description": "per_year (元/年) or lump_sum (元)"})
    start_date = fields.Date()
    end_date = fields.Date()
    term_years = fields.Decimal(as_string=True)
    permitted_use = fields.String()
    payment_terms = fields.String()
    bidder_conditions = fields.String()
    deposit = fields.Decimal(as_string=True)
    increment = fields.Decimal(as_string=True)
    lister = fields.String(metadata={"description": "the collective economic organisation that lists"})
    notice_starts_on = fields.Date(allow_none=True)
    notice_ends_on = fields.Date(allow_none=True)
    notice_working_days = fields.Integer()
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    calendar_provisional = fields.Boolean()
    ends_at = fields.AwareDateTime(allow_none=True, metadata={"description": "end of the auction or priority window"})
    best_price = fields.Decimal(as_string=True, allow_none=True)
    minimum_bid = fields.Decimal(as_string=True, allow_none=True)
    bids = fields.Integer()
    outcome = fields.String(allow_none=True, metadata={"description": "deal, failed or annulled"})
    award_price = fields.Decimal(as_string=True, allow_none=True)
    awarded_at = fields.AwareDateTime(allow_none=True)
    price_per_mu_year = fields.Decimal(as_string=True, allow_none=True,
                                       metadata={"description": "farmland: yearly price per 亩 (元/亩·年)"})
    value = fields.Decimal(as_string=True, allow_none=True,
                           metadata={"description": "lump sum, or yearly price times the term in years"})
    winner = fields.String(allow_none=True, metadata={
        "description": "member_household (本集体成员农户), household (农户) or organisation; never a person's name"})
    winner_label = fields.String(allow_none=True)
    objection_ends_on = fields.Date(allow_none=True)
    result_at = fields.AwareDateTime(allow_none=True)
    result_on = fields.Date(allow_none=True, metadata={"description": "the day of the award, failure or annulment"})
    result_reason = fields.String(allow_none=True)
    certificate_number = fields.String(allow_none=True)


class PublicStepSchema(Schema):
    step = fields.String()
    label = fields.String()
    role = fields.String(metadata={"description": "the kind of office that acted (village, township, county, "
                                                  "bidder, system), never the account"})
    role_label = fields.String()
    at = fields.AwareDateTime()
    ledger_index = fields.Integer()


class BidPublicSchema(Schema):
    bidder = fields.Integer(metadata={"description": "the bidder's number in this auction (order of registration)"})
    amount = fields.Decimal(as_string=True)
    kind = fields.String()
    kind_label = fields.Function(lambda b: str(BID_KINDS.get(b.kind, b.kind)))
    at = fields.AwareDateTime()


class ListingDetailSchema(ListingPublicSchema):
    transferor = fields.String(allow_none=True, metadata={
        "description": "an organisation's or collective's name, or 'household' (never a person's name)"})
    relisted_from = fields.String(allow_none=True)
    relisted_as = fields.String(allow_none=True)
    history = fields.List(fields.Nested(PublicStepSchema))
    recent_bids = fields.List(fields.Nested(BidPublicSchema))


class BoardPageSchema(Schema):
    section = fields.String()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()
    items = fields.List(fields.Nested(ListingPublicSchema))


class BoardLiveSchema(Schema):
    number = fields.String()
    state = fields.String()
    state_label = fields.Function(lambda l: str(STATE_NAMES.get(l.state, l.state)))
    phase = fields.String(metadata={"description": "bidding, priority, closed (awaiting the tick), notice, result"})
    phase_label = fields.Function(lambda l: str(PHASE_NOTES.get(l.phase) or DEADLINE_NOTES.get(l.phase)
                                                or STATE_NAMES.get(l.state, "")))
    best_price = fields.Decimal(as_string=True, allow_none=True)
    minimum_bid = fields.Decimal(as_string=True, allow_none=True)
    bids = fields.Integer()
    reserve_price = fields.Decimal(as_string=True)
    increment = fields.Decimal(as_string=True)
    price_unit = fields.String()
    unit_label = fields.Function(lambda l: _unit(l.price_unit))
    no_bid_label = fields.Function(lambda _l: _("暂无出价"))
    ends_at = fields.AwareDateTime(allow_none=True)
    award_price = fields.Decimal(as_string=True, allow_none=True)
    server_time = fields.AwareDateTime()


class BoardStatsArgs(Schema):
    from_ = fields.String(data_key="from", load_default=None, validate=MONTH, metadata={"description": "YYYY-MM"})
    to = fields.String(load_default=None, validate=MONTH, metadata={"description": "YYYY-MM (default: this month)"})
    township = fields.String(load_default=None, validate=TOWNSHIP)
    kind = fields.String(load_default=None, validate=validate.OneOf(list(KIND_LABELS)))


class StatsFactSchema(Schema):
    month = fields.String()
    township = fields.String()
    kind = fields.String()
    transactions = fields.Integer()
    area_m2 = fields.Decimal(as_string=True, places=2)
    value = fields.Decimal(as_string=True, places=2)
    land_transactions = fields.Integer()
    land_area_m2 = fields.Decimal(as_string=True, places=2)
    land_yearly = fields.Decimal(as_string=True, places=2)
    failed = fields.Integer()


class StatsTableSchema(Schema):
    name = fields.String()
    measure = fields.String()
    series = fields.List(fields.String())
    labels = fields.List(fields.String())
    rows = fields.Function(lambda t: [{"month": m, **{k: (str(v) if v is not None else None)
                                                      for k, v in t.cells[m].items()},
                                       **({"total": str(t.totals[m])} if t.totals else {})} for m in t.months])


class BoardStatsSchema(Schema):
    first_month = fields.String(data_key="from")
    last_month = fields.String(data_key="to")
    township = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    townships = fields.Dict(keys=fields.String(), values=fields.String())
    facts = fields.List(fields.Nested(StatsFactSchema), metadata={
        "description": "per (month, township, kind): the figures every table is made of"})
    tables = fields.Dict(keys=fields.String(), values=fields.Nested(StatsTableSchema), metadata={
        "description": "township_<measure>, kind_<measure> for transactions, area (亩), value (元); price; failed"})


def _filters_known(township: str | None) -> None:
    if township is not None and township not in dict(board.townships()):
        abort(404, description=_("没有代码为“%(code)s”的乡镇。", code=township))


@blp.route("/board")
class Board(MethodView):
    @blp.arguments(BoardArgs, location="query")
    @blp.response(200, BoardPageSchema)
    def get(self, args):
        """One page of the public board: notices, live auctions or results, newest first, with filters."""
        _filters_known(args["township"])
        result = board.board_page(args["section"], township=args["township"], kind=args["kind"],
                                  outcome=args["outcome"], page=args["page"], per_page=args["per_page"])
        return {"section": result.section, "page": result.page, "per_page": result.per_page, "pages": result.pages,
                "total": result.total, "items": result.items}


@blp.route("/board/<number>")
class BoardItem(MethodView):
    @blp.response(200, ListingDetailSchema)
    def get(self, number: str):
        """A public listing: the notice, its result, its public steps and its latest bids."""
        listing = board.public_listing_row(number)
        if listing is None:
            abort(404, description=_("没有公开的挂牌项目 %(number)s。", number=number))
        item = board.public_listing(listing)
        item.history = board.history(listing)
        item.recent_bids = [] if listing.state == ListingState.listed else board.bids(listing)
        return item


@blp.route("/board/<number>/live")
class BoardLive(MethodView):
    @blp.response(200, BoardLiveSchema)
    def get(self, number: str):
        """The live figures of an auction, which the board page polls: best price, minimum bid, end, state."""
        live = board.live(number)
        if live is None:
            abort(404, description=_("没有公开的挂牌项目 %(number)s。", number=number))
        return live


@blp.route("/stats")
class Stats(MethodView):
    @blp.arguments(BoardStatsArgs, location="query")
    @blp.response(200, BoardStatsSchema)
    def get(self, args):
        """Statistics per month by township and kind: transactions, area, value, farmland price per 亩, failures."""
        _filters_known(args["township"])
        figures = stats.compute(args["from_"], args["to"], township=args["township"], kind=args["kind"])
        tables = {}
        for measure in stats.MEASURES:
            measured = stats_tables(figures, measure)
            tables[f"township_{measure}"] = measured["township"]
            tables[f"kind_{measure}"] = measured["kind"]
        tables["price"], tables["failed"] = measured["price"], measured["failed"]
        return {"first_month": stats.month_key(figures.period.first), "last_month": stats.month_key(figures.period.last),
                "township": figures.township, "kind": figures.kind, "townships": figures.township_names,
                "facts": figures.facts, "tables": tables}
