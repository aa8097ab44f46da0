"""The public board (交易公告) and the statistics page (交易统计): no login, no personal identifiers.

Routes only; the data comes from ``board_queries`` (listings as the public sees them) and ``stats``. The pages are
complete without JavaScript; ``static/js/board-live.js`` only counts down and refreshes the live price.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.transfers import board_queries as board
from exchange.transfers import charts, stats
from exchange.transfers import operations as ops
from exchange.transfers.models import ListingState
from exchange.transfers.views import KIND_LABELS, STATE_LABELS

bp = Blueprint("board", __name__, url_prefix="/exchange")

SECTION_LABELS = {"notices": _l("挂牌公告"), "auctions": _l("网络竞价"), "results": _l("交易结果")}
OUTCOME_LABELS = {"deal": _l("成交"), "failed": _l("流拍"), "annulled": _l("已撤销")}
PHASE_NOTES = {"closed": _l("竞价时间已到，正在确定结果。"), "priority": _l("竞价已结束，本集体成员可在此期限内按同等条件行使优先权。")}
DEADLINE_NOTES = {"registration_closed": _l("报名已截止，即将转入竞价或流拍。"),
                  "auction_closed": _l("竞价时间已到，正在确定结果。"),
                  "publicity_closed": _l("成交公示期已结束。")}
BID_KINDS = {"bid": _l("竞价出价"), "offer": _l("唯一竞买人报价"), "match": _l("成员行使优先权")}
STATE_NAMES = {state.value: label for state, label in STATE_LABELS.items()}
MEASURE_LABELS = {"transactions": _l("成交宗数"), "area": _l("成交面积"), "value": _l("成交金额")}
MEASURE_UNITS = {"transactions": _l("宗"), "area": _l("亩"), "value": _l("元")}


class Labels(dict):
    """Labels translated at most once per page: a label is looked up the first time a row needs it."""

    def __init__(self, lazy: dict) -> None:
        super().__init__()
        self.lazy = lazy

    def __missing__(self, key):
        value = self[key] = str(self.lazy[key])
        return value


def translated(lazy: dict) -> dict:
    return {key: str(label) for key, label in lazy.items()}


def filters_from(args, townships: list[tuple[str, str]] | None = None) -> dict:
    """The township, kind and outcome filters of a request; an unknown value is refused (400), not ignored."""
    township = (args.get("township") or "").strip() or None
    kind = (args.get("kind") or "").strip() or None
    outcome = (args.get("outcome") or "").strip() or None
    if township is not None and township not in dict(board.townships() if townships is None else townships):
        abort(400, description=_("没有代码为“%(code)s”的乡镇。", code=township))
    if kind is not None and kind not in KIND_LABELS:
        abort(400, description=_("没有交易品种“%(kind)s”。", kind=kind))
    if outcome is not None and outcome not in board.OUTCOME_STATES:
        abort(400, description=_("交易结果只能按“成交”“流拍”“已撤销”筛选。"))
    return {"township": township, "kind": kind, "outcome": outcome}


@bp.get("/board")
def index():
    section = request.args.get("section", "notices")
    if section not in board.SECTION_STATES:
        abort(404)
    townships = board.townships()
    chosen = filters_from(request.args, townships)
    page = max(1, request.args.get("page", 1, type=int))
    per_page = min(board.MAX_PER_PAGE, max(1, request.args.get("per_page", board.PER_PAGE, type=int)))
    outcome = chosen["outcome"] if section == "results" else None
    # the previous and next links say which listing they continue from (keyset); a page number alone also works
    result = board.board_page(section, township=chosen["township"], kind=chosen["kind"], outcome=outcome, page=page,
                              per_page=per_page, after=request.args.get("after", type=int),
                              before=request.args.get("before", type=int))
    return render_template("exchange/board.html", page=result, section=section, counts=result.counts, chosen=chosen,
                           townships=townships, kinds=translated(KIND_LABELS), sections=SECTION_LABELS,
                           outcomes=translated(OUTCOME_LABELS), deadline_notes=Labels(DEADLINE_NOTES),
                           phase_notes=Labels(PHASE_NOTES), states=Labels(STATE_NAMES), figure=charts.figure,
                           now=ops.now(), default_per_page=board.PER_PAGE)


@bp.get("/board/<number>")
def detail(number: str):
    listing = board.public_listing_row(number)
    if listing is None:
        abort(404)
    item = board.public_listing(listing)
    bids = [] if listing.state == ListingState.listed else board.bids(listing)
    return render_template("exchange/board_detail.html", item=item, steps=board.history(listing), bids=bids,
                           auction_minutes=listing.auction_minutes, extension_minutes=listing.extension_minutes,
                           kinds=KIND_LABELS, states=STATE_NAMES, deadline_notes=DEADLINE_NOTES,
                           phase_notes=PHASE_NOTES, outcomes=OUTCOME_LABELS, figure=charts.figure, now=ops.now(),
                           land_kinds=board.LAND_KINDS, failed_reasons=board.FAILED_REASONS,
                           annulled_reasons=board.ANNULLED_REASONS, bid_kinds=BID_KINDS)


# --- statistics -----------------------------------------------------------------------------------------------


def _stats_request():
    chosen = filters_from(request.args)
    measure = request.args.get("measure", "transactions")
    if measure not in stats.MEASURES:
        abort(400, description=_("统计指标只能是成交宗数、成交面积或成交金额（transactions、area、value）。"))
    figures = stats.compute(request.args.get("from"), request.args.get("to"), township=chosen["township"],
                            kind=chosen["kind"])
    return chosen, measure, figures


def stats_tables(figures: stats.Stats, measure: str) -> dict[str, stats.Table]:
    return {"township": stats.breakdown(figures, "township", measure, figures.township_names),
            "kind": stats.breakdown(figures, "kind", measure, {k: str(v) for k, v in KIND_LABELS.items()}),
            "price": stats.price_table(figures), "failed": stats.failed_table(figures)}


def _charts(tables: dict[str, stats.Table], measure: str) -> dict:
    unit, name, empty = str(MEASURE_UNITS[measure]), str(MEASURE_LABELS[measure]), _("所选期间没有数据")
    months = tables["township"].months
    price, failed = tables["price"], tables["failed"]
    return {
        "township": charts.bar_chart("chart-township", _("%(measure)s（按乡镇，月度）", measure=name), months,
                                     [(label, tables["township"].column(key)) for key, label in
                                      zip(tables["township"].series, tables["township"].labels)],
                                     unit=unit, integers=measure == "transactions", empty_text=empty),
        "kind": charts.bar_chart("chart-kind", _("%(measure)s（按权利类型，月度）", measure=name), months,
                                 [(label, tables["kind"].column(key)) for key, label in
                                  zip(tables["kind"].series, tables["kind"].labels)],
                                 unit=unit, integers=measure == "transactions", empty_text=empty),
        "price": charts.line_chart("chart-price", _("土地经营权流转亩均年价格"), months,
                                   [(_("元/亩·年"), price.column("price_per_mu_year"))], unit=_("元/亩·年"),
                                   empty_text=empty),
        "failed": charts.bar_chart("chart-failed", _("成交与流拍宗数（月度）"), months,
                                   [(_("成交"), failed.column("transactions")), (_("流拍"), failed.column("failed"))],
                                   unit=_("宗"), stacked=False, integers=True, empty_text=empty),
    }


@bp.get("/stats")
def stats_page():
    chosen, measure, figures = _stats_request()
    tables = stats_tables(figures, measure)
    query = {"from": stats.month_key(figures.period.first), "to": stats.month_key(figures.period.last),
             "township": chosen["township"], "kind": chosen["kind"]}
    return render_template("exchange/stats.html", figures=figures, tables=tables, charts=_charts(tables, measure),
                           measure=measure, measures=MEASURE_LABELS, units=MEASURE_UNITS, chosen=chosen, query=query,
                           townships=figures.townships, kinds=KIND_LABELS, figure=charts.figure)


@bp.get("/stats.csv")
def stats_csv():
    chosen, measure, figures = _stats_request()
    table_name = request.args.get("table", "facts")
    if table_name not in stats.TABLES:
        abort(400, description=_("可下载的表：township、kind、price、failed、facts。"))
    month = _("月份")
    if table_name == "facts":
        body = stats.facts_csv(figures, [month, _("乡镇代码"), _("乡镇"), _("交易品种代码"), _("交易品种"), _("成交宗数"),
                                         _("成交面积（平方米）"), _("成交面积（亩）"), _("成交金额（元）"), _("流拍宗数")],
                               KIND_LABELS)
        name = "facts"
    else:
        table = stats_tables(figures, measure)[table_name]
        if table_name in ("township", "kind"):
            unit = MEASURE_UNITS[measure]
            body = stats.table_csv(table, [f"{label}（{unit}）" for label in table.labels], month, _("合计（%(unit)s）", unit=unit))
            name = f"{table_name}-{measure}"
        elif table_name == "price":
            body = stats.table_csv(table, [_("成交宗数"), _("成交面积（亩）"), _("年价款合计（元/年）"), _("亩均年价格（元/亩·年）")], month)
            name = "price"
        else:
            body = stats.table_csv(table, [_("成交宗数"), _("流拍宗数"), _("流拍率（%）")], month)
            name = "failed"
    filename = f"exchange-stats-{name}-{stats.month_key(figures.period.first)}_{stats.month_key(figures.period.last)}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def stats_csv_url(table: str, query: dict, measure: str | None = None) -> str:
    return url_for("board.stats_csv", table=table, measure=measure, **{k: v for k, v in query.items() if v})


@bp.app_context_processor
def board_helpers():
    return {"stats_csv_url": stats_csv_url, "plain": plain}


def plain(value) -> str:
    """A decimal without trailing zeros or exponent: 10.0000 → 10, 0.5000 → 0.5."""
    return format(value.normalize(), "f") if value is not None else ""
