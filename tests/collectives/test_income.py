"""Income records, one by one and from a CSV file: a file with bad rows is refused whole, naming each bad row."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from exchange.collectives import operations as books
from exchange.collectives.imports import import_income_csv

from tests.collectives.conftest import BAIYAN, collective, entry, ledger_size, refused

HEADER = "received_on,source,amount,right_number\n"


def csv(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(row + "\n" for row in rows)).encode(encoding)


def test_a_file_with_bad_rows_is_refused_whole_naming_each_row(app_ctx):
    place = collective(BAIYAN)
    data = csv("2025-02-15,堰塘租金,36000.00,",          # line 2: good
               "2025-02-30,林地合作收益,18500.00,",       # line 3: no such date
               "2025-04-15,流转服务费,4230.505,",         # line 4: a tenth of a fen
               "2025-05-15,,1200.00,",                    # line 5: no source
               "2025-06-15,临时使用费,NaN,",              # line 6: not a number
               "2025-07-15,临时使用费,-5,",               # line 7: negative
               "2025-08-15,临时使用费,1e30,",             # line 8: beyond the books' columns
               "2025-09-15,租金,100.00,")                 # line 9: good
    error = refused("CSV-ROWS", import_income_csv, place, data)
    assert [(p["line"], p["field"]) for p in error.details] == [
        (3, "received_on"), (4, "amount"), (5, "source"), (6, "amount"), (7, "amount"), (8, "amount")]
    assert "6 行有误，整个文件未导入" in error.message_zh
    assert "第 3 行 received_on" in error.message_zh and "第 8 行 amount" in error.message_zh
    assert books.income_of_year(place, 2025) == 0


def test_a_good_file_is_imported_row_by_row_each_on_the_ledger(app_ctx):
    place = collective(BAIYAN)
    size = ledger_size()
    items = import_income_csv(place, csv("2025-02-15,堰塘租金,36000.00,", "2025-09-15,土地流转租金,4230.50,511723-ZL-0001"))
    assert [i.amount for i in items] == [Decimal("36000.00"), Decimal("4230.50")]
    assert books.income_of_year(place, 2025) == Decimal("40230.50")
    assert ledger_size() == size + 2
    assert entry(items[1].ledger_index)["data"] == {"action": "income", "received_on": "2025-09-15",
                                                    "source": "土地流转租金", "amount": "4230.50",
                                                    "right": "511723-ZL-0001"}


def test_a_gb18030_file_from_a_spreadsheet_is_read(app_ctx):
    items = import_income_csv(collective(BAIYAN), csv("2025-03-01,集体林地租金,500.00,", encoding="gb18030"))
    assert items[0].source == "集体林地租金"


def test_a_file_without_its_columns_or_rows_is_refused(app_ctx):
    place = collective(BAIYAN)
    error = refused("CSV-COLUMNS", import_income_csv, place, csv("2025-02-15,租金", header="date,source\n"))
    assert "received_on" in error.message_zh and "amount" in error.message_zh
    refused("CSV-EMPTY", import_income_csv, place, csv())


def test_income_is_positive_and_to_the_fen(app_ctx):
    place = collective(BAIYAN)
    for amount in ("0", "-1.00", "12.345", "NaN", "Infinity"):
        refused("INCOME-AMOUNT", books.record_income, place, date(2025, 1, 1), "租金", Decimal(amount))
    refused("REQUIRED", books.record_income, place, date(2025, 1, 1), "  ", Decimal("1.00"))
    assert books.record_income(place, date(2025, 1, 1), "租金", Decimal("0.01")).amount == Decimal("0.01")
