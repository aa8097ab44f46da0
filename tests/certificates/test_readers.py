"""The demo certificates read by tools that know nothing about the platform: what they print, which fonts they
carry, what is attached, whose signature it is, where the QR code points."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from base64 import b64decode
from pathlib import Path

import pytest
from sqlalchemy import select

from exchange.certificates.models import Certificate, CertificateKind
from exchange.db import db
from ledger import merkle
from ledger.blocking import call_blocking
from ledger.entry import decode
from ledger.policy import Policy
from ledger.tlogproof import TlogProof
from tests.certificates.conftest import run

RESIDENT_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dX](?![0-9A-Za-z])")


def facts(app, number: str) -> dict:
    """What the registry says about the certificate, to compare with what the tools read."""
    with app.app_context():
        certificate = db.session.scalar(select(Certificate).where(Certificate.number == number))
        right = certificate.right
        source = right.derived_from
        people = [m for h in (source.holders if source else []) if h.household for m in h.household.members]
        pii = app.extensions["pii"]
        return {
            "index": certificate.ledger_index, "right": right.number, "parcel": right.parcel.code,
            "parcel_name": right.parcel.name, "holder": right.holders[0].public_name,
            "transferor_masked": source.holders[0].public_name if source else None,
            "transferor_full": source.holders[0].household.head_name if source and source.holders[0].household else None,
            "member_names": [p.name for p in people], "member_ids": [pii.decrypt(p.id_number_encrypted) for p in people],
            "pledgee": certificate.encumbrance.pledgee.name if certificate.encumbrance else None,
            "amount": f"{certificate.encumbrance.amount:.2f}" if certificate.encumbrance else None,
        }


def squeezed_text(path: Path) -> str:
    """pdftotext's output without whitespace (it breaks lines and spaces CJK runs as the layout does)."""
    return "".join(run("pdftotext", "-enc", "UTF-8", str(path), "-").split())


def test_pdftotext_reads_the_transaction_certificate_in_chinese(app, demo_pdfs, demo_numbers):
    number = demo_numbers[CertificateKind.transaction]
    known = facts(app, number)
    text = squeezed_text(demo_pdfs["transaction"])
    for expected in ("开江县农村产权交易中心", "农村产权交易鉴证书", f"编号No.{number}", known["parcel_name"],
                     known["parcel"], f"土地经营权{known['right']}", f"出让方Transferor{known['transferor_masked']}",
                     f"受让方Transferee{known['holder']}", "种植业",
                     f"第{known['index']}条", "扫描二维码或访问以下地址核验本证明"):
        assert expected in text, (expected, text)
    # the transferor is a household: its head's name is masked, and no member's name or resident ID appears
    assert "*" in known["transferor_masked"]
    assert known["transferor_full"] not in text
    for name, resident_id in zip(known["member_names"], known["member_ids"], strict=True):
        assert resident_id not in text and (len(name) < 2 or name not in text)
    assert not RESIDENT_ID_LIKE.search(text)


def test_pdftotext_reads_the_mortgage_certificate(app, demo_pdfs, demo_numbers):
    number = demo_numbers[CertificateKind.mortgage]
    known = facts(app, number)
    text = squeezed_text(demo_pdfs["mortgage"])
    for expected in ("抵押登记证明", f"编号No.{number}", f"抵押权人Pledgee{known['pledgee']}",
                     f"担保债权金额Securedamount{known['amount']}元", f"抵押人Mortgagor{known['holder']}",
                     f"土地经营权{known['right']}", f"第{known['index']}条"):
        assert expected in text, (expected, text)


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_pdffonts_shows_the_cjk_font_embedded_as_a_subset(demo_pdfs, name):
    lines = run("pdffonts", str(demo_pdfs[name])).splitlines()[2:]
    assert lines, "no fonts listed"
    for line in lines:  # name type encoding emb sub uni object ID
        emb, sub, uni = line.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line
    cjk = [line for line in lines if re.match(r"[A-Z]{6}\+Exchange-Serif", line)]
    assert cjk and all("Identity-H" in line for line in cjk), lines


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_the_certificate_stays_under_250_kb(demo_pdfs, name):
    assert demo_pdfs[name].stat().st_size <= 250 * 1024


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_pdfdetach_gives_the_ledger_entry_and_its_tlog_proof(app, client, demo_pdfs, demo_numbers, trust_dir,
                                                           tmp_path, name):
    kind = CertificateKind(name)
    number = demo_numbers[kind]
    listing = run("pdfdetach", "-list", str(demo_pdfs[name]))
    assert re.findall(r"^\d+: (.+)$", listing, re.M) == ["entry.json", "proof.tlog-proof"], listing
    run("pdfdetach", "-saveall", "-o", str(tmp_path), str(demo_pdfs[name]))
    entry_bytes = (tmp_path / "entry.json").read_bytes()
    proof_text = (tmp_path / "proof.tlog-proof").read_text()

    entry = decode(entry_bytes)  # exactly the canonical bytes, or this raises
    assert entry["kind"] == "certificate" and entry["data"]["certificate"]["number"] == number
    index = facts(app, number)["index"]
    # the same bytes the exchange serves for that index, from the database rather than the PDF
    served = client.get(f"/api/v1/ledger/entries/{index}").get_json()
    assert b64decode(served["leaf"]) == entry_bytes

    proof = TlogProof.parse(proof_text)
    assert proof_text.startswith("c2sp.org/tlog-proof@v1\nindex ") and proof.index == index
    policy = Policy.from_json((trust_dir / "policy.json").read_text())
    verified = proof.verify(entry_bytes, policy)
    assert verified.checkpoint.size > index and len(verified.witnesses) >= policy.witness_quorum >= 1
    assert merkle.leaf_hash(entry_bytes).hex() in squeezed_text(demo_pdfs[name])


def test_python_m_ledger_verify_accepts_it_without_server_or_database(demo_pdfs, demo_numbers, trust_dir, tmp_path):
    """Run as a bank would: another directory, no DATABASE_URL, no instance; the platform must not even load."""
    probe = ("import runpy, sys\n"
             "sys.argv = ['ledger.verify', sys.argv[1], '--trust', sys.argv[2]]\n"
             "try:\n    runpy.run_module('ledger.verify', run_name='__main__')\n"
             "except SystemExit as exit:\n"
             "    loaded = sorted(m for m in ('flask', 'sqlalchemy', 'exchange') if m in sys.modules)\n"
             "    print('loaded:', loaded)\n    raise\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "EXCHANGE_", "TEST_"))}
    for name, kind in (("transaction", CertificateKind.transaction), ("mortgage", CertificateKind.mortgage)):
        done = subprocess.run([sys.executable, "-c", probe, str(demo_pdfs[name]), str(trust_dir)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        first, loaded = done.stdout.splitlines()
        assert re.fullmatch(rf"valid: certificate {demo_numbers[kind]} — ledger entry \d+ in a tree of \d+, PDF signed "
                            r"by .*开江县农村产权交易中心 文书签章.*, [12] witness cosignature\(s\)", first), first
        assert loaded == "loaded: []", loaded


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_pdfsig_validates_the_signature_with_the_exported_root(demo_pdfs, nssdb, name):
    report = run("pdfsig", "-nssdir", nssdb, str(demo_pdfs[name]), check=False)
    assert report.count("Signature #") == 1, report
    for expected in ("Signature is Valid.", "Certificate is Trusted.", "Total document signed",
                     "Signature Type: ETSI.CAdES.detached", "开江县农村产权交易中心 文书签章"):
        assert expected in report, report


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_pyhanko_validates_the_signature_with_the_exported_root(demo_pdfs, demo_numbers, trust_dir, name):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with demo_pdfs[name].open("rb") as f:
        reader = PdfFileReader(f)
        [signature] = reader.embedded_signatures
        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(trust_dir / "ca-root.pem"))],
                                    allow_fetching=False)
        status = call_blocking(validate_pdf_signature, signature, context)
        assert status.intact and status.valid and status.trusted and status.bottom_line, status.pretty_print_details()
        assert status.coverage.name == "ENTIRE_FILE"
        assert signature.sig_object["/Reason"].endswith(demo_numbers[CertificateKind(name)])
        associated = [spec.get_object() for spec in reader.root["/AF"]]
        assert [(s["/UF"], s["/AFRelationship"]) for s in associated] == \
            [("entry.json", "/Source"), ("proof.tlog-proof", "/Supplement")]
        assert re.search(r'pdfaid:part(="|>)3', reader.root["/Metadata"].get_object().data.decode())


@pytest.mark.parametrize("name", ["transaction", "mortgage"])
def test_the_qr_code_decodes_to_the_verification_url(app, client, demo_pdfs, demo_numbers, tmp_path, name):
    number = demo_numbers[CertificateKind(name)]
    run("pdftoppm", "-r", "150", "-png", str(demo_pdfs[name]), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    decoded = [line for page in pages
               for line in run("zbarimg", "--nodbus", "-q", "--raw", str(page), check=False).splitlines() if line]
    assert decoded == [f"{app.config['PUBLIC_BASE_URL']}/verify/{number}"], decoded
    # and the link opens the public verification of this certificate
    page = client.get(decoded[0].removeprefix(app.config["PUBLIC_BASE_URL"]))
    assert page.status_code == 200 and number in page.get_data(as_text=True)
