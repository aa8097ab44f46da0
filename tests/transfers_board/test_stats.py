"""The statistics page: charts drawn by the platform as inline SVG, the same numbers in tables, and CSV files whose
figures equal what the database holds (computed here independently, listing by listing)."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from exchange.db import db
from exchange.registry.models import to_mu
from exchange.transfers import operations as ops
from exchange.transfers.models import Listing, ListingState

DEALS = [ListingState.awarded, ListingState.contracting, ListingState.signed, ListingState.settled,
         ListingState.registered]
CENT = Decimal("0.01")


def local_month(instant) -> str:
    return ops._aware(instant).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def whole_years(listing: Listing) -> int:
    """The scenario's terms run from 1 January to 31 December: their length in years is plain."""
    assert (listing.start_date.month, listing.start_date.day, listing.end_date.month, listing.end_date.day) == (1, 1, 12, 31)
    return listing.end_date.year - listing.start_date.year + 1


def database_figures(app) -> dict:
    """Per (month, township, kind), straight from the listings."""
    with app.app_context():
        deals = db.session.scalars(select(Listing).where(Listing.state.in_(DEALS))).all()
        failed = db.session.scalars(select(Listing).where(Listing.state == ListingState.failed)).all()
        figures = defaultdict(lambda: {"n": 0, "area": Decimal(0), "value": Decimal(0), "rent": Decimal(0),
                                       "failed": 0})
        for deal in deals:
            cell = figures[local_month(deal.awarded_at), deal.division.code[:9], deal.kind]
            cell["n"] += 1
            cell["area"] += deal.area_m2
            cell["value"] += deal.award_price * whole_years(deal)
            cell["rent"] += deal.award_price
        for item in failed:
            month = local_month(item.auction_ends_at) if item.auction_ends_at else item.notice_ends_on.strftime("%Y-%m")
            figures[month, item.division.code[:9], item.kind]["failed"] += 1
        return dict(figures)


def read_csv(client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # so that spreadsheets read it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def figures(app, scenario):
    figures = database_figures(app)
    months = sorted({month for month, _t, _k in figures})
    assert sum(c["n"] for c in figures.values()) == 3 and sum(c["failed"] for c in figures.values()) == 1
    return figures, f"from={months[0]}&to={months[-1]}", months


def test_the_page_draws_its_charts_itself_with_the_numbers_beside_them(client, figures):
    expected, span, months = figures
    response = client.get(f"/exchange/stats?{span}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    charts = re.findall(r'<svg class="chart" id="(chart-[a-z]+)".*?</svg>', page, re.S)
    assert charts == ["chart-township", "chart-kind", "chart-price", "chart-failed"]
    assert "<script" not in page and "style=" not in page  # nothing the Content-Security-Policy would block
    township_svg = re.search(r'<svg class="chart" id="chart-township".*?</svg>', page, re.S).group(0)
    bars = re.findall(r"<rect [^>]*><title>([^<]+)</title></rect>", township_svg)
    counts = Counter()
    for (month, township, _kind), cell in expected.items():
        counts[month, {"511723100": "新宁镇", "511723101": "普安镇"}[township]] += cell["n"]
    assert sorted(bars) == sorted(f"{m} · {t}：{n} 宗" for (m, t), n in counts.items() if n)
    table = re.search(r'data-testid="table-township">.*?</table>', page, re.S).group(0)
    assert [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<th>.*?</th>", table)] == ["月份", "新宁镇", "普安镇", "合计"]
    assert len(re.findall(r"<tr><td>", table)) == len(months)
    assert 'data-testid="csv-township"' in page and "口径说明" in page


def test_transactions_by_township_csv_equals_the_database(client, figures):
    expected, span, _months = figures
    rows = read_csv(client, f"/exchange/stats.csv?{span}&table=township&measure=transactions")
    assert rows[0] == ["月份", "新宁镇（宗）", "普安镇（宗）", "合计（宗）"]
    codes = ["511723100", "511723101"]
    for month, *cells, total in rows[1:]:
        for code, value in zip(codes, cells):
            assert int(value) == sum(c["n"] for (m, t, _k), c in expected.items() if m == month and t == code)
        assert int(total) == sum(int(v) for v in cells)
    assert sum(int(r[-1]) for r in rows[1:]) == sum(c["n"] for c in expected.values())


def test_area_and_value_by_kind_csv_equal_the_database(client, figures):
    expected, span, _months = figures
    area = read_csv(client, f"/exchange/stats.csv?{span}&table=kind&measure=area")
    value = read_csv(client, f"/exchange/stats.csv?{span}&table=kind&measure=value")
    assert area[0] == ["月份", "土地经营权流转（亩）", "合计（亩）"] and value[0] == ["月份", "土地经营权流转（元）", "合计（元）"]
    for month, cell, _total in area[1:]:
        metres = sum((c["area"] for (m, _t, _k), c in expected.items() if m == month), Decimal(0))
        assert Decimal(cell) == (to_mu(metres) if metres else Decimal("0.00"))
    for month, cell, _total in value[1:]:
        assert Decimal(cell) == sum((c["value"] for (m, _t, _k), c in expected.items() if m == month), Decimal(0))
    assert sum(Decimal(r[1]) for r in value[1:]) == Decimal("880") * 10 + Decimal("660") * 10 + Decimal("1000") * 5


def test_all_figures_csv_adds_up_to_the_database_totals(client, app, figures):
    expected, span, _months = figures
    rows = read_csv(client, f"/exchange/stats.csv?{span}")
    header, body = rows[0], rows[1:]
    assert header[:6] == ["月份", "乡镇代码", "乡镇", "交易品种代码", "交易品种", "成交宗数"]
    column = {name: header.index(name) for name in header}
    assert sum(int(r[column["成交宗数"]]) for r in body) == sum(c["n"] for c in expected.values())
    assert sum(Decimal(r[column["成交面积（平方米）"]]) for r in body) == sum(c["area"] for c in expected.values())
    assert sum(Decimal(r[column["成交金额（元）"]]) for r in body) == sum(c["value"] for c in expected.values())
    assert sum(int(r[column["流拍宗数"]]) for r in body) == sum(c["failed"] for c in expected.values())
    assert {(r[0], r[1], r[3]) for r in body} == set(expected)
    api = client.get(f"/api/v1/exchange/stats?{span}").get_json()
    assert [(f["month"], f["township"], f["kind"], f["transactions"], Decimal(f["area_m2"])) for f in api["facts"]] \
        == [(r[0], r[1], r[3], int(r[5]), Decimal(r[6])) for r in body]


def test_price_per_mu_is_rent_over_area(client, figures):
    expected, span, _months = figures
    rows = read_csv(client, f"/exchange/stats.csv?{span}&table=price")
    assert rows[0] == ["月份", "成交宗数", "成交面积（亩）", "年价款合计（元/年）", "亩均年价格（元/亩·年）"]
    for month, n, mu, rent, per_mu in rows[1:]:
        cells = [c for (m, _t, kind), c in expected.items() if m == month and kind == "land_management_transfer"]
        metres = sum((c["area"] for c in cells), Decimal(0))
        total = sum((c["rent"] for c in cells), Decimal(0))
        assert int(n) == sum(c["n"] for c in cells)
        assert Decimal(rent) == total
        if metres:
            assert Decimal(mu) == to_mu(metres)
            assert Decimal(per_mu) == (total / to_mu(metres)).quantize(CENT, ROUND_HALF_UP)
        else:
            assert per_mu == ""


def test_failed_listings_per_month(client, figures):
    expected, span, _months = figures
    rows = read_csv(client, f"/exchange/stats.csv?{span}&table=failed")
    assert rows[0] == ["月份", "成交宗数", "流拍宗数", "流拍率（%）"]
    for month, deals, failed, share in rows[1:]:
        n = sum(c["n"] for (m, _t, _k), c in expected.items() if m == month)
        f = sum(c["failed"] for (m, _t, _k), c in expected.items() if m == month)
        assert (int(deals), int(failed)) == (n, f)
        assert share == ("" if n + f == 0 else str((Decimal(f * 100) / (n + f)).quantize(Decimal("0.1"), ROUND_HALF_UP)))
    assert sum(int(r[2]) for r in rows[1:]) == 1


def test_filters_narrow_every_table(client, figures):
    _expected, span, _months = figures
    rows = read_csv(client, f"/exchange/stats.csv?{span}&township=511723101")
    assert {r[1] for r in rows[1:]} == {"511723101"} and sum(int(r[5]) for r in rows[1:]) == 1
    empty = client.get(f"/exchange/stats?{span}&kind=homestead_lease").get_data(as_text=True)
    assert empty.count("所选期间没有数据") == 4
    assert read_csv(client, f"/exchange/stats.csv?{span}&kind=homestead_lease")[1:] == []


def test_the_period_defaults_to_two_years_to_this_month(client, app, scenario):
    page = client.get("/exchange/stats").get_data(as_text=True)
    with app.app_context():
        this_month = ops.local_today().strftime("%Y-%m")
    assert f'name="to" type="month" value="{this_month}"' in page
    months = re.findall(r"<tr><td>(\d{4}-\d{2})</td>", re.search(r'data-testid="table-failed">.*?</table>', page,
                                                                  re.S).group(0))
    assert len(months) == 24 and months[-1] == this_month


def test_bad_parameters_are_refused(client):
    assert client.get("/exchange/stats?measure=happiness").status_code == 400
    assert client.get("/exchange/stats.csv?table=secrets").status_code == 400
    assert client.get("/exchange/stats?township=999").status_code == 400
