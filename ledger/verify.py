"""Offline verification of an exchange certificate: ``python -m ledger.verify FILE.pdf --trust DIR``.

Needs neither the exchange's server nor its database. DIR is the trust bundle a bank installs
(``flask --app wsgi certificates trust-bundle -o DIR``): ``policy.json`` (log keys, witness keys, quorum)
and ``ca-root.pem`` (the exchange's CA root). Checks, in order:

1. the PDF signature: intact, made by a certificate chaining to the trusted root, covering the whole file, and
   its /Contents exactly the CMS object our signer wrote (a changed padding byte or hex case is refused too,
   though the CMS parser would ignore it);
2. the embedded entry (``entry.json``, the exact bytes that were hashed) and proof (``proof.tlog-proof``);
3. the checkpoint's signatures against the policy (log key, witness quorum);
4. the entry's inclusion proof against the checkpoint's root.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .blocking import call_blocking
from .entry import EntryError, decode
from .policy import Policy, PolicyError
from .tlogproof import TlogProof, TlogProofError

ENTRY_NAME = "entry.json"
PROOF_NAME = "proof.tlog-proof"


class VerificationError(Exception):
    """Why a certificate does not verify, in one sentence, with a stable ``code`` for translations:
    trust-bundle, unreadable, unsigned, signature-count, signature-invalid, tampered, untrusted, appended,
    attachments-missing, entry-invalid, checkpoint-rejected, proof-invalid."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Result:
    number: str
    index: int
    tree_size: int
    signer: str
    witnesses: int
    entry: dict

    def summary(self) -> str:
        return (f"valid: certificate {self.number} — ledger entry {self.index} in a tree of {self.tree_size}, "
                f"PDF signed by {self.signer}, {self.witnesses} witness cosignature(s)")


def load_trust(directory: str | Path):
    directory = Path(directory)
    try:
        policy = Policy.from_json((directory / "policy.json").read_text())
    except FileNotFoundError as exc:
        raise VerificationError(f"trust bundle {directory} has no policy.json", "trust-bundle") from exc
    except PolicyError as exc:
        raise VerificationError(f"trust bundle policy.json is unusable: {exc}", "trust-bundle") from exc
    try:
        from pyhanko.keys import load_cert_from_pemder

        root = load_cert_from_pemder(str(directory / "ca-root.pem"))
    except (FileNotFoundError, OSError) as exc:
        raise VerificationError(f"trust bundle {directory} has no ca-root.pem", "trust-bundle") from exc
    return policy, root


def embedded_files(reader) -> dict[str, bytes]:
    """Files attached to the PDF (the EmbeddedFiles name tree), by name."""
    found: dict[str, bytes] = {}
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return found

    def walk(node) -> None:
        node = node.get_object()
        if "/Names" in node:
            items = node["/Names"]
            for i in range(0, len(items), 2):
                spec = items[i + 1].get_object()
                stream = spec["/EF"]["/F"].get_object()
                found[str(items[i])] = stream.data
        for kid in node.get("/Kids", []):
            walk(kid)

    walk(names)
    return found


def _der_length(content: bytes) -> int:
    """Length of the DER object (the CMS ContentInfo) at the start of ``content``, header included."""
    if len(content) < 2 or content[0] != 0x30:
        return -1
    if content[1] < 0x80:
        return 2 + content[1]
    count = content[1] & 0x7F
    if not 1 <= count <= 4 or len(content) < 2 + count:
        return -1
    return 2 + count + int.from_bytes(content[2:2 + count], "big")


def _check_contents_exact(data: bytes, signature) -> None:
    """The bytes the signature does not cover are exactly ``<HEX>``: the CMS object, then zero padding.

    A PDF reader decodes the hex string and parses only the DER object at its start, so a changed padding
    digit, a changed letter case or inserted whitespace there would go unnoticed (pdfsig accepts them too).
    An exchange certificate is refused on any changed byte, so the gap must be exactly what was written."""
    _, len1, start2, _ = signature.byte_range
    content = bytes(signature.pkcs7_content)
    gap = data[len1:start2]
    hex_digits = content.hex().encode("ascii")
    if gap not in (b"<" + hex_digits.upper() + b">", b"<" + hex_digits + b">"):
        raise VerificationError("the PDF's signature value was changed after signing (its hex string is not the "
                                "one the signer wrote)", "tampered")
    length = _der_length(content)
    if length < 0 or length > len(content) or content[length:].strip(b"\x00"):
        raise VerificationError("the PDF's signature value was changed after signing (bytes after the signature "
                                "are not the signer's zero padding)", "tampered")


def verify_pdf(data: bytes, policy: Policy, root) -> Result:
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise VerificationError(f"not a readable PDF: {exc}", "unreadable") from exc
    if not signatures:
        raise VerificationError("the PDF carries no signature: it is not an exchange certificate", "unsigned")
    if len(signatures) != 1:
        raise VerificationError(f"the PDF carries {len(signatures)} signatures; an exchange certificate carries one",
                                "signature-count")
    signature = signatures[0]
    try:
        status = call_blocking(validate_pdf_signature, signature,
                               ValidationContext(trust_roots=[root], allow_fetching=False))
    except (SignatureValidationError, PdfReadError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise VerificationError(f"the PDF signature cannot be validated: {exc}", "signature-invalid") from exc
    if not status.intact:
        raise VerificationError("the PDF was changed after it was signed (its digest does not match)", "tampered")
    if not status.valid:
        raise VerificationError("the PDF signature is not valid", "signature-invalid")
    if not status.trusted:
        raise VerificationError("the PDF was not signed by the trusted exchange CA", "untrusted")
    if status.coverage.name != "ENTIRE_FILE":
        raise VerificationError("bytes were added to the PDF after it was signed", "appended")
    _check_contents_exact(data, signature)
    try:
        files = embedded_files(reader)
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise VerificationError(f"the PDF's attached files cannot be read: {exc}", "attachments-missing") from exc
    if ENTRY_NAME not in files or PROOF_NAME not in files:
        raise VerificationError(f"the PDF lacks the attached {ENTRY_NAME} and {PROOF_NAME}", "attachments-missing")
    entry_bytes = files[ENTRY_NAME]
    try:
        entry = decode(entry_bytes)
    except EntryError as exc:
        raise VerificationError(f"the attached entry is not a ledger entry: {exc}", "entry-invalid") from exc
    certificate = entry.get("data", {}).get("certificate") if isinstance(entry.get("data"), dict) else None
    if entry.get("kind") != "certificate" or not isinstance(certificate, dict) or not certificate.get("number"):
        raise VerificationError("the attached entry is not a certificate entry (kind \"certificate\" with a number)",
                                "entry-invalid")
    try:
        proof = TlogProof.parse(files[PROOF_NAME])
        verified = proof.verify(entry_bytes, policy)
    except TlogProofError as exc:
        code = "checkpoint-rejected" if isinstance(exc.__cause__, PolicyError) else "proof-invalid"
        raise VerificationError(str(exc), code) from exc
    signer = status.signing_cert.subject.human_friendly
    return Result(str(certificate["number"]), proof.index, verified.checkpoint.size, signer,
                  len(verified.witnesses), entry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("pdf", type=Path, help="the certificate PDF")
    parser.add_argument("--trust", type=Path, required=True, help="trust bundle directory (policy.json, ca-root.pem)")
    parser.add_argument("--json", action="store_true", help="print the verified entry as JSON too")
    args = parser.parse_args(argv)
    try:
        policy, root = load_trust(args.trust)
        try:
            data = args.pdf.read_bytes()
        except OSError as exc:
            raise VerificationError(f"cannot read {args.pdf}: {exc.strerror}", "unreadable") from exc
        result = verify_pdf(data, policy, root)
    except VerificationError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    if args.json:
        print(json.dumps(result.entry, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
