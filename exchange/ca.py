"""The exchange's own certificate authority (证书颁发机构): a root kept in the instance folder and the
document-signing certificate it issues. PDFs are signed with the latter; banks and courts trust the former.

Files, under ``<KEY_DIR>/ca/``: ``root.key`` + ``root.pem`` and ``signing.key`` + ``signing.pem``.
They are created on first set-up and never replaced: a new root would orphan every PDF already issued.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

ORGANISATION = "Kaijiang County Rural Property Rights Exchange Centre"
ROOT_NAME = "开江县农村产权交易中心 根证书"
SIGNING_NAME = "开江县农村产权交易中心 文书签章"
ROOT_YEARS = 20
SIGNING_YEARS = 5

# id-kp-documentSigning (RFC 9336) says what the key is for. emailProtection is listed as well because
# NSS (and so poppler's pdfsig and Firefox/Thunderbird-based readers) checks PDF signers against the
# S/MIME "email signer" usage and rejects a certificate whose extended key usage lacks it.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def ca_dir(key_dir: str | os.PathLike) -> Path:
    return Path(key_dir) / "ca"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Sichuan"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Kaijiang"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _years(start: datetime, years: int) -> datetime:
    return start + timedelta(days=365 * years + years // 4)


def _write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))


def _key_usage(*, digital_signature=False, content_commitment=False, key_cert_sign=False, crl_sign=False):
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=content_commitment,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=key_cert_sign, crl_sign=crl_sign, encipher_only=False,
                         decipher_only=False)


def _create_root(directory: Path, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(ROOT_NAME)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(_years(now, ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private_key(directory / "root.key", key)
    _write_certificate(directory / "root.pem", certificate)


def _create_signing(directory: Path, now: datetime) -> None:
    root_key = serialization.load_pem_private_key((directory / "root.key").read_bytes(), password=None)
    root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    # The signing certificate must not outlive the root that vouches for it.
    not_after = min(_years(now, SIGNING_YEARS), root.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNING_NAME)).issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    _write_private_key(directory / "signing.key", key)
    _write_certificate(directory / "signing.pem", certificate)


def _state(directory: Path, stem: str) -> bool:
    """Whether the key pair ``stem`` exists; half a pair is an error for a person to sort out."""
    key, pem = (directory / f"{stem}.key").exists(), (directory / f"{stem}.pem").exists()
    if key != pem:
        present, missing = (f"{stem}.key", f"{stem}.pem") if key else (f"{stem}.pem", f"{stem}.key")
        raise RuntimeError(f"{directory / present} exists but {directory / missing} does not: "
                           "restore it from the backup; the CA is never recreated over existing files")
    return key


def ensure_ca(key_dir: str | os.PathLike) -> list[str]:
    """Create the root and the signing certificate if absent; never replace either. Returns what was done."""
    directory = ca_dir(key_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines = []
    has_root, has_signing = _state(directory, "root"), _state(directory, "signing")
    if not has_root:
        if has_signing:
            raise RuntimeError(f"{directory / 'signing.pem'} exists without the root that issued it: "
                               "restore root.key and root.pem from the backup")
        _create_root(directory, now)
        lines.append(f"certificate authority root created: {directory / 'root.pem'}")
    if not has_signing:
        _create_signing(directory, now)
        lines.append(f"document-signing certificate created: {directory / 'signing.pem'}")
    signing = x509.load_pem_x509_certificate((directory / "signing.pem").read_bytes())
    lines.append(f"document-signing certificate: ok, valid until {signing.not_valid_after_utc:%Y-%m-%d}")
    return lines


def export_trust_root(key_dir: str | os.PathLike) -> bytes:
    """The root certificate (PEM) a relying party installs to trust the exchange's PDFs."""
    return (ca_dir(key_dir) / "root.pem").read_bytes()


def signing_files(key_dir: str | os.PathLike) -> tuple[Path, Path, Path]:
    """(signing key, signing certificate, root certificate) for the signer."""
    directory = ca_dir(key_dir)
    return directory / "signing.key", directory / "signing.pem", directory / "root.pem"
