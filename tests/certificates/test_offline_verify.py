"""``python -m ledger.verify FILE.pdf --trust DIR``: accepts a genuine certificate and refuses, with exit status 1
and a reason, every way of passing off something else as one.

Most forgeries below are *signed by the exchange's own key*: the verifier must not stop at the signature, it has
to recompute the leaf, check the proof against the checkpoint and the checkpoint against the policy.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from exchange.ca import ensure_ca, signing_files
from exchange.certificates.models import CertificateKind
from exchange.certificates.operations import verify_url
from exchange.db import db
from exchange.ledger_app import service
from exchange.pdf import Attachment, SIGNATURE_FIELD, render_pdf, sign_pdf
from ledger import merkle
from ledger.blocking import call_blocking
from ledger.checkpoint import Checkpoint
from ledger.entry import decode
from ledger.note import ALG_COSIGNATURE_V1, Signer, sign
from ledger.tlogproof import TlogProof
from ledger.verify import ENTRY_NAME, PROOF_NAME, embedded_files, main


def attachments_of(path: Path) -> tuple[bytes, str]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    files = embedded_files(PdfFileReader(io.BytesIO(path.read_bytes())))
    return files[ENTRY_NAME], files[PROOF_NAME].decode()


def certificate_pdf(app, entry_bytes: bytes, proof_text: str, *, signer_dir: Path | None = None) -> bytes:
    """A certificate laid out exactly as the platform lays it out, carrying the given entry and proof, signed by
    the exchange (or, with ``signer_dir``, by the CA found there)."""
    entry = decode(entry_bytes)
    proof = TlogProof.parse(proof_text)
    info = entry["data"]["certificate"]
    with app.app_context():
        data = {"issuer": app.config["EXCHANGE_NAME"], "number": info["number"], "title_en": info["title_en"],
                "issued": entry["time"][:16], "rows": entry["data"]["facts"]["rows"], "as_of": "", "other_pledges": "",
                "origin": service.store().origin, "index": proof.index, "tree_size": 0,
                "leaf_hash": merkle.leaf_hash(entry_bytes).hex(), "entry_text": entry_bytes.decode(),
                "checkpoint_text": proof.checkpoint, "verify_url": verify_url(info["number"])}
        pdf = render_pdf(info["kind"], data, title=info["title"], issued_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                         attachments=[Attachment(ENTRY_NAME, entry_bytes, "entry", "application/json", "Source"),
                                      Attachment(PROOF_NAME, proof_text.encode(), "proof", "text/plain")])
        if signer_dir is None:
            return sign_pdf(pdf, reason=info["number"], location=app.config["EXCHANGE_PLACE"])
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key, certificate, root = signing_files(signer_dir)
    signer = signers.SimpleSigner.load(str(key), str(certificate), ca_chain_files=(str(root),))
    metadata = signers.PdfSignatureMetadata(field_name=SIGNATURE_FIELD, md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
    return call_blocking(signers.sign_pdf, IncrementalPdfFileWriter(io.BytesIO(pdf)), metadata,
                         signer=signer).getvalue()


def verify(path: Path, trust: Path, capsys) -> tuple[int, str]:
    """``ledger.verify``'s command line, in this process: (exit status, what it printed)."""
    status = main([str(path), "--trust", str(trust)])
    out = capsys.readouterr()
    return status, out.out + out.err


def write(tmp_path: Path, content: bytes, name: str = "forged.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def genuine(demo_pdfs) -> dict:
    entry_bytes, proof_text = attachments_of(demo_pdfs["transaction"])
    return {"path": demo_pdfs["transaction"], "entry": entry_bytes, "proof": proof_text,
            "tlog": TlogProof.parse(proof_text)}


def test_the_genuine_certificate_is_accepted(genuine, trust_dir, demo_numbers, capsys):
    status, output = verify(genuine["path"], trust_dir, capsys)
    assert status == 0, output
    assert output.startswith(f"valid: certificate {demo_numbers[CertificateKind.transaction]} — ledger entry "
                             f"{genuine['tlog'].index} in a tree of ")
    assert len(output.strip().splitlines()) == 1


def test_the_command_line_exits_non_zero_with_the_reason(genuine, trust_dir, tmp_path):
    data = bytearray(genuine["path"].read_bytes())
    data[len(data) // 3] ^= 0x01
    forged = write(tmp_path, bytes(data))
    done = subprocess.run([sys.executable, "-m", "ledger.verify", str(forged), "--trust", str(trust_dir)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "INVALID: the PDF was changed after it was signed (its digest does not match)"


def _byte_range(data: bytes) -> tuple[int, int, int, int]:
    return tuple(map(int, re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data).groups()))


POSITIONS = {
    "header": lambda data, br: 5,
    "page content": lambda data, br: br[1] // 3,
    "attached entry stream": lambda data, br: data.index(b"/EmbeddedFile") + 200,
    "end of the signed part": lambda data, br: br[1] - 3,
    "signature value": lambda data, br: br[1] + 200,
    "signature padding": lambda data, br: br[2] - 20,
    "signature dictionary after the value": lambda data, br: br[2] + 2,
    "last byte": lambda data, br: len(data) - 1,
}


@pytest.mark.parametrize("where", POSITIONS)
def test_one_changed_byte_anywhere_is_refused(genuine, trust_dir, tmp_path, capsys, where):
    data = genuine["path"].read_bytes()
    position = POSITIONS[where](data, _byte_range(data))
    changed = bytearray(data)
    # a hex digit stays a hex digit (else the PDF is merely unreadable); anything else flips one bit
    changed[position] = {ord("0"): ord("1")}.get(data[position], data[position] ^ 0x01) \
        if chr(data[position]) in "0123456789ABCDEF" else data[position] ^ 0x01
    assert bytes(changed) != data
    status, output = verify(write(tmp_path, bytes(changed)), trust_dir, capsys)
    assert status == 1 and output.startswith("INVALID: "), (where, output)


def test_a_changed_letter_case_in_the_signature_value_is_refused(genuine, trust_dir, tmp_path, capsys):
    """Hex digits A–F read the same in either case; the bytes are still not the ones that were signed."""
    data = genuine["path"].read_bytes()
    _, length1, _, _ = _byte_range(data)
    position = re.search(rb"[A-F]", data[length1:]).start() + length1
    changed = data[:position] + data[position:position + 1].lower() + data[position + 1:]
    status, output = verify(write(tmp_path, changed), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: the PDF's signature value was changed after signing (its hex "
                                           "string is not the one the signer wrote)")


def test_appended_bytes_and_truncation_are_refused(genuine, trust_dir, tmp_path, capsys):
    data = genuine["path"].read_bytes()
    status, output = verify(write(tmp_path, data + b"\n%% appended\n", "appended.pdf"), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: bytes were added to the PDF after it was signed")
    for cut in (len(data) // 2, len(data) - 40, 100):
        status, output = verify(write(tmp_path, data[:cut], "truncated.pdf"), trust_dir, capsys)
        assert status == 1 and output.startswith("INVALID: "), output


def test_a_foreign_signer_is_refused_even_with_the_same_names(app, genuine, trust_dir, tmp_path, capsys):
    """An impostor CA with the exchange's very names and a genuine entry and proof inside."""
    ensure_ca(tmp_path / "impostor")
    forged = certificate_pdf(app, genuine["entry"], genuine["proof"], signer_dir=tmp_path / "impostor")
    status, output = verify(write(tmp_path, forged), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: the PDF was not signed by the trusted exchange CA")


def test_the_same_content_signed_by_the_exchange_is_accepted(app, genuine, trust_dir, tmp_path, capsys):
    """The control for the forgeries below: re-laid-out and re-signed, a genuine entry and proof still verify,
    so each refusal below is due to the one thing that was changed."""
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], genuine["proof"])), trust_dir, capsys)
    assert status == 0, output


def test_a_proof_for_another_tree_size_is_refused(app, genuine, trust_dir, tmp_path, capsys):
    """The inclusion proof of the same entry in a smaller tree (the log as it was a few entries earlier),
    presented with the checkpoint of the larger tree."""
    tlog = genuine["tlog"]
    smaller = Checkpoint.from_note(tlog.checkpoint).size - 1
    assert smaller > tlog.index
    with app.app_context():
        _leaf, proof = service.store().inclusion_proof(db.session.connection(), tlog.index, smaller)
    assert proof != tlog.proof
    other = TlogProof(tlog.index, proof, tlog.checkpoint).encode()
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], other)), trust_dir, capsys)
    assert status == 1 and output.startswith(f"INVALID: the entry is not proved to be at index {tlog.index}"), output


def test_a_proof_and_checkpoint_of_another_log_are_refused(app, genuine, trust_dir, tmp_path, capsys):
    """A tree of its own containing the genuine entry, under the exchange's origin, signed by a key of that name
    and cosigned by witnesses of the platform's witnesses' names: internally consistent, but not our log."""
    origin = Checkpoint.from_note(genuine["tlog"].checkpoint).origin
    leaves = [merkle.leaf_hash(b"padding %d" % i) for i in range(4)] + [merkle.leaf_hash(genuine["entry"])]
    root, proof = _root_and_proof(leaves, 4)
    merkle.verify_inclusion(4, len(leaves), leaves[4], proof, root)  # the forged proof itself is sound
    body = Checkpoint(origin, len(leaves), root).body
    log = Signer.generate(origin)
    text = sign(body, [log])
    for witness in json.loads((trust_dir / "policy.json").read_text())["witnesses"]:
        text += Signer.generate(witness["vkey"].split("+")[0], ALG_COSIGNATURE_V1).signature_line(body)
    forged = TlogProof(4, proof, text).encode()
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], forged)), trust_dir, capsys)
    assert status == 1 and output.startswith("INVALID: checkpoint rejected: no signature by a known key"), output


def _root_and_proof(leaves: list[bytes], index: int) -> tuple[bytes, list[bytes]]:
    """RFC 6962 root and inclusion proof over leaf hashes, computed here from the definition."""
    def node(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return items[0]
        k = 1 << ((len(items) - 1).bit_length() - 1)
        return merkle.node_hash(node(items[:k]), node(items[k:]))

    def path(m: int, items: list[bytes]) -> list[bytes]:
        if len(items) == 1:
            return []
        k = 1 << ((len(items) - 1).bit_length() - 1)
        if m < k:
            return path(m, items[:k]) + [node(items[k:])]
        return path(m - k, items[k:]) + [node(items[:k])]

    return node(leaves), path(index, leaves)


def _strip_cosignatures(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("— witness."))


def test_a_checkpoint_without_the_witness_quorum_is_refused(app, genuine, trust_dir, tmp_path, capsys):
    tlog = genuine["tlog"]
    assert _strip_cosignatures(tlog.checkpoint) != tlog.checkpoint
    unwitnessed = TlogProof(tlog.index, tlog.proof, _strip_cosignatures(tlog.checkpoint)).encode()
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], unwitnessed)), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: checkpoint has 0 witness cosignature(s); the policy requires 1")


def test_a_checkpoint_cosigned_by_unknown_witnesses_is_refused(app, genuine, trust_dir, tmp_path, capsys):
    """Signed by the log's genuine key, but cosigned by keys that merely carry the witnesses' names."""
    tlog = genuine["tlog"]
    body = Checkpoint.from_note(tlog.checkpoint).body
    text = _strip_cosignatures(tlog.checkpoint)
    for witness in json.loads((trust_dir / "policy.json").read_text())["witnesses"]:
        text += Signer.generate(witness["vkey"].split("+")[0], ALG_COSIGNATURE_V1).signature_line(body)
    forged = TlogProof(tlog.index, tlog.proof, text).encode()
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], forged)), trust_dir, capsys)
    # signatures by unknown keys do not count (C2SP signed-note): as good as none
    assert (status, output.strip()) == (1, "INVALID: checkpoint has 0 witness cosignature(s); the policy requires 1")


def test_a_checkpoint_signed_by_an_unknown_log_key_is_refused(app, genuine, trust_dir, tmp_path, capsys):
    """The genuine tree head and proof, but the log signature made by another key of the log's name."""
    tlog = genuine["tlog"]
    checkpoint = Checkpoint.from_note(tlog.checkpoint)
    text = sign(checkpoint.body, [Signer.generate(checkpoint.origin)])
    forged = TlogProof(tlog.index, tlog.proof, text).encode()
    status, output = verify(write(tmp_path, certificate_pdf(app, genuine["entry"], forged)), trust_dir, capsys)
    assert status == 1 and output.startswith("INVALID: checkpoint rejected: no signature by a known key"), output


def test_a_swapped_entry_is_refused(app, genuine, demo_pdfs, trust_dir, tmp_path, capsys):
    """The mortgage certificate's entry (genuine, in the log) put in with the transaction certificate's proof."""
    other_entry, _ = attachments_of(demo_pdfs["mortgage"])
    assert other_entry != genuine["entry"]
    forged = certificate_pdf(app, other_entry, genuine["proof"])
    status, output = verify(write(tmp_path, forged), trust_dir, capsys)
    index = genuine["tlog"].index
    assert status == 1 and output.startswith(f"INVALID: the entry is not proved to be at index {index}"), output


def test_an_entry_that_is_not_a_certificate_is_refused_even_with_its_true_proof(app, genuine, trust_dir, tmp_path,
                                                                              capsys):
    """Entry 1 of the log (a registration) with its real inclusion proof and the genuine checkpoint: everything
    checks out cryptographically, but the exchange never certified it."""
    tlog = genuine["tlog"]
    size = Checkpoint.from_note(tlog.checkpoint).size
    with app.app_context():
        connection = db.session.connection()
        [(_, registration)] = service.store().entries(connection, 1, 2)
        _leaf, proof = service.store().inclusion_proof(connection, 1, size)
    assert decode(registration)["kind"] != "certificate"
    certificate = json.loads(genuine["entry"])
    forged_text = TlogProof(1, proof, tlog.checkpoint).encode()
    pdf = _with_attachments(app, certificate, registration, forged_text)
    status, output = verify(write(tmp_path, pdf), trust_dir, capsys)
    assert (status, output.strip()) == (1, 'INVALID: the attached entry is not a certificate entry (kind '
                                           '"certificate" with a number)')


def _with_attachments(app, certificate: dict, entry_bytes: bytes, proof_text: str) -> bytes:
    """The genuine certificate's page with other attachments, signed by the exchange."""
    info = certificate["data"]["certificate"]
    with app.app_context():
        data = {"issuer": app.config["EXCHANGE_NAME"], "number": info["number"], "title_en": info["title_en"],
                "issued": "", "rows": certificate["data"]["facts"]["rows"], "as_of": "", "other_pledges": "",
                "origin": "", "index": 1, "tree_size": 0, "leaf_hash": "", "entry_text": "",
                "checkpoint_text": "", "verify_url": verify_url(info["number"])}
        pdf = render_pdf(info["kind"], data, title=info["title"], issued_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                         attachments=[Attachment(ENTRY_NAME, entry_bytes, "entry", "application/json", "Source"),
                                      Attachment(PROOF_NAME, proof_text.encode(), "proof", "text/plain")])
        return sign_pdf(pdf, reason=info["number"], location=app.config["EXCHANGE_PLACE"])


def test_a_pdf_signed_by_the_exchange_without_the_attachments_is_refused(app, trust_dir, tmp_path, capsys):
    """Any other PDF the exchange signs (a contract, the sample) is not a certificate."""
    from tests.test_pdf import render_sample

    with app.app_context():
        pdf = sign_pdf(render_sample(), reason="样例", location="四川省开江县")
    status, output = verify(write(tmp_path, pdf), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: the PDF lacks the attached entry.json and proof.tlog-proof")


def test_an_unsigned_certificate_is_refused(app, genuine, trust_dir, tmp_path, capsys):
    data = genuine["path"].read_bytes()
    unsigned = data[:data.rindex(b"%%EOF", 0, _byte_range(data)[1]) + 6]  # the revision before the signature
    status, output = verify(write(tmp_path, unsigned), trust_dir, capsys)
    assert (status, output.strip()) == (1, "INVALID: the PDF carries no signature: it is not an exchange certificate")


def test_a_trust_bundle_of_another_exchange_is_refused(genuine, trust_dir, tmp_path, capsys):
    """The same PDF checked against a policy whose log key is someone else's."""
    other = tmp_path / "other-trust"
    shutil.copytree(trust_dir, other)
    policy = json.loads((other / "policy.json").read_text())
    origin = policy["origin"]
    policy["log_keys"] = [{"vkey": Signer.generate(origin).verifier.vkey, "not_before": "2020-01-01T00:00:00+00:00",
                           "not_after": None, "revoked": False}]
    (other / "policy.json").write_text(json.dumps(policy))
    status, output = verify(genuine["path"], other, capsys)
    assert (status, output.strip()) == (1, "INVALID: checkpoint carries no valid signature by a log key in the policy")


def test_an_incomplete_trust_bundle_or_a_missing_file_is_a_clear_refusal(genuine, trust_dir, tmp_path, capsys):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(trust_dir / "policy.json", partial)
    assert verify(genuine["path"], partial, capsys) == (1, f"INVALID: trust bundle {partial} has no ca-root.pem\n")
    missing = tmp_path / "missing.pdf"
    assert verify(missing, trust_dir, capsys) == (1, f"INVALID: cannot read {missing}: No such file or directory\n")
    garbage = write(tmp_path, base64.b64encode(b"not a pdf at all" * 10), "garbage.pdf")
    status, output = verify(garbage, trust_dir, capsys)
    assert status == 1 and output.startswith("INVALID: not a readable PDF"), output
