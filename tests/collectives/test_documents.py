"""The books' PDFs — resolution record (决议), share certificate (股权证), payout list (分红发放表), household statement
(分红对账单) — downloaded the way staff download them, read back with poppler's pdftotext, pdfdetach and pdfsig,
and the share certificate checked offline with ``python -m ledger.verify`` like any certificate."""
from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from exchange.collectives import queries
from exchange.collectives.models import Motion, MotionKind
from exchange.db import db
from exchange.registry.models import Household
from ledger.verify import main as verify_main

from tests.collectives.conftest import BAIYAN, JINSHAN, collective, entry
from tests.conftest import csrf_token, login
from tests.test_registry_web import api_key

SHOW = f"/collectives/{JINSHAN}"
API = f"/api/v1/collectives/{JINSHAN}"


def run(*args: str) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} is missing: install poppler-utils (scripts/system-deps.sh test)")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def pdf_text(data: bytes, tmp_path: Path, name: str = "document.pdf") -> str:
    """The text pdftotext reads, without any white space (its spacing around CJK and line breaks vary)."""
    assert data.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(data)
    return re.sub(r"\s+", "", run("pdftotext", str(path), "-"))


def flat(value: str) -> str:
    return re.sub(r"\s+", "", value)


def signed(data: bytes, tmp_path: Path) -> bool:
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    return "Signature is Valid" in run("pdfsig", str(path))


@pytest.fixture(scope="module")
def trust_dir(app, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trust") / "bundle"
    result = app.test_cli_runner().invoke(args=["certificates", "trust-bundle", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def lease_resolution(app) -> Motion:
    with app.app_context():
        return db.session.scalar(select(Motion).where(Motion.kind == MotionKind.asset_lease,
                                                      Motion.resolution_number.like("金山村决%")))


def test_the_resolution_record_shows_the_vote_counts(app, client, tmp_path):
    motion = lease_resolution(app)
    login(client, "village")
    page = client.get(SHOW).get_data(as_text=True)
    link = f"{SHOW}/resolutions/{motion.id}.pdf"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    assert "集体经济组织决议" in text and motion.resolution_number in text
    assert "原村小学校舍公开招租" in text and "集体资产出租、发包" in text and "成员代表会议" in text
    assert flat(f"同意 For {motion.votes_for} 票") in text and flat(f"反对 Against {motion.votes_against} 票") in text
    assert flat(f"弃权 Abstaining {motion.abstentions} 票") in text
    assert flat("应到 Entitled to vote 42 人") in text and flat("至少 28 票（COLLECTIVE-2-3）") in text
    assert flat("表决结果 Result 通过 Passed") in text
    assert flat(f"第 {motion.ledger_index} 条") in text
    assert signed(response.data, tmp_path)
    assert client.get(link).data == response.data  # kept: every copy is the same file


def test_only_a_passed_motion_of_this_collective_has_a_record(app, client):
    village = api_key(client, "village")
    failed = client.post(f"{API}/votes", json={
        "meeting_kind": "representatives", "held_on": "2026-05-06", "place": "村委会", "eligible": 42, "attendees": 39,
        "kind": "asset_disposal", "title": "处置旧农机", "votes_for": 20, "votes_against": 19, "abstentions": 0,
        "declare_passed": False}, headers=village).json
    response = client.get(f"{API}/resolutions/{failed['id']}/pdf", headers=village)
    assert response.status_code == 404 and response.json["code"] == "DOCUMENT-NONE"
    motion = lease_resolution(app)
    other = f"/collectives/{BAIYAN}/resolutions/{motion.id}.pdf"
    login(client, "county")
    assert client.get(other).status_code == 404  # 金山村's resolution is not 白岩村's
    assert client.get(f"{SHOW}/resolutions/999999.pdf").status_code == 404


def test_a_share_certificate_is_issued_to_the_ledger_and_verifies_offline(app, client, tmp_path, trust_dir, capsys):
    with app.app_context():
        plan = queries.share_plan(collective(JINSHAN))
        household = db.session.scalar(select(Household).where(Household.collective_id == plan.collective_id)
                                      .order_by(Household.code))
        code, head = household.code, household.head_name
    village = api_key(client, "village")
    issued = client.post(f"{API}/share-certificates", json={"household": code}, headers=village)
    assert issued.status_code == 201, issued.json
    number, shares = issued.json["number"], issued.json["shares"]
    assert re.fullmatch(r"511723-GQ-\d{4}-\d{6}", number) and Decimal(shares) > 0
    with app.app_context():
        recorded = entry(issued.json["ledger_index"])
    assert recorded["kind"] == "certificate" and recorded["data"]["certificate"]["number"] == number
    assert {"type": "household", "id": code} in recorded["subjects"]
    again = client.post(f"{API}/share-certificates", json={"household": code}, headers=village)
    assert again.status_code == 409 and again.json["code"] == "SHARE-CERT-CURRENT" and number in again.json["detail"]

    pdf = client.get(f"{API}/share-certificates/{code}/pdf", headers=village)
    assert pdf.status_code == 200
    text = pdf_text(pdf.data, tmp_path)
    assert "股权证" in text and number in text and code in text and flat(f"{shares} 股") in text
    assert "金山村股份经济合作联合社" in text and flat("总股本 10000 股") in text
    assert len(head) < 2 or head not in text  # the head's name is masked, as on every certificate
    path = tmp_path / f"{number}.pdf"
    path.write_bytes(pdf.data)
    assert verify_main([str(path), "--trust", str(trust_dir)]) == 0
    assert f"certificate {number}" in capsys.readouterr().out


def test_a_share_certificate_lapses_when_the_shares_change(app, client):
    with app.app_context():
        first, second = [h.code for h in db.session.scalars(
            select(Household).where(Household.collective_id == collective(JINSHAN).id).order_by(Household.code).limit(2))]
    login(client, "village")
    token = csrf_token(client, f"{SHOW}/shares")
    page = client.post(f"{SHOW}/shares/{first}/certificate", data={"csrf_token": token}, follow_redirects=True)
    body = page.get_data(as_text=True)
    number = re.search(r"股权证 (511723-GQ-\d{4}-\d{6}) 已出具并记入账本", body).group(1)
    assert f">{number}</a>" in body
    assert client.get(f"{SHOW}/shares/{first}/certificate.pdf").status_code == 200
    transfer = client.post(f"{API}/share-transfers", json={"from_household": first, "to_household": second,
                                                           "shares": "1.00", "reason": "transfer", "price": "125.00"},
                           headers=api_key(client, "village"))
    assert transfer.status_code == 201
    assert client.get(f"{SHOW}/shares/{first}/certificate.pdf").status_code == 404
    assert "股份已变动，原证失效" in client.get(f"{SHOW}/shares").get_data(as_text=True)


def test_the_payout_list_sums_exactly(app, client, tmp_path):
    with app.app_context():
        item = queries.distribution_or_404(collective(JINSHAN), 2025)
        codes = [p.household.code for p in item.payouts if p.household]
    login(client, "township")  # the township checks the village's payouts
    assert f'href="{SHOW}/distributions/2025.pdf"' in client.get(f"{SHOW}/distributions/2025").get_data(as_text=True)
    response = client.get(f"{SHOW}/distributions/2025.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data, tmp_path)
    assert "收益分配发放表" in text and f"{JINSHAN}-FP-2025" in text
    assert flat("70730.50 元") in text and flat("70% · 49511.35 元") in text and "领取人签字" in text
    layout = run("pdftotext", "-layout", str(tmp_path / "document.pdf"), "-")
    assert re.search(r"合计 Total\s+10000\.00\s+49511\.35", layout)  # the shares and the dividends, exactly
    assert all(code in text for code in codes)
    assert signed(response.data, tmp_path)


def test_a_household_statement_names_that_household_only(app, client, tmp_path):
    with app.app_context():
        item = queries.distribution_or_404(collective(JINSHAN), 2025)
        mine = next(p for p in item.payouts if p.household)
        code, amount, shares = mine.household.code, mine.amount, mine.shares
        others = [p.household.code for p in item.payouts if p.household and p.household.code != code]
    village = api_key(client, "village")
    facts = client.get(f"{API}/distributions/2025/households/{code}", headers=village).json
    assert facts["household"] == code and Decimal(facts["amount"]) == amount and Decimal(facts["shares"]) == shares
    assert not any(other in str(facts) for other in others)
    login(client, "village")
    link = f"{SHOW}/distributions/2025/households/{code}.pdf"
    assert f'href="{link}"' in client.get(f"{SHOW}/distributions/2025/households/{code}").get_data(as_text=True)
    response = client.get(link)
    text = pdf_text(response.data, tmp_path, "statement.pdf")
    assert "分红对账单" in text and code in text and flat(f"本户分红 Dividend {amount} 元") in text
    assert flat(f"本户股数 Shares held {shares} 股") in text and "49511.35" in text
    assert not [other for other in others if other in text]
    assert "0 embedded files" in run("pdfdetach", "-list", str(tmp_path / "statement.pdf"))  # not the entry either
    assert signed(response.data, tmp_path)
    assert client.get(f"{SHOW}/distributions/2025/households/{JINSHAN}099999.pdf").status_code == 404


@pytest.mark.parametrize("username, status", [("township2", 403), ("bidder", 403), ("bank", 403), ("admin", 403)])
def test_documents_are_refused_outside_the_jurisdiction(app, client, username, status):
    motion = lease_resolution(app)
    key = api_key(client, username)
    for path in (f"{API}/resolutions/{motion.id}/pdf", f"{API}/distributions/2025/pdf",
                 f"{API}/distributions/2025/households/{JINSHAN}010001/pdf"):
        assert client.get(path, headers=key).status_code == status, path
    login(client, username)
    for path in (f"{SHOW}/resolutions/{motion.id}.pdf", f"{SHOW}/distributions/2025.pdf", f"{SHOW}/shares"):
        assert client.get(path).status_code == status, path


def test_only_the_village_issues_share_certificates(app, client):
    with app.app_context():
        code = db.session.scalar(select(Household.code).where(Household.collective_id == collective(JINSHAN).id)
                                 .order_by(Household.code))
    response = client.post(f"{API}/share-certificates", json={"household": code}, headers=api_key(client, "township"))
    assert response.status_code == 403
    login(client, "township")
    token = csrf_token(client, f"{SHOW}/shares")
    assert client.post(f"{SHOW}/shares/{code}/certificate", data={"csrf_token": token}).status_code == 403
    assert "出具股权证" not in client.get(f"{SHOW}/shares").get_data(as_text=True)


def test_a_share_certificate_verifies_online_until_the_shares_change(app, client, tmp_path):
    with app.app_context():
        first, second = [h.code for h in db.session.scalars(
            select(Household).where(Household.collective_id == collective(JINSHAN).id).order_by(Household.code).limit(2))]
    village = api_key(client, "village")
    number = client.post(f"{API}/share-certificates", json={"household": first}, headers=village).json["number"]
    text = pdf_text(client.get(f"{API}/share-certificates/{first}/pdf", headers=village).data, tmp_path)
    assert f"/verify/{number}" in text  # the QR code's link, printed beside it
    public = app.test_client()  # anyone: the QR link needs no account
    body = public.get(f"/api/v1/verify/{number}").get_json()
    assert body["valid"] and body["kind"] == "share_certificate" and body["in_log"] and body["consistent"]
    assert [s["code"] for s in body["statuses"]] == ["valid"]
    assert {"label": "持股户 Household", "value": body["rows"][1]["value"]} in body["rows"] and first in body["rows"][1]["value"]
    page = public.get(f"/verify/{number}").get_data(as_text=True)
    assert "股权证" in page and 'data-status="valid"' in page and number in page
    transfer = client.post(f"{API}/share-transfers", json={"from_household": first, "to_household": second,
                                                           "shares": "1.00", "reason": "transfer", "price": "125.00"},
                           headers=village)
    assert transfer.status_code == 201
    body = public.get(f"/api/v1/verify/{number}").get_json()
    assert body["valid"] and [s["code"] for s in body["statuses"]] == ["superseded"]  # genuine, no longer current
    unknown = number[:-6] + "999999"
    assert public.get(f"/api/v1/verify/{unknown}").status_code == 404
    assert public.get(f"/verify/{unknown}").status_code == 404


def test_a_share_pledge_certificate_verifies_online_until_released(app, client):
    from exchange.collectives.models import SharePledge

    with app.app_context():
        pledge_id, number = db.session.execute(select(SharePledge.id, SharePledge.certificate_number)
                                               .where(SharePledge.certificate_number.is_not(None))).first()
    public = app.test_client()
    body = public.get(f"/api/v1/verify/{number}").get_json()
    assert body["valid"] and body["kind"] == "share_pledge" and [s["code"] for s in body["statuses"]] == ["valid"]
    assert {"label": "质权人 Pledgee", "value": "四川开江农村商业银行"} in body["rows"]
    released = client.post(f"/api/v1/collateral/share-pledges/{pledge_id}/release", json={"reason": "贷款已结清"},
                           headers=api_key(client, "bank"))
    assert released.status_code == 200
    body = public.get(f"/api/v1/verify/{number}").get_json()
    assert body["valid"] and [s["code"] for s in body["statuses"]] == ["released"]
    page = public.get(f"/verify/{number}?lang=en").get_data(as_text=True)
    assert "Share pledge registration certificate" in page and 'data-status="released"' in page
