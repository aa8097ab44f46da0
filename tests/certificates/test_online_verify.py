"""Online verification: /verify (by number, by the QR link, by upload) and /api/v1/verify say whether the
certificate is in the log, whether the log is consistent since, and the certified right's status *now*. The
registry is changed through its real endpoints (freeze, lift, pledge, release, re-transfer) and the answer follows.
The public sees no personal identifiers."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from exchange.ca import export_trust_root
from exchange.certificates.models import Certificate, CertificateKind
from exchange.certificates.operations import by_number, verify_certificate
from exchange.db import db
from exchange.demo.data import organisation_credit_code
from exchange.ledger_app import service
from exchange.registry import operations as registry
from exchange.registry.models import Right
from ledger.verify import main as offline_verify
from tests.test_registry_web import api_key

DEMO_RIGHT = "JY5117231002000100001-001"  # the family farm's management right, pledged to the bank in the demo
COMPANY = organisation_credit_code("91", "6A000003")  # 四川巴山生态农业有限公司
BANK_NAME = "四川开江农村商业银行"
ART40 = {k: "约定" for k in ("parties", "parcel", "term", "use", "rights_duties", "price_payment",
                             "expropriation", "liability")}
RESIDENT_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dX](?![0-9A-Za-z])")


def api_statuses(client, number: str) -> list[str]:
    body = client.get(f"/api/v1/verify/{number}").get_json()
    assert body["in_log"] and body["consistent"] and body["valid"] and body["problems"] == [], body
    return [s["code"] for s in body["statuses"]]


def page_statuses(client, number: str) -> tuple[list[str], str]:
    """The statuses the public page shows (from the QR link /verify/<number>), and its text. Asked by a visitor
    of its own: the page leaves a session cookie, after which flask-login ignores the API key of a client that
    keeps cookies (a bug reported separately)."""
    response = client.application.test_client().get(f"/verify/{number}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.findall(r'data-status="([a-z]+)"', html), html


def statuses(client, number: str) -> list[str]:
    """API and page agree; return what they say."""
    from_api = api_statuses(client, number)
    from_page, _ = page_statuses(client, number)
    assert from_page == from_api
    return from_api


def number_for(client, right_number: str, kind: CertificateKind) -> str:
    with client.application.app_context():
        return db.session.scalar(select(Certificate.number).join(Certificate.right)
                                 .where(Right.number == right_number, Certificate.kind == kind)
                                 .order_by(Certificate.id.desc()).limit(1))


def counts(client) -> tuple[int, int]:
    with client.application.app_context():
        return (service.store().size(db.session.connection()),
                db.session.scalar(select(func.count()).select_from(Certificate)))


def encumbrance_id(client, headers) -> int:
    right = client.get(f"/api/v1/registry/rights/{DEMO_RIGHT}", headers=headers).get_json()
    [pledge] = [e for e in right["encumbrances"] if not e["released"]]
    return pledge["id"]


# --- by number ----------------------------------------------------------------------------------------------


def test_the_demo_mortgage_certificate_is_valid_and_says_so_in_plain_words(client, demo_numbers):
    number = demo_numbers[CertificateKind.mortgage]
    body = client.get(f"/api/v1/verify/{number}").get_json()
    assert body["number"] == number and body["kind"] == "mortgage"
    assert body["in_log"] and body["consistent"] and body["tree_size"] <= body["newest_size"]
    assert [s["code"] for s in body["statuses"]] == ["valid"]
    assert {"label": "抵押权人 Pledgee", "value": BANK_NAME} in body["rows"]
    response = client.get(f"/verify?number={number}")  # the form on /verify
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-verdict="valid"' in html and "有效：证明真实，所载权利现仍有效。" in html
    assert f"证明已记入平台账本：第 {body['index']} 条，包含于 {body['tree_size']} 条的签名检查点。" in html
    assert BANK_NAME in html and DEMO_RIGHT in html


def test_the_demo_transaction_certificate_shows_the_pledge_that_followed_it(client, demo_numbers):
    number = demo_numbers[CertificateKind.transaction]
    assert statuses(client, number) == ["encumbered"]
    [status] = client.get(f"/api/v1/verify/{number}").get_json()["statuses"]
    assert status["message_zh"] == f"该权利已抵押给{BANK_NAME}（第 1 顺位，200000.00 元，至 2028-02-28）。"
    _, html = page_statuses(client, number)
    assert 'data-verdict="changed"' in html and "有效：" not in html


def test_english_is_available(client, demo_numbers):
    number = demo_numbers[CertificateKind.mortgage]
    html = client.get(f"/verify/{number}?lang=en").get_data(as_text=True)
    assert "Mortgage registration certificate" in html and "The certified right still stands as certified." in html


def test_an_unknown_number_is_a_clear_answer_not_a_crash(client):
    before = counts(client)
    page = client.get("/verify/511723-JZ-1999-999999")
    assert page.status_code == 404
    assert "没有编号为 511723-JZ-1999-999999 的证明。请核对编号（形如 511723-JZ-2026-000001）。" in page.get_data(as_text=True)
    api = client.get("/api/v1/verify/nonsense%20number")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "CERT-UNKNOWN" and api.get_json()["field"] == "number"
    english = client.get("/api/v1/verify/nonsense?lang=en").get_json()
    assert english["detail"].startswith("No certificate numbered nonsense.")
    assert counts(client) == before


# --- the status follows the registry --------------------------------------------------------------------------


def test_a_freeze_shows_on_both_certificates_and_goes_when_lifted(client, demo_numbers):
    county = api_key(client, "county")
    transaction, mortgage = demo_numbers[CertificateKind.transaction], demo_numbers[CertificateKind.mortgage]
    frozen = client.post(f"/api/v1/registry/rights/{DEMO_RIGHT}/freezes", headers=county,
                         json={"authority": "开江县人民法院", "document_number": "(2026)川1723执保88号",
                               "reason": "财产保全"})
    assert frozen.status_code == 201, frozen.get_json()
    assert statuses(client, mortgage) == ["frozen"]
    assert statuses(client, transaction) == ["frozen", "encumbered"]
    _, html = page_statuses(client, mortgage)
    assert "该权利已被开江县人民法院查封（(2026)川1723执保88号）。" in html and 'data-verdict="changed"' in html

    lifted = client.post(f"/api/v1/registry/freezes/{frozen.get_json()['id']}/lift", headers=county,
                         json={"document_number": "(2026)川1723执保88号之一"})
    assert lifted.status_code == 200
    assert statuses(client, mortgage) == ["valid"]
    assert statuses(client, transaction) == ["encumbered"]


def test_a_release_shows_as_released_and_the_transfer_is_valid_again(client, demo_numbers):
    township = api_key(client, "township")
    released = client.post(f"/api/v1/registry/encumbrances/{encumbrance_id(client, township)}/release",
                           headers=township, json={"reason": "贷款已结清"})
    assert released.status_code == 200, released.get_json()
    assert statuses(client, demo_numbers[CertificateKind.mortgage]) == ["released"]
    assert statuses(client, demo_numbers[CertificateKind.transaction]) == ["valid"]
    [status] = client.get(f"/api/v1/verify/{demo_numbers[CertificateKind.mortgage]}").get_json()["statuses"]
    assert status["message_zh"] == f"该抵押已于 {date.today()} 解除。"


def test_a_later_assignment_supersedes_both_certificates_and_the_qr_link_says_so(client, demo_numbers):
    village = api_key(client, "village")
    assigned = client.post(f"/api/v1/registry/rights/{DEMO_RIGHT}/transfers", headers=village, json={
        "transferee": COMPANY, "mode": "转让", "permitted_use": "1", "start_date": "2027-01-01",
        "end_date": "2034-12-31", "price": "90000 元", "contract": ART40,
        "consents": {"filed_with_collective": True, "contracting_household": True, "pledgee": True}})
    assert assigned.status_code == 201, assigned.get_json()
    successor = assigned.get_json()["number"]
    # the pledge stays on the assigned right until the bank releases it
    for kind, expected in ((CertificateKind.transaction, ["superseded", "encumbered"]),
                           (CertificateKind.mortgage, ["superseded"])):
        codes, html = page_statuses(client, demo_numbers[kind])  # what scanning the old QR code shows
        assert codes == expected and api_statuses(client, demo_numbers[kind]) == expected
        assert f"该权利已被后续登记取代（现为 {successor}）。" in html
        assert 'data-verdict="changed"' in html and 'data-verdict="valid"' not in html
    # the assignment got its own transaction certificate, valid
    fresh = number_for(client, successor, CertificateKind.transaction)
    assert fresh and fresh != demo_numbers[CertificateKind.transaction]
    assert statuses(client, fresh) == ["valid"]


def test_a_new_transfer_then_a_mortgage_then_a_second_rank_then_release(client):
    """A household's contract right leased to the family farm; the bank lends against it twice."""
    village, bank, township = api_key(client, "village"), api_key(client, "bank"), api_key(client, "township")
    leased = client.post("/api/v1/registry/rights/CB5117231002000100007-001/transfers", headers=village, json={
        "transferee": organisation_credit_code("92", "6F000002"), "mode": "出租", "permitted_use": "1",
        "start_date": "2027-01-01", "end_date": "2036-12-31", "price": "650 元/亩/年", "contract": ART40,
        "consents": {"filed_with_collective": True}})
    assert leased.status_code == 201, leased.get_json()
    right = leased.get_json()["number"]
    transaction = number_for(client, right, CertificateKind.transaction)
    assert statuses(client, transaction) == ["valid"]

    mortgages = []
    for amount, contract in (("30000", "KJNS-2027-0001"), ("20000", "KJNS-2027-0002")):
        applied = client.post("/api/v1/collateral/applications", headers=bank, json={
            "right": right, "loan_amount": amount, "start_date": "2027-02-01", "end_date": "2030-01-31",
            "valuation_basis": {"method": "appraisal", "amount": "80000", "appraiser": "开江评估所"},
            "contract_number": contract, "consents": {"contracting_household": True, "filed_with_collective": True}})
        assert applied.status_code == 201, applied.get_json()
        registered = client.post(f"/api/v1/collateral/applications/{applied.get_json()['id']}/registration",
                                 headers=township)
        assert registered.status_code == 201, registered.get_json()
        mortgages.append((applied.get_json()["id"], registered.get_json()["certificate"]))
    (first_app, first), (_, second) = mortgages
    assert statuses(client, transaction) == ["encumbered", "encumbered"]
    assert statuses(client, first) == ["encumbered"]  # the second-rank pledge that came after it
    assert statuses(client, second) == ["encumbered"]  # … and the first rank ahead of it
    messages = [s["message_zh"] for s in client.get(f"/api/v1/verify/{second}").get_json()["statuses"]]
    assert messages == [f"该权利已抵押给{BANK_NAME}（第 1 顺位，30000.00 元，至 2030-01-31）。"]

    released = client.post(f"/api/v1/collateral/applications/{first_app}/release", headers=bank,
                           json={"reason": "贷款已结清"})
    assert released.status_code == 200, released.get_json()
    assert statuses(client, first) == ["released", "encumbered"]  # released, and the second pledge remains
    assert statuses(client, second) == ["valid"]
    assert statuses(client, transaction) == ["encumbered"]


def test_expiry_of_the_term_shows_as_expired(app_ctx, demo_numbers):
    """Through the registry's expiry operation, as run on the first day after the term (2034-12-31)."""
    ended = registry.expire_rights(date(2035, 1, 1))
    assert DEMO_RIGHT in {r.number for r in ended}
    result = verify_certificate(by_number(demo_numbers[CertificateKind.transaction]))
    assert result.valid and [s.code for s in result.statuses] == ["expired", "encumbered"]
    assert result.statuses[0].message_zh == "该权利已于 2034-12-31 到期。"


# --- what the public sees -----------------------------------------------------------------------------------------


def test_the_public_sees_no_personal_identifiers(client, demo_numbers):
    """A household's contract right: an extract names the household only masked; nor do the demo certificates
    show the transferor household's name, its members or any resident ID."""
    with client.application.app_context():
        right = db.session.scalar(select(Right).where(Right.number == "CB5117231002000100008-001"))
        household = right.holders[0].household
        pii = client.application.extensions["pii"]
        name = household.head_name
        secrets = [name] + [p.name for p in household.members] + \
            [pii.decrypt(p.id_number_encrypted) for p in household.members]
    extract = client.post("/api/v1/certificates/extracts", headers=api_key(client, "bank"),
                          json={"right": "CB5117231002000100008-001"})
    assert extract.status_code == 201, extract.get_json()
    numbers = [extract.get_json()["number"], demo_numbers[CertificateKind.transaction],
               demo_numbers[CertificateKind.mortgage]]
    for number in numbers:
        for text in (client.get(f"/verify/{number}").get_data(as_text=True),
                     client.get(f"/api/v1/verify/{number}").get_data(as_text=True)):
            assert not any(secret in text for secret in secrets if len(secret) > 1), number
            assert not RESIDENT_ID_LIKE.search(text), number
    rows = client.get(f"/api/v1/verify/{numbers[0]}").get_json()["rows"]
    holder = next(r["value"] for r in rows if r["label"] == "权利人 Holder")
    assert holder == name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


# --- by upload ------------------------------------------------------------------------------------------------------


def upload(client, content: bytes, path: str = "/verify", name: str = "certificate.pdf"):
    return client.post(path, data={"pdf": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_uploading_the_genuine_pdf_checks_it_and_shows_its_status(client, demo_pdfs, demo_numbers):
    before = counts(client)
    page = upload(client, demo_pdfs["mortgage"].read_bytes())
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "文件核验通过：电子签章有效、来自本平台，所附账本条目和包含证明与签名检查点一致。" in html
    assert demo_numbers[CertificateKind.mortgage] in html and 'data-status="valid"' in html
    api = upload(client, demo_pdfs["transaction"].read_bytes(), "/api/v1/verify").get_json()
    assert api["valid"] and api["code"] == "valid"
    assert api["online"]["number"] == demo_numbers[CertificateKind.transaction]
    assert [s["code"] for s in api["online"]["statuses"]] == ["encumbered"]
    assert api["summary"].startswith(f"valid: certificate {demo_numbers[CertificateKind.transaction]}")
    assert counts(client) == before  # checking stores and changes nothing


def _tampered(demo_pdfs) -> bytes:
    data = bytearray(demo_pdfs["mortgage"].read_bytes())
    data[len(data) // 4] ^= 0x01
    return bytes(data)


def test_uploading_a_tampered_pdf_is_refused_in_chinese_and_in_english(client, demo_pdfs):
    before = counts(client)
    page = upload(client, _tampered(demo_pdfs))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "核验未通过：PDF 在签章后被改动过（哪怕一个字节），证明无效。" in html
    assert "digest" not in html and 'data-testid="verify-result"' not in html
    english = upload(client, _tampered(demo_pdfs), "/verify?lang=en").get_data(as_text=True)
    assert "Not valid: The PDF was changed after it was signed (even one byte): the certificate is not valid." in english
    api = upload(client, _tampered(demo_pdfs), "/api/v1/verify")
    body = api.get_json()
    assert api.status_code == 422 and body["valid"] is False and body["code"] == "tampered"
    assert body["reason_zh"].startswith("核验未通过：PDF 在签章后被改动过") and "digest does not match" in body["detail"]
    assert counts(client) == before


def test_uploads_that_are_not_our_certificates_get_a_clear_answer(app, client, demo_pdfs, tmp_path):
    from exchange.ca import ensure_ca
    from exchange.pdf import sign_pdf
    from tests.certificates.test_offline_verify import attachments_of, certificate_pdf
    from tests.test_pdf import render_sample

    genuine = demo_pdfs["mortgage"].read_bytes()
    with app.app_context():
        sample = sign_pdf(render_sample(), reason="样例", location="四川省开江县")
    ensure_ca(tmp_path / "impostor")
    foreign = certificate_pdf(app, *attachments_of(demo_pdfs["mortgage"]), signer_dir=tmp_path / "impostor")
    cases = {
        "unreadable": (genuine[: len(genuine) // 2], "核验未通过：文件不是可读取的 PDF，或已损坏、被截断。"),
        "attachments-missing": (sample, "核验未通过：PDF 缺少所附账本条目和包含证明，不是本平台出具的证明。"),
        "untrusted": (foreign, "核验未通过：电子签章不是本交易中心的证书所签，不是本平台出具的证明。"),
        "appended": (genuine + b"\n%% appended\n", "核验未通过：PDF 在签章后被追加了内容，证明无效。"),
        "empty": (b"", "请选择要核验的 PDF 文件。"),
    }
    for code, (content, message) in cases.items():
        page = upload(client, content)
        assert page.status_code == 422 and message in page.get_data(as_text=True), code
        api = upload(client, content, "/api/v1/verify")
        assert api.status_code == 422 and api.get_json()["code"] == code, (code, api.get_json())


def test_an_upload_over_the_limit_is_refused(client):
    # encoded in memory: the test client would otherwise spool a body this large to a temporary file it never closes
    boundary, body = encode_multipart({"pdf": FileStorage(io.BytesIO(b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024 + 10)),
                                                          "certificate.pdf")})
    page = client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert page.status_code == 422 and "文件超过 10 MB，不是本平台出具的证明。" in page.get_data(as_text=True)


# --- the trust bundle ------------------------------------------------------------------------------------------------


def test_the_trust_bundle_download_is_what_the_cli_exports_and_verifies_offline(app, client, trust_dir, demo_pdfs,
                                                                             tmp_path, capsys):
    page = client.get("/verify").get_data(as_text=True)
    assert 'href="/verify/trust-bundle.zip"' in page
    response = client.get("/verify/trust-bundle.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = sorted(archive.namelist())
        assert names == [f"trust-bundle/{n}" for n in ("README.txt", "ca-root.pem", "log.vkey", "policy.json",
                                                         "witnesses.vkey")]
        for name in names:
            assert archive.read(name) == (trust_dir / name.split("/")[1]).read_bytes(), name
        archive.extractall(tmp_path)
    bundle = tmp_path / "trust-bundle"
    assert (bundle / "policy.json").read_text() == client.get("/ledger/policy.json").get_data(as_text=True)
    assert (bundle / "log.vkey").read_text().strip() == client.get("/ledger/vkey").get_data(as_text=True).strip()
    assert (bundle / "ca-root.pem").read_bytes() == export_trust_root(app.config["KEY_DIR"])
    assert offline_verify([str(demo_pdfs["transaction"]), "--trust", str(bundle)]) == 0
    assert capsys.readouterr().out.startswith("valid: certificate ")
