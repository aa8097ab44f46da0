"""Certificates checked the way a bank would: rendered from the demo dataset, then read by independent tools
(poppler's pdftotext, pdffonts, pdfdetach, pdftoppm and pdfsig with an NSS database trusting only the exported
root; zbarimg for the QR code; pyHanko's validator; ``python -m ledger.verify`` with the exported trust bundle).

The demo dataset carries a transaction certificate (交易鉴证书) for the family farm's management right and a
mortgage registration certificate (抵押登记证明) for that right's pledge to the bank; their numbers are looked up,
not written down, since they carry the year of issue.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from exchange.certificates.models import Certificate, CertificateKind
from exchange.certificates.operations import by_number, render_certificate
from exchange.db import db

# tool -> Debian package that provides it
TOOLS = {"pdftotext": "poppler-utils", "pdffonts": "poppler-utils", "pdfdetach": "poppler-utils",
         "pdftoppm": "poppler-utils", "pdfsig": "poppler-utils", "pdfinfo": "poppler-utils",
         "certutil": "libnss3-tools", "zbarimg": "zbar-tools"}


def run(*args: str, check: bool = True) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} is missing: install the Debian package {TOOLS.get(args[0], '?')} "
                    "(scripts/system-deps.sh test)")
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited with {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def demo_numbers(app) -> dict[CertificateKind, str]:
    """The number of the demo dataset's first certificate of each kind it has."""
    with app.app_context():
        found: dict[CertificateKind, str] = {}
        for certificate in db.session.scalars(select(Certificate).order_by(Certificate.id)):
            found.setdefault(certificate.kind, certificate.number)
    assert {CertificateKind.transaction, CertificateKind.mortgage} <= set(found), found
    return found


@pytest.fixture(scope="session")
def demo_pdfs(app, demo_numbers, tmp_path_factory) -> dict[str, Path]:
    """The demo transaction and mortgage certificates, rendered and signed once, as files."""
    folder = tmp_path_factory.mktemp("certificates")
    paths = {}
    with app.app_context():
        for name, kind in (("transaction", CertificateKind.transaction), ("mortgage", CertificateKind.mortgage)):
            pdf = render_certificate(by_number(demo_numbers[kind]))
            db.session.commit()
            paths[name] = folder / f"{demo_numbers[kind]}.pdf"
            paths[name].write_bytes(pdf)
    return paths


@pytest.fixture(scope="session")
def trust_dir(app, tmp_path_factory) -> Path:
    """The trust bundle exactly as a bank gets it: ``flask certificates trust-bundle -o DIR``."""
    folder = tmp_path_factory.mktemp("trust") / "bundle"
    result = app.test_cli_runner().invoke(args=["certificates", "trust-bundle", "-o", str(folder)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return folder


@pytest.fixture(scope="session")
def nssdb(trust_dir, tmp_path_factory) -> str:
    """An NSS database for pdfsig in which the bundle's CA root is the only trusted certificate."""
    folder = tmp_path_factory.mktemp("nss")
    run("certutil", "-N", "-d", f"sql:{folder}", "--empty-password")
    run("certutil", "-A", "-d", f"sql:{folder}", "-n", "kaijiang-exchange-root", "-t", "C,C,C",
        "-i", str(trust_dir / "ca-root.pem"))
    return f"sql:{folder}"
