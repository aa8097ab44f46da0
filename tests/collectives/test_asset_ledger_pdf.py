"""The asset ledger (资产台账) as a signed PDF, read back with pdftotext: every asset's figures, the subtotals of the
three classes and the totals, the inventory each figure comes from; API alike; no PDF before the first inventory."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from exchange.collectives import operations as books
from exchange.collectives.documents import asset_ledger_facts

from tests.collectives.conftest import JINSHAN, collective
from tests.collectives.test_documents import flat, pdf_text, signed
from tests.conftest import login
from tests.test_registry_web import api_key

PAGE = f"/collectives/{JINSHAN}/asset-ledger"


def expected(app, on: date) -> tuple[list[dict], dict[str, tuple[Decimal, Decimal]], dict]:
    with app.test_request_context():
        rows = books.asset_ledger(collective(JINSHAN), on)
        facts = asset_ledger_facts(collective(JINSHAN), on)
    sums = {}
    for cls in ("resource", "operating", "non_operating"):
        items = [r for r in rows if r["class"] == cls]
        sums[cls] = (sum((Decimal(r["book_value"]) for r in items), Decimal(0)),
                     sum((Decimal(r["appraised_value"] or 0) for r in items), Decimal(0)))
    return rows, sums, facts


def test_the_asset_ledger_pdf_shows_every_figure_subtotals_and_totals(app, client, tmp_path):
    on = date(2026, 1, 31)
    rows, sums, facts = expected(app, on)
    assert rows and all(r["inventory"] == date(2025, 12, 31) for r in rows)
    login(client, "village")
    page = client.get(f"{PAGE}?as_of={on}").get_data(as_text=True)
    link = f"{PAGE}?as_of={on}&amp;format=pdf"
    assert f'href="{link}"' in page
    response = client.get(f"{PAGE}?as_of={on}&format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert signed(response.data, tmp_path)
    text = pdf_text(response.data, tmp_path)
    assert "集体资产台账" in text and f"{JINSHAN}-TZ-{on}" in text and flat(f"截至 As of {on}") in text
    for row in rows:
        assert row["code"] in text and flat(row["name"]) in text
        assert f"{Decimal(row['book_value']):.2f}" in text and f"{Decimal(row['appraised_value']):.2f}" in text
    for name, cls in (("资源性资产", "resource"), ("经营性资产", "operating"), ("非经营性资产", "non_operating")):
        book, appraised = sums[cls]
        assert flat(f"小计 Subtotal · {name}") in text
        listed = next(c for c in facts["classes"] if c["code"] == cls)
        assert (listed["book"], listed["appraised"]) == (f"{book:.2f}", f"{appraised:.2f}")
        assert f"{book:.2f}" in text and f"{appraised:.2f}" in text, name
    total_book = sum((b for b, _a in sums.values()), Decimal(0))
    total_appraised = sum((a for _b, a in sums.values()), Decimal(0))
    assert (facts["total_book"], facts["total_appraised"]) == (f"{total_book:.2f}", f"{total_appraised:.2f}")
    assert flat(f"账面价值合计 Book value {total_book:.2f} 元") in text
    assert flat(f"评估价值合计 Appraised value {total_appraised:.2f} 元") in text
    assert f"{total_book:.2f}{total_appraised:.2f}" in text  # the table's last line
    run = facts["runs"][0]
    assert text.count(f"#{run['index']}") >= len(rows) + 1  # each row names its inventory's entry, and the list
    assert flat(run["findings"]) in text



def test_the_api_gives_the_same_pdf_and_refuses_a_date_before_any_inventory(app, client, tmp_path):
    headers = api_key(client, "township")
    response = client.get(f"/api/v1/collectives/{JINSHAN}/asset-ledger/pdf?as_of=2026-01-31", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "集体资产台账" in pdf_text(response.data, tmp_path)
    early = client.get(f"/api/v1/collectives/{JINSHAN}/asset-ledger/pdf?as_of=2025-06-30", headers=headers)
    assert early.status_code == 404 and early.json["code"] == "DOCUMENT-NONE", early.json
    assert "2025-12-31" in str(early.json)
    assert "/api/v1/collectives/{code}/asset-ledger/pdf" in client.get("/api/openapi.json").get_json()["paths"]


def test_another_township_cannot_print_the_ledger(client):
    login(client, "township2")
    assert client.get(f"{PAGE}?format=pdf").status_code == 403
