"""Income records from a CSV file: every row is checked first; one bad row refuses the whole file."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from exchange.collectives import operations as books
from exchange.collectives.money import is_fen_amount
from exchange.errors import DomainError

COLUMNS = ("received_on", "source", "amount")


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("CSV-ENCODING", "文件应为 UTF-8 或 GB18030 编码的 CSV。", "The file must be UTF-8 or GB18030 CSV.",
                      field="file")


def import_income_csv(collective, data: bytes) -> list:
    reader = csv.DictReader(io.StringIO(decode(data)))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DomainError("CSV-COLUMNS", f"缺少列：{'、'.join(missing)}（需要 received_on, source, amount，可选 right_number）。",
                          f"Missing columns: {', '.join(missing)} (need received_on, source, amount; optional right_number).",
                          field="file")
    rows, problems = [], []
    for line, row in enumerate(reader, start=2):
        try:
            received_on = date.fromisoformat((row["received_on"] or "").strip())
        except ValueError:
            problems.append({"line": line, "field": "received_on", "message_zh": "日期格式应为 YYYY-MM-DD",
                             "message_en": "date must be YYYY-MM-DD", "value": row["received_on"]})
            continue
        try:
            amount = Decimal((row["amount"] or "").strip())
        except InvalidOperation:
            amount = None
        if amount is None or not is_fen_amount(amount) or amount <= 0:
            problems.append({"line": line, "field": "amount", "message_zh": "金额应为正数，精确到分",
                             "message_en": "amount must be positive, to the fen", "value": row["amount"]})
            continue
        source = (row["source"] or "").strip()
        if not source or len(source) > 200:
            problems.append({"line": line, "field": "source", "message_zh": "请写明收入来源（不超过 200 字）",
                             "message_en": "give the source (at most 200 characters)", "value": source[:40]})
            continue
        if len((row.get("right_number") or "").strip()) > 40:
            problems.append({"line": line, "field": "right_number", "message_zh": "合同或权利编号不超过 40 个字符",
                             "message_en": "the right or contract number has at most 40 characters",
                             "value": row["right_number"][:40]})
            continue
        rows.append((received_on, source, amount, (row.get("right_number") or "").strip() or None))
    if problems:
        raise DomainError("CSV-ROWS", f"{len(problems)} 行有误，整个文件未导入：" +
                          "；".join(f"第 {p['line']} 行 {p['field']}：{p['message_zh']}" for p in problems[:20]),
                          f"{len(problems)} bad row(s); nothing was imported: " +
                          "; ".join(f"line {p['line']} {p['field']}: {p['message_en']}" for p in problems[:20]),
                          field="file", details=problems)
    if not rows:
        raise DomainError("CSV-EMPTY", "文件中没有数据行。", "The file has no data rows.", field="file")
    return [books.record_income(collective, *row) for row in rows]
