"""C2SP signed notes: formats, key ids, signatures and cosignatures, refusals, and agreement with Go's
golang.org/x/mod/sumdb/note in both directions."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger import note
from ledger.checkpoint import Checkpoint
from ledger.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteError, Signer, Verifier

BODY = "test.example/ledger\n42\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
B64 = r"[A-Za-z0-9+/]+={0,2}"


def _pub(signer: Signer) -> bytes:
    return signer.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _sig_blob(line: str) -> bytes:
    assert line.startswith("\u2014 ") and line.endswith("\n")
    return base64.b64decode(line[:-1].split(" ")[2], validate=True)


def _with_blob(line: str, blob: bytes) -> str:
    name = line[2:-1].split(" ")[0]
    return f"\u2014 {name} {base64.b64encode(blob).decode()}\n"


@pytest.fixture(scope="module")
def log_key():
    return Signer.generate("test.example/ledger")


# --- formats and key ids -------------------------------------------------------------------------------------


def test_vkey_and_key_id(log_key):
    vkey = log_key.verifier.vkey
    match = re.fullmatch(rf"test\.example/ledger\+([0-9a-f]{{8}})\+({B64})", vkey)
    assert match, vkey
    material = base64.b64decode(match.group(2))
    assert material == b"\x01" + _pub(log_key)
    expected_id = hashlib.sha256(b"test.example/ledger" + b"\n" + b"\x01" + _pub(log_key)).digest()[:4]
    assert match.group(1) == expected_id.hex()
    assert log_key.verifier.key_id == expected_id
    assert Verifier.from_vkey(vkey) == log_key.verifier


def test_skey_round_trip(log_key):
    skey = log_key.skey
    match = re.fullmatch(rf"PRIVATE\+KEY\+test\.example/ledger\+([0-9a-f]{{8}})\+({B64})", skey)
    assert match, "skey format"
    assert match.group(1) == log_key.verifier.key_id.hex()
    raw = base64.b64decode(match.group(2))
    assert len(raw) == 33 and raw[0] == ALG_ED25519
    again = Signer.from_skey(skey)
    assert again.verifier == log_key.verifier
    assert again.skey == skey
    # Ed25519 is deterministic: the restored key signs exactly as the original.
    assert note.sign(BODY, [again]) == note.sign(BODY, [log_key])


def test_cosignature_key_id_uses_algorithm_4():
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + _pub(witness)).digest()[:4]
    assert witness.verifier.key_id == expected
    assert witness.verifier.vkey.startswith(f"witness.example/w1+{expected.hex()}+")
    assert base64.b64decode(witness.verifier.vkey.split("+", 2)[2])[0] == 0x04
    assert Verifier.from_vkey(witness.verifier.vkey) == witness.verifier


@pytest.mark.parametrize("skey", [
    "PRIVATE+KEY+bad name+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
    "PRIVATE+KEY+test.example/ledger+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(),  # wrong id
    "PRIVATE+KEY+test.example/ledger+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode(),
    "PRIVATE+KEY+test.example/ledger+00000000+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
    "PRIVATE+KEY+test.example/ledger+00000000+not*base64",
    "PUBLIC+KEY+test.example/ledger+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
    "PRIVATE+KEY+test.example/ledger",
])
def test_bad_skeys_are_refused(skey):
    with pytest.raises(NoteError):
        Signer.from_skey(skey)


def test_a_valid_skey_with_a_bad_name_is_refused():
    """The id matches, but a name with a space would make signature lines no reader can parse."""
    seed = bytes(range(32))
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(b"bad name\n\x01" + pub).digest()[:4].hex()
    with pytest.raises(NoteError):
        Signer.from_skey(f"PRIVATE+KEY+bad name+{key_id}+" + base64.b64encode(b"\x01" + seed).decode())


def _bad_vkeys(signer: Signer) -> dict[str, str]:
    v = signer.verifier
    name, hex_id, material = v.vkey.split("+", 2)
    raw = base64.b64decode(material)
    other_id = bytes(b ^ 0xFF for b in v.key_id).hex()
    alg2 = note.key_id(v.name, 2, v.public_key).hex()  # an unknown algorithm, with the id computed for it
    return {
        "id does not match": f"{name}+{other_id}+{material}",
        "name does not match id": f"other.example/log+{hex_id}+{material}",
        "31-byte key": f"{name}+{hex_id}+{base64.b64encode(raw[:-1]).decode()}",
        "truncated base64": f"{name}+{hex_id}+{material[:-4]}",
        "not base64": f"{name}+{hex_id}+{material[:-1]}*",
        "algorithm 2": f"{name}+{alg2}+{base64.b64encode(bytes([2]) + raw[1:]).decode()}",
        "no key": f"{name}+{hex_id}",
        "7 hex digits": f"{name}+{hex_id[:7]}+{material}",
        "not hex": f"{name}+xyzxyzxy+{material}",
        "name with space": f"bad name+{hex_id}+{material}",
        "empty": "",
    }


BAD_VKEYS = _bad_vkeys(Signer.generate("test.example/ledger"))


@pytest.mark.parametrize("vkey", BAD_VKEYS.values(), ids=BAD_VKEYS.keys())
def test_bad_vkeys_are_refused(vkey):
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


# --- signing and verifying -----------------------------------------------------------------------------------


def test_signed_note_round_trip(log_key):
    text = note.sign(BODY, [log_key])
    assert text.startswith(BODY + "\n\u2014 test.example/ledger ")
    assert text.count("\n") == BODY.count("\n") + 2
    parsed, verified = note.verify(text, [log_key.verifier])
    assert parsed.body == BODY
    assert parsed.text == text
    assert [(v.verifier, v.timestamp) for v in verified] == [(log_key.verifier, None)]
    blob = _sig_blob(text[len(BODY) + 1:])
    assert blob[:4] == log_key.verifier.key_id and len(blob) == 68
    # The signature is plain Ed25519 over the body bytes.
    Ed25519PublicKey.from_public_bytes(_pub(log_key)).verify(blob[4:], BODY.encode())


def test_cosignature_v1_line(log_key):
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    line = witness.signature_line(BODY, 1_700_000_000)
    blob = _sig_blob(line)
    assert line.startswith("\u2014 witness.example/w1 ")
    assert len(blob) == 4 + 8 + 64
    assert blob[:4] == witness.verifier.key_id
    assert struct.unpack(">Q", blob[4:12]) == (1_700_000_000,)
    signed = b"cosignature/v1\ntime 1700000000\n" + BODY.encode()
    Ed25519PublicKey.from_public_bytes(_pub(witness)).verify(blob[12:], signed)
    with pytest.raises(InvalidSignature):  # it is not a plain signature of the body
        Ed25519PublicKey.from_public_bytes(_pub(witness)).verify(blob[12:], BODY.encode())
    text = note.add_signatures(note.sign(BODY, [log_key]), [line])
    _, verified = note.verify(text, [log_key.verifier, witness.verifier])
    assert {(v.verifier.name, v.timestamp) for v in verified} == {
        ("test.example/ledger", None), ("witness.example/w1", 1_700_000_000)}
    # A cosignature whose timestamp was changed does not verify.
    moved = _with_blob(line, blob[:4] + struct.pack(">Q", 1_700_000_001) + blob[12:])
    with pytest.raises(NoteError):
        note.verify(note.add_signatures(note.sign(BODY, [log_key]), [moved]), [witness.verifier])


def test_unknown_signers_are_ignored_when_a_known_one_signed(log_key):
    stranger = Signer.generate("stranger.example/log")
    text = note.sign(BODY, [stranger, log_key])
    _, verified = note.verify(text, [log_key.verifier])
    assert [v.verifier for v in verified] == [log_key.verifier]


def test_a_note_signed_only_by_unknown_keys_is_refused(log_key):
    other_key_same_name = Signer.generate("test.example/ledger")
    with pytest.raises(NoteError, match="no signature by a known key"):
        note.verify(note.sign(BODY, [other_key_same_name]), [log_key.verifier])


@pytest.mark.parametrize("position", [0, 5, 20, len(BODY) - 2])
def test_a_tampered_body_is_refused(log_key, position):
    text = note.sign(BODY, [log_key])
    changed = text[:position] + ("x" if text[position] != "x" else "y") + text[position + 1:]
    with pytest.raises(NoteError):
        note.verify(changed, [log_key.verifier])


@pytest.mark.parametrize("byte", [4, 20, 67])
def test_a_tampered_signature_is_refused(log_key, byte):
    text = note.sign(BODY, [log_key])
    line = text[len(BODY) + 1:]
    blob = bytearray(_sig_blob(line))
    blob[byte] ^= 0x01
    with pytest.raises(NoteError):
        note.verify(BODY + "\n" + _with_blob(line, bytes(blob)), [log_key.verifier])


def test_a_bad_signature_by_a_known_key_is_refused_even_next_to_a_good_one(log_key):
    second = Signer.generate("second.example/log")
    text = note.sign(BODY, [log_key, second])
    lines = text[len(BODY) + 1:].splitlines(keepends=True)
    blob = bytearray(_sig_blob(lines[1]))
    blob[-1] ^= 0x80
    with pytest.raises(NoteError):
        note.verify(BODY + "\n" + lines[0] + _with_blob(lines[1], bytes(blob)), [log_key.verifier, second.verifier])


def _malformed(log_key: Signer) -> dict[str, str]:
    text = note.sign(BODY, [log_key])
    line = text[len(BODY) + 1:]
    name, blob = line[2:-1].split(" ")
    return {
        "no signature": BODY + "\n",
        "no blank line": BODY + line,
        "no final newline": text[:-1],
        "hyphen not em dash": BODY + "\n- " + line[2:],
        "no space after dash": BODY + "\n\u2014" + line[2:],
        "three fields": BODY + "\n" + line[:-1] + " extra\n",
        "bad base64": BODY + "\n" + f"\u2014 {name} {blob[:-2]}*=\n",
        "empty signature": BODY + "\n" + f"\u2014 {name} \n",
        "short signature": BODY + "\n" + f"\u2014 {name} {base64.b64encode(b'1234').decode()}\n",
        "name with plus": BODY + "\n" + f"\u2014 {name}+x {blob}\n",
        "text after signatures": text + "trailing\n",
        "control character in body": BODY.replace("42", "4\x072") + "\n" + line,
        "body without newline": BODY[:-1] + "\n" + line,  # the blank line is then the body's end
    }


MALFORMED_KEY = Signer.generate("test.example/ledger")
MALFORMED = _malformed(MALFORMED_KEY)


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_notes_are_refused(text):
    with pytest.raises(NoteError):
        note.verify(text, [MALFORMED_KEY.verifier])


def test_signing_refuses_bad_bodies(log_key):
    for body in ["no newline", "bell\x07\n"]:
        with pytest.raises(NoteError):
            note.sign(body, [log_key])
    with pytest.raises(NoteError):
        note.sign(BODY, [])
    with pytest.raises(NoteError):
        Signer.generate("name with space")


# --- Go's golang.org/x/mod/sumdb/note ------------------------------------------------------------------------

GOPATH = Path("/usr/share/gocode")
GO_NOTE = GOPATH / "src/golang.org/x/mod/sumdb/note"
GO_MISSING = ("Go and golang.org/x/mod/sumdb/note are needed for the Go cross-check: run `make test`, which "
              "installs golang-go and golang-golang-x-mod-dev")

GO_SOURCE = r'''
// gonote verify VKEY < note: note.Open with that one key; prints "OK <n sigs>" and the text.
// gonote sign NAME < text: note.GenerateKey + note.NewSigner + note.Sign; prints {"skey","vkey","note"}.
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	switch os.Args[1] {
	case "verify":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fmt.Println("bad vkey:", err)
			os.Exit(2)
		}
		n, err := note.Open(input, note.VerifierList(v))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("OK %d\n%s", len(n.Sigs), n.Text)
	case "sign":
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			panic(err)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			panic(err)
		}
		msg, err := note.Sign(&note.Note{Text: string(input)}, signer)
		if err != nil {
			panic(err)
		}
		out, _ := json.Marshal(map[string]string{"skey": skey, "vkey": vkey, "note": string(msg)})
		fmt.Println(string(out))
	}
}
'''


@pytest.fixture(scope="module")
def gonote(tmp_path_factory):
    """A function running the Go helper, built on first use; it fails the test (never skips) without Go."""
    built: list[str] = []

    def run(*args: str, stdin: str) -> subprocess.CompletedProcess:
        if not built:
            go = shutil.which("go")
            if go is None or not GO_NOTE.is_dir():
                pytest.fail(GO_MISSING)
            workdir = tmp_path_factory.mktemp("gonote")
            (workdir / "main.go").write_text(GO_SOURCE)
            env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(workdir / "cache"),
                   "GOFLAGS": "", "CGO_ENABLED": "0"}
            result = subprocess.run([go, "build", "-o", str(workdir / "gonote"), "main.go"], cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, f"go build failed:\n{result.stderr}"
            built.append(str(workdir / "gonote"))
        return subprocess.run([built[0], *args], input=stdin.encode(), capture_output=True, timeout=60)

    return run


def _rotation_checkpoint():
    old = Signer.generate("test.example/ledger")
    new = Signer.generate("test.example/ledger")
    witness = Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    body = Checkpoint("test.example/ledger", 1234, hashlib.sha256(b"root").digest()).body
    text = note.add_signatures(note.sign(body, [old, new]), [witness.signature_line(body, 1_700_000_000)])
    return body, text, old, new, witness


@pytest.mark.parametrize("which", ["old", "new"])
def test_go_opens_our_checkpoint_with_one_of_our_keys(gonote, which):
    body, text, old, new, witness = _rotation_checkpoint()
    assert text.count("\u2014 ") == 3
    key = {"old": old, "new": new}[which]
    result = gonote("verify", key.verifier.vkey, stdin=text)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode() == f"OK 1\n{body}"
    # and so do we, with all three keys
    _, verified = note.verify(text, [old.verifier, new.verifier, witness.verifier])
    assert len(verified) == 3


def test_go_refuses_our_checkpoint_with_a_changed_byte(gonote):
    body, text, old, _, _ = _rotation_checkpoint()
    changed = text.replace("\n1234\n", "\n1235\n", 1)
    assert changed != text and len(changed) == len(text)
    result = gonote("verify", old.verifier.vkey, stdin=changed)
    assert result.returncode == 1, result.stdout.decode()
    assert b"invalid signature" in result.stdout
    with pytest.raises(NoteError):
        note.verify(changed, [old.verifier])
    # the unchanged note passes the same program, so the refusal is about the byte
    assert gonote("verify", old.verifier.vkey, stdin=text).returncode == 0


def test_go_refuses_our_note_for_a_key_that_did_not_sign(gonote):
    _, text, _, _, _ = _rotation_checkpoint()
    stranger = Signer.generate("test.example/ledger")
    result = gonote("verify", stranger.verifier.vkey, stdin=text)
    assert result.returncode == 1, result.stdout.decode()


def test_we_open_a_note_signed_by_go(gonote):
    body = Checkpoint("go.example/log", 7, hashlib.sha256(b"go").digest()).body + "extension line\n"
    result = gonote("sign", "go.example/log", stdin=body)
    assert result.returncode == 0, result.stderr.decode()
    out = json.loads(result.stdout)
    verifier = Verifier.from_vkey(out["vkey"])
    assert verifier.name == "go.example/log" and verifier.algorithm == ALG_ED25519
    parsed, verified = note.verify(out["note"], [verifier])
    assert parsed.body == body
    assert [v.verifier for v in verified] == [verifier]
    assert Checkpoint.from_note(out["note"]) == Checkpoint("go.example/log", 7, hashlib.sha256(b"go").digest(),
                                                           ("extension line",))
    signer = Signer.from_skey(out["skey"])
    assert signer.verifier.vkey == out["vkey"]
    assert signer.skey == out["skey"]
    # Ed25519 is deterministic, so our signature with Go's key is byte for byte Go's note.
    assert note.sign(body, [signer]) == out["note"]
    # and a byte changed in Go's note is refused by us
    with pytest.raises(NoteError):
        note.verify(out["note"].replace("\n7\n", "\n8\n", 1), [verifier])
