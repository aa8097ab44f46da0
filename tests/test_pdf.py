"""PDFs: rendered from a template as PDF/A-3b, signed by the exchange's CA, and checked by independent readers
(poppler's pdftotext, pdffonts, pdfdetach and pdfsig with an NSS database trusting only our root; pyHanko's
validator), never by comparing bytes with a stored file."""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from exchange.ca import DOCUMENT_SIGNING, ca_dir, ensure_ca, export_trust_root
from exchange.pdf import Attachment, PdfResourceRefused, _html_to_pdf, certificates_dir, render_pdf, sign_pdf
from ledger.blocking import call_blocking

TOOLS = ("pdftotext", "pdfinfo", "pdffonts", "pdfdetach", "pdfsig", "certutil")
ISSUED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
PROOF = b'{"log":"kaijiang.exchange.example/ledger","index":123,"proof":["3q2+7w=="]}\n'
SAMPLE = {
    "issuer": "开江县农村产权交易中心",
    "number": "KJ-2025-000123",
    "statement": "兹证明下列土地经营权流转交易已在本中心公开进行并成交。",
    "rows": [
        {"label": "出让方", "value": "任市镇双河村股份经济合作联合社"},
        {"label": "受让方", "value": "四川某某农业有限公司"},
        {"label": "成交价款", "value": "¥ 128,000.00"},
    ],
    "english": "This certifies that the transfer of the land management right described above was publicly "
               "traded on the Kaijiang County Rural Property Rights Exchange.",
    "verify_url": "http://localhost/verify/KJ-2025-000123",
}


def run(*args: str, check: bool = True) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} is missing: run `make test`, which installs poppler-utils and libnss3-tools "
                    "(scripts/system-deps.sh test)")
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited with {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout + result.stderr


@pytest.fixture(scope="module", autouse=True)
def tools():
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make test`, which installs poppler-utils and "
                    "libnss3-tools (scripts/system-deps.sh test)")


def render_sample(**kwargs) -> bytes:
    kwargs.setdefault("issued_at", ISSUED_AT)
    return render_pdf("sample", SAMPLE, title="产权交易鉴证书（样例）",
                      attachments=[Attachment("ledger-proof.json", PROOF, "账本收录证明 ledger inclusion proof",
                                              "application/json")], **kwargs)


@pytest.fixture(scope="module")
def files(app, tmp_path_factory):
    """The sample rendered and signed once; paths of the unsigned, signed and tampered files."""
    folder = tmp_path_factory.mktemp("pdf")
    with app.app_context():
        unsigned = render_sample()
        signed = sign_pdf(unsigned, reason="产权交易鉴证", location="四川省开江县")
    tampered = bytearray(signed)
    tampered[len(unsigned) // 2] ^= 0x01  # one byte inside the first signed range
    paths = {"unsigned": folder / "unsigned.pdf", "signed": folder / "signed.pdf",
             "tampered": folder / "tampered.pdf"}
    for name, content in (("unsigned", unsigned), ("signed", signed), ("tampered", bytes(tampered))):
        paths[name].write_bytes(content)
    return paths


@pytest.fixture(scope="module")
def nss_trusting_root(app, tmp_path_factory):
    """An NSS database for pdfsig in which the exchange's root is the only trusted certificate."""
    folder = tmp_path_factory.mktemp("nss")
    root = folder / "root.pem"
    root.write_bytes(export_trust_root(app.config["KEY_DIR"]))
    run("certutil", "-N", "-d", f"sql:{folder}", "--empty-password")
    run("certutil", "-A", "-d", f"sql:{folder}", "-n", "kaijiang-exchange-root", "-t", "C,C,C", "-i", str(root))
    return f"sql:{folder}"


def root_certificate(app):
    from pyhanko.keys import load_cert_from_pemder

    return load_cert_from_pemder(str(ca_dir(app.config["KEY_DIR"]) / "root.pem"))


def pyhanko_status(path: Path, trust_root):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with path.open("rb") as f:
        signatures = PdfFileReader(f).embedded_signatures
        assert len(signatures) == 1
        context = ValidationContext(trust_roots=[trust_root], allow_fetching=False)
        return signatures[0], call_blocking(validate_pdf_signature, signatures[0], context)


def test_text_is_extractable_in_chinese_and_english(files):
    text = " ".join(run("pdftotext", "-enc", "UTF-8", str(files["signed"]), "-").split())
    for expected in ("开江县农村产权交易中心", "产权交易鉴证书", "任市镇双河村股份经济合作联合社",
                     "KJ-2025-000123", "publicly traded on the Kaijiang County", "扫描二维码"):
        assert expected in text, (expected, text)
    assert re.search(r"Pages:\s+1\n", run("pdfinfo", str(files["signed"])))


def test_the_cjk_font_is_embedded_as_a_subset(files):
    lines = run("pdffonts", str(files["signed"])).splitlines()[2:]
    assert lines, "no fonts listed"
    for line in lines:  # name type... emb sub uni object ID
        emb, sub, uni = line.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line
    assert any("Exchange-Serif" in line for line in lines), lines


def test_rendering_uses_harfbuzz_subsetting():
    from weasyprint.text.ffi import harfbuzz_subset

    assert harfbuzz_subset is not None, "libharfbuzz-subset0 is missing: run `make test` (scripts/system-deps.sh)"


def test_the_attachment_comes_out_byte_for_byte(files, tmp_path):
    listing = run("pdfdetach", "-list", str(files["signed"]))
    assert "1 embedded files" in listing and "ledger-proof.json" in listing, listing
    out = tmp_path / "proof.json"
    run("pdfdetach", "-savefile", "ledger-proof.json", "-o", str(out), str(files["signed"]))
    assert out.read_bytes() == PROOF


def test_pdfsig_finds_a_valid_pades_signature_trusted_through_the_root(files, nss_trusting_root):
    report = run("pdfsig", "-nssdir", nss_trusting_root, str(files["signed"]), check=False)
    assert "Signature is Valid." in report, report
    assert "Certificate is Trusted." in report, report
    assert "Signature Type: ETSI.CAdES.detached" in report, report
    assert "Signing Hash Algorithm: SHA-256" in report, report
    assert "Total document signed" in report, report
    assert "开江县农村产权交易中心 文书签章" in report, report


def test_pdfsig_does_not_trust_the_signer_without_the_root(files, tmp_path):
    run("certutil", "-N", "-d", f"sql:{tmp_path}", "--empty-password")
    report = run("pdfsig", "-nssdir", f"sql:{tmp_path}", str(files["signed"]), check=False)
    assert "Signature is Valid." in report, report
    assert "Certificate is Trusted." not in report, report


def test_pyhanko_reports_intact_valid_and_trusted(app, files):
    signature, status = pyhanko_status(files["signed"], root_certificate(app))
    assert status.intact and status.valid and status.trusted and status.bottom_line, status.pretty_print_details()
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "产权交易鉴证"
    assert status.md_algorithm == "sha256"
    assert status.pkcs7_signature_mechanism in ("sha256_ecdsa", "ecdsa")
    signed_attributes = {attr["type"].native for attr in signature.signer_info["signed_attrs"]}
    # PAdES baseline: the signing certificate is bound by signing_certificate_v2; the time is /M, not a CMS
    # signing-time attribute.
    assert "signing_certificate_v2" in signed_attributes and "signing_time" not in signed_attributes
    embedded = {cert.chosen.subject.human_friendly for cert in signature.signed_data["certificates"]}
    assert any("根证书" in name for name in embedded) and any("文书签章" in name for name in embedded), embedded


def test_one_changed_byte_breaks_the_signature(app, files, nss_trusting_root):
    report = run("pdfsig", "-nssdir", nss_trusting_root, str(files["tampered"]), check=False)
    assert "Signature is Valid." not in report, report
    assert "Digest Mismatch" in report, report
    _, status = pyhanko_status(files["tampered"], root_certificate(app))
    assert not status.intact and not status.bottom_line


def test_pdfa3_is_declared_and_the_attachment_is_associated(files):
    from pyhanko.pdf_utils.reader import PdfFileReader

    for name in ("unsigned", "signed"):
        with files[name].open("rb") as f:
            root = PdfFileReader(f).root
            xmp = root["/Metadata"].get_object().data.decode()
            assert re.search(r'pdfaid:part(="|>)3', xmp), xmp
            assert re.search(r'pdfaid:conformance(="|>)B', xmp), xmp
            assert root["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
            associated = [spec.get_object() for spec in root["/AF"]]
            assert [(spec["/UF"], spec["/AFRelationship"]) for spec in associated] == \
                [("ledger-proof.json", "/Supplement")]
            assert associated[0]["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"
            assert root["/Lang"] == "zh-CN"


def test_a_rerender_of_the_same_data_is_byte_identical(app):
    with app.app_context():
        assert render_sample() == render_sample()


def test_plain_data_and_a_safe_template_name_are_required(app):
    with app.app_context():
        with pytest.raises(TypeError, match=r"data\['rows'\]\[0\] is a object"):
            render_pdf("sample", {**SAMPLE, "rows": [object()]}, title="x")
        with pytest.raises(ValueError, match="template name"):
            render_pdf("../sample", SAMPLE, title="x")
        with pytest.raises(ValueError, match="time zone"):
            render_pdf("sample", SAMPLE, title="x", issued_at=datetime(2025, 3, 1))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a PDF render tried to open a network connection: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("html, css", [
    ('<img src="http://example.com/logo.png">', ""),
    ('<img src="https://example.com/logo.png">', ""),
    ('<p>x</p>', '@import url("http://example.com/x.css");'),
    ('<img src="file:///etc/passwd">', ""),
    ('<img src="file://example.com/share/logo.png">', ""),
    ('<img src="file:///usr/share/fonts/opentype/noto/../../../../etc/passwd">', ""),
    ('<img src="../../../pyproject.toml">', ""),
    ('<p>x</p>', '@font-face { font-family: X; src: url("file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"); }'
                 ' p { font-family: X; }'),
])
def test_the_url_fetcher_refuses_everything_outside_the_allowed_folders(app, no_network, html, css):
    with app.app_context(), pytest.raises(PdfResourceRefused, match="refused to fetch"):
        _html_to_pdf(f'<html lang="zh-CN"><body>{html}</body></html>', css,
                     base_dir=certificates_dir() / "sample", title="refused", lang="zh-CN")


def test_the_url_fetcher_allows_data_uris_and_files_beside_the_template(app, no_network):
    pixel = "data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D%27http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%27%2F%3E"
    with app.app_context():
        pdf = _html_to_pdf(f'<html><body><img src="{pixel}"><link rel="stylesheet" href="style.css">'
                           "<p>可以</p></body></html>", "", base_dir=certificates_dir() / "sample", title="ok",
                           lang="zh-CN")
    assert pdf.startswith(b"%PDF-")


def test_setup_created_the_ca_and_ensure_ca_never_replaces_it(app, tmp_path):
    folder = ca_dir(app.config["KEY_DIR"])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(before) == {"root.key", "root.pem", "signing.key", "signing.pem"}
    for key in ("root.key", "signing.key"):
        assert stat.S_IMODE(os.stat(folder / key).st_mode) == 0o600
    assert ensure_ca(app.config["KEY_DIR"]) == [ensure_ca(app.config["KEY_DIR"])[0]]
    assert "created" not in ensure_ca(app.config["KEY_DIR"])[0]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert export_trust_root(app.config["KEY_DIR"]) == before["root.pem"]


def test_the_ca_certificates_have_the_promised_profile(tmp_path):
    lines = ensure_ca(tmp_path)
    assert any("root created" in line for line in lines) and any("signing certificate created" in line
                                                                  for line in lines)
    root = x509.load_pem_x509_certificate((tmp_path / "ca" / "root.pem").read_bytes())
    signing = x509.load_pem_x509_certificate((tmp_path / "ca" / "signing.pem").read_bytes())

    assert root.subject == root.issuer
    assert "开江县农村产权交易中心 根证书" in root.subject.rfc4514_string()
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey) and root.public_key().curve.name == "secp256r1"
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert 365 * 20 <= (root.not_valid_after_utc - root.not_valid_before_utc).days <= 365 * 20 + 6

    assert signing.issuer == root.subject
    signing.verify_directly_issued_by(root)
    assert signing.public_key().curve.name == "secp256r1"
    assert not signing.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = signing.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    extended = signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in extended and ExtendedKeyUsageOID.EMAIL_PROTECTION in extended
    assert 365 * 5 <= (signing.not_valid_after_utc - signing.not_valid_before_utc).days <= 365 * 5 + 2

    (tmp_path / "ca" / "signing.pem").unlink()
    with pytest.raises(RuntimeError, match="signing.key exists but .*signing.pem does not"):
        ensure_ca(tmp_path)


def test_signing_and_verifying_work_while_an_event_loop_runs(app):
    """A server or a test harness may already run an asyncio loop in the calling thread (Playwright's sync API
    does); pyHanko's synchronous calls start their own loop, so the platform must still sign and check there."""
    from concurrent.futures import ThreadPoolExecutor
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    async def sign_and_check():
        asyncio.get_running_loop()
        with app.app_context():
            signed = sign_pdf(render_sample(), reason="产权交易鉴证", location="四川省开江县")
            signature = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
            context = ValidationContext(trust_roots=[root_certificate(app)], allow_fetching=False)
            return call_blocking(validate_pdf_signature, signature, context)

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own, whatever loop the test runner has
        status = pool.submit(asyncio.run, sign_and_check()).result()
    assert status.intact and status.valid and status.trusted
