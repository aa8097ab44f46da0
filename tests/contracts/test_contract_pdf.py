"""The contract PDF, read back by poppler (pdftotext, pdffonts, pdfdetach) rather than compared as bytes: every
kind renders with its parties, asset, area in m² and 亩, schedule and signature blocks; the embedded terms
hash to the digest the parties accepted."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from contract_testing import run
from sqlalchemy import select

from contracts import KINDS, TermsSchema, contract_digest, contract_html, contract_pdf, digest_payload, rent_schedule
from contracts.text import cn_date, money
from exchange.db import db
from exchange.registry.models import Organisation, OrganisationKind
from exchange.registry.rules import ART40_FIELDS

NUMBER = "HT-511723-2026-000001"
ISSUED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
ART40_HEADINGS = ("流转土地的名称、坐落、面积、质量等级", "流转方式、流转期限和起止日期", "流转土地的用途",
                  "流转价款及支付方式", "双方当事人的权利和义务", "土地被依法征收、征用、占用时有关补偿费的归属", "违约责任")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "contract.pdf"
    path.write_bytes(pdf)
    return "".join(run("pdftotext", "-enc", "UTF-8", str(path), "-").split())


def _squeeze(text: str) -> str:
    return "".join(str(text).split())


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_renders_its_parties_asset_and_schedule(kind, terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input(kind, right(kind)))
    text = _text(contract_pdf(terms, number=NUMBER, issued_at=ISSUED), tmp_path)
    assert KINDS[kind].title_zh in text and NUMBER in text
    for party, label in zip((terms.transferor, terms.transferee), KINDS[kind].party_labels, strict=True):
        assert _squeeze(label) in text and _squeeze(party.name) in text and _squeeze(party.address) in text
    assert _squeeze(terms.issuer) in text and terms.asset.code in text
    if terms.asset.area_m2 is not None:
        assert f"{terms.asset.area_m2}平方米（{terms.asset.area_mu}亩）" in text
    assert cn_date(terms.start) in text and cn_date(terms.end) in text
    rows = rent_schedule(terms)
    for row in rows:
        assert f"第{row.number}期" in text and cn_date(row.due) in text
        assert f"{cn_date(row.period_start)}—{cn_date(row.period_end)}" in text
        assert text.count(money(row.amount)) >= sum(1 for r in rows if r.amount == row.amount)
    if kind == "mortgage":
        assert rows == [] and money(terms.amount) in text and "被担保的主债权" in text
    for clause in (terms.liability, terms.dispute_resolution):
        assert _squeeze(clause.splitlines()[0]) in text
    assert contract_digest(terms, NUMBER) in text
    blank_blocks = 3 if KINDS[kind].asset in ("parcel", "homestead") else 2  # + the collective's filing block
    assert text.count("签字（盖章）：_") == blank_blocks


def test_the_land_contract_prints_every_item_of_art40(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("land_management_transfer", right("land_management_transfer"), payment={
        "period_months": 6, "align": "calendar", "first_due": "2027-03-31", "escalation_percent": "5.00",
        "escalation_every_years": 3}, start="2027-03-15"))
    text = _text(contract_pdf(terms, number=NUMBER, issued_at=ISSUED), tmp_path)
    assert len(ART40_HEADINGS) == len(ART40_FIELDS) - 1  # parties are the table at the top
    for heading in ART40_HEADINGS:
        assert heading in text, heading
    assert "质量等级二等地" in text and "种植业（土地用途代码1）：水稻、油菜种植" in text
    assert "每满3年，租金在上一期基础上递增5.00%" in text
    rows = rent_schedule(terms)
    assert len(rows) == 20 and "不足一期，按108/181天折算" in text  # 15 March to 30 June of a 181-day half-year
    total = sum(r.amount for r in rows)
    assert f"合同期内价款合计{money(total)}元" in text


def test_rent_in_kind_prints_the_crop_and_kilograms(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("land_management_transfer", right("land_management_transfer"),
                                           amount=None, payment={"first_due": "2027-10-31", "in_kind": {
                                               "crop": "稻谷", "kg_per_mu": "400.00", "yuan_per_kg": "2.80"}}))
    text = _text(contract_pdf(terms, number=NUMBER, issued_at=ISSUED), tmp_path)
    rows = rent_schedule(terms)
    assert "每亩每年稻谷400.00公斤，按2.80元/公斤折价" in text and "稻谷（公斤）" in text
    assert text.count(str(rows[0].in_kind_kg)) >= len(rows)


def test_the_cjk_font_is_embedded_as_a_subset(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("asset_lease", right("asset_lease")))
    path = tmp_path / "contract.pdf"
    path.write_bytes(contract_pdf(terms, number=NUMBER, issued_at=ISSUED))
    lines = run("pdffonts", str(path)).splitlines()[2:]
    assert lines, "no fonts listed"
    for line in lines:  # name type encoding emb sub uni object ID
        assert line.split()[-5:-2] == ["yes", "yes", "yes"], line
    assert all("Exchange-Serif" in line for line in lines), lines


def test_signature_blocks_show_each_acceptance_and_flag_another_text(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("land_management_transfer", right("land_management_transfer")))
    digest = contract_digest(terms, NUMBER)
    signatures = [
        {"party": "transferor", "account": "village", "at": datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc),
         "digest": digest},
        {"party": "transferee", "account": "bidder", "at": datetime(2026, 11, 2, 16, 5, 9, tzinfo=timezone.utc),
         "digest": "0" * 64},
    ]
    text = _text(contract_pdf(terms, number=NUMBER, signatures=signatures, issued_at=ISSUED), tmp_path)
    assert "2026-11-0209:30:00（UTC+08:00）由平台账户village确认接受本合同文本" in text
    assert "2026-11-0300:05:09（UTC+08:00）由平台账户bidder确认接受本合同文本" in text
    assert text.count(digest) == 2  # the transferor's acceptance and the footer
    assert text.count("不是对本文本的确认") == 1 and "0" * 64 in text
    assert text.count("签字（盖章）：_") == 1  # only the collective's filing block is still blank
    html = contract_html(terms, number=NUMBER, signatures=signatures)
    assert "village" in html and digest in html and 'lang="zh-CN"' in html
    # SQLite hands DateTime(timezone=True) columns back naive: they are UTC.
    naive = [{**s, "at": s["at"].replace(tzinfo=None)} for s in signatures]
    assert contract_html(terms, number=NUMBER, signatures=naive) == html
    with pytest.raises(ValueError, match="signature party"):
        contract_html(terms, number=NUMBER, signatures=[{**signatures[0], "party": "notary"}])


def test_the_attached_terms_hash_to_the_digest_and_load_back(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("homestead_lease", right("homestead_lease")))
    path = tmp_path / "contract.pdf"
    path.write_bytes(contract_pdf(terms, number=NUMBER, issued_at=ISSUED))
    assert "contract-terms.json" in run("pdfdetach", "-list", str(path))
    out = tmp_path / "terms.json"
    run("pdfdetach", "-savefile", "contract-terms.json", "-o", str(out), str(path))
    attached = out.read_bytes()
    assert attached == digest_payload(terms, NUMBER)
    assert hashlib.sha256(attached).hexdigest() == contract_digest(terms, NUMBER)
    document = json.loads(attached)
    assert document["number"] == NUMBER and TermsSchema().load(document["terms"]) == terms


def test_the_digest_covers_every_term_and_the_number(terms_input, right):
    data = terms_input("land_management_transfer", right("land_management_transfer"))
    terms = TermsSchema().load(data)
    digest = contract_digest(terms, NUMBER)
    assert len(digest) == 64 and digest == contract_digest(TermsSchema().load(data), NUMBER)
    assert contract_digest(terms, NUMBER + "X") != digest
    for change in ({"amount": "651.00"}, {"end": "2036-12-30"}, {"liability": terms.liability + "。"},
                   {"transferee": {**data["transferee"], "address": "开江县普安镇"}}):
        assert contract_digest(TermsSchema().load({**data, **change}), NUMBER) != digest, change


def test_a_rerender_with_the_same_inputs_is_byte_identical(terms_input, right):
    terms = TermsSchema().load(terms_input("construction_grant", right("construction_grant")))
    assert contract_pdf(terms, number=NUMBER, issued_at=ISSUED) == contract_pdf(terms, number=NUMBER, issued_at=ISSUED)
    with pytest.raises(ValueError, match="time zone"):
        contract_pdf(terms, number=NUMBER, issued_at=datetime(2026, 11, 20))


def test_the_mortgagee_is_the_bank(terms_input, right, tmp_path):
    terms = TermsSchema().load(terms_input("mortgage", right("mortgage")))
    bank = db.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.bank)).first()
    text = _text(contract_pdf(terms, number=NUMBER, issued_at=ISSUED), tmp_path)
    assert f"乙方（抵押权人）{bank.name}" in text


def test_terms_are_printed_as_text_never_as_markup(terms_input, right, tmp_path):
    other = '乙方自备<b>消防</b>设施<img src="http://example.com/x.png">'
    terms = TermsSchema().load(terms_input("asset_lease", right("asset_lease"), other_terms=other))
    html = contract_html(terms, number=NUMBER)
    assert "<img src=\"http" not in html and "&lt;img src=" in html and "&lt;b&gt;消防&lt;/b&gt;" in html
    text = _text(contract_pdf(terms, number=NUMBER, issued_at=ISSUED), tmp_path)  # nothing fetched
    assert "乙方自备<b>消防</b>设施" in text
