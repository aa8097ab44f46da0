"""Checkpoint bodies, the verifier policy (key rotation, revocation, witness quorum) and the witness."""
from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from ledger import merkle, note
from ledger.checkpoint import Checkpoint, CheckpointError
from ledger.note import ALG_COSIGNATURE_V1, Signer
from ledger.policy import LogKey, Policy, PolicyError, WitnessKey
from ledger.witness import FileWitnessState, TreeHead, Witness, WitnessError

ORIGIN = "test.example/ledger"
ROOT = hashlib.sha256(b"a root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


# --- checkpoint bodies ---------------------------------------------------------------------------------------


def test_checkpoint_body_format_and_parse():
    cp = Checkpoint(ORIGIN, 1234, ROOT)
    assert cp.body == f"{ORIGIN}\n1234\n{ROOT_B64}\n"
    assert Checkpoint.from_body(cp.body) == cp
    with_ext = Checkpoint(ORIGIN, 0, ROOT, ("ext one", "ext two"))
    assert with_ext.body == f"{ORIGIN}\n0\n{ROOT_B64}\next one\next two\n"
    assert Checkpoint.from_body(with_ext.body) == with_ext
    signer = Signer.generate(ORIGIN)
    assert Checkpoint.from_note(note.sign(cp.body, [signer])) == cp


@pytest.mark.parametrize("body", [
    pytest.param(f"{ORIGIN}\n5\n", id="no root line"),
    pytest.param(f"{ORIGIN}\n", id="origin only"),
    pytest.param("", id="empty"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}", id="no final newline"),
    pytest.param(f"\n5\n{ROOT_B64}\n", id="empty origin"),
    pytest.param(f"{ORIGIN}\nfive\n{ROOT_B64}\n", id="size in words"),
    pytest.param(f"{ORIGIN}\n-5\n{ROOT_B64}\n", id="negative size"),
    pytest.param(f"{ORIGIN}\n+5\n{ROOT_B64}\n", id="plus sign"),
    pytest.param(f"{ORIGIN}\n5.0\n{ROOT_B64}\n", id="decimal point"),
    pytest.param(f"{ORIGIN}\n 5\n{ROOT_B64}\n", id="space"),
    pytest.param(f"{ORIGIN}\n0x5\n{ROOT_B64}\n", id="hex size"),
    pytest.param(f"{ORIGIN}\n\u0665\n{ROOT_B64}\n", id="arabic-indic digit"),
    pytest.param(f"{ORIGIN}\n\n{ROOT_B64}\n", id="empty size"),
    pytest.param(f"{ORIGIN}\n05\n{ROOT_B64}\n", id="leading zero"),
    pytest.param(f"{ORIGIN}\n00\n{ROOT_B64}\n", id="double zero"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64[:-1]}*\n", id="bad base64 character"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n", id="unpadded base64"),
    pytest.param(f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", id="31-byte root"),
    pytest.param(f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", id="33-byte root"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT.hex()}\n", id="hex root"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n", id="empty extension line"),
])
def test_malformed_checkpoint_bodies_are_refused(body):
    with pytest.raises(CheckpointError):
        Checkpoint.from_body(body)


# --- policy --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return {
        "old": Signer.generate(ORIGIN),
        "new": Signer.generate(ORIGIN),
        "w1": Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1),
        "w2": Signer.generate("witness.example/w2", ALG_COSIGNATURE_V1),
        "w3": Signer.generate("witness.example/w3", ALG_COSIGNATURE_V1),
    }


def _policy(keys, log=("old", "new"), revoked=(), witnesses=("w1", "w2"), quorum=0, origin=ORIGIN) -> Policy:
    return Policy(
        origin,
        [LogKey(keys[k].verifier, T0, T0 + timedelta(days=30) if k == "old" else None, k in revoked) for k in log],
        [WitnessKey(keys[w].verifier, f"witness {w}") for w in witnesses],
        quorum,
    )


def _checkpoint(keys, signers=("old", "new"), cosigners=(), body=None) -> str:
    body = body or Checkpoint(ORIGIN, 10, ROOT).body
    text = note.sign(body, [keys[s] for s in signers])
    return note.add_signatures(text, [keys[w].signature_line(body, 1_700_000_000) for w in cosigners])


def test_policy_json_round_trip(keys):
    policy = _policy(keys, revoked=("old",), quorum=2)
    text = policy.to_json()
    again = Policy.from_json(text)
    assert again == policy
    assert again.to_json() == text
    assert again.log_keys[0].revoked and again.log_keys[0].not_after == T0 + timedelta(days=30)
    assert again.log_keys[1].not_after is None
    assert [w.description for w in again.witnesses] == ["witness w1", "witness w2"]


@pytest.mark.parametrize("change", ["witness is a log key", "log key is a witness key", "quorum too high",
                                    "negative quorum", "no origin", "not json", "bad vkey"])
def test_malformed_policies_are_refused(keys, change):
    import json

    raw = json.loads(_policy(keys, quorum=1).to_json())
    if change == "witness is a log key":
        raw["witnesses"][0]["vkey"] = keys["new"].verifier.vkey
    elif change == "log key is a witness key":
        raw["log_keys"][0]["vkey"] = keys["w3"].verifier.vkey
    elif change == "quorum too high":
        raw["witness_quorum"] = 3
    elif change == "negative quorum":
        raw["witness_quorum"] = -1
    elif change == "no origin":
        del raw["origin"]
    elif change == "bad vkey":
        raw["log_keys"][1]["vkey"] = raw["log_keys"][1]["vkey"][:-2]
    text = "{not json" if change == "not json" else json.dumps(raw)
    with pytest.raises(PolicyError):
        Policy.from_json(text)


@pytest.mark.parametrize("listed", [("old",), ("new",), ("old", "new")])
def test_rotation_overlap_checkpoint_is_accepted_by_either_key(keys, listed):
    verified = _policy(keys, log=listed).verify_checkpoint(_checkpoint(keys, signers=("old", "new")))
    assert verified.checkpoint == Checkpoint(ORIGIN, 10, ROOT)
    assert {v.vkey for v in verified.log_keys} == {keys[k].verifier.vkey for k in listed}


def test_a_checkpoint_by_a_key_the_policy_does_not_list_is_refused(keys):
    with pytest.raises(PolicyError):
        _policy(keys, log=("old",)).verify_checkpoint(_checkpoint(keys, signers=("new",)))


def test_a_revoked_keys_signature_does_not_count(keys):
    policy = _policy(keys, log=("old", "new"), revoked=("old",))
    with pytest.raises(PolicyError):
        policy.verify_checkpoint(_checkpoint(keys, signers=("old",)))
    verified = policy.verify_checkpoint(_checkpoint(keys, signers=("old", "new")))
    assert verified.log_keys == [keys["new"].verifier]


def test_a_witness_signature_alone_is_not_a_log_signature(keys):
    body = Checkpoint(ORIGIN, 10, ROOT).body
    text = body + "\n" + keys["w1"].signature_line(body, 1_700_000_000)
    with pytest.raises(PolicyError):
        _policy(keys).verify_checkpoint(text)


def test_wrong_origin_is_refused(keys):
    other = Checkpoint("other.example/ledger", 10, ROOT).body
    with pytest.raises(PolicyError, match="other.example/ledger"):
        _policy(keys).verify_checkpoint(_checkpoint(keys, body=other))
    with pytest.raises(PolicyError):
        _policy(keys, origin="other.example/ledger").verify_checkpoint(_checkpoint(keys))


def test_a_tampered_checkpoint_is_refused(keys):
    text = _checkpoint(keys, cosigners=("w1",))
    with pytest.raises(PolicyError):
        _policy(keys).verify_checkpoint(text.replace("\n10\n", "\n11\n", 1))


@pytest.mark.parametrize("quorum", [0, 1, 2])
@pytest.mark.parametrize("cosigners", [(), ("w1",), ("w2",), ("w1", "w2"), ("w3",), ("w1", "w3")])
def test_witness_quorum(keys, quorum, cosigners):
    policy = _policy(keys, witnesses=("w1", "w2"), quorum=quorum)
    text = _checkpoint(keys, cosigners=cosigners)
    counted = {c for c in cosigners if c in ("w1", "w2")}  # w3 is not in the policy
    if len(counted) >= quorum:
        verified = policy.verify_checkpoint(text)
        assert set(verified.witnesses) == {keys[c].name for c in counted}
        assert all(t == 1_700_000_000 for t in verified.witnesses.values())
    else:
        with pytest.raises(PolicyError, match="witness"):
            policy.verify_checkpoint(text)


def test_a_bad_cosignature_by_a_policy_witness_is_refused(keys):
    body = Checkpoint(ORIGIN, 10, ROOT).body
    forged = keys["w1"].signature_line(Checkpoint(ORIGIN, 11, ROOT).body, 1_700_000_000)  # for another body
    text = note.add_signatures(note.sign(body, [keys["old"]]), [forged, keys["w2"].signature_line(body, 1)])
    with pytest.raises(PolicyError):
        _policy(keys, quorum=1).verify_checkpoint(text)


# --- witness -------------------------------------------------------------------------------------------------


class Log:
    """An in-memory log that signs checkpoints."""

    def __init__(self, signer: Signer, tag: bytes = b"") -> None:
        self.signer = signer
        self.tree = merkle.MemoryTree()
        self.tag = tag

    def grow(self, size: int) -> Log:
        while self.tree.size < size:
            self.tree.append(self.tag + b"entry %d" % self.tree.size)
        return self

    def checkpoint(self, size: int, signer: Signer | None = None) -> str:
        return note.sign(Checkpoint(ORIGIN, size, self.tree.root(size)).body, [signer or self.signer])


@pytest.fixture
def witness_setup(tmp_path, keys):
    log = Log(keys["old"]).grow(40)
    state = FileWitnessState(tmp_path / "state" / "witness.json")
    witness = Witness(keys["w1"], [keys["old"].verifier], state)
    return log, state, witness


def test_witness_cosigns_first_and_advances(witness_setup, keys):
    log, state, witness = witness_setup
    assert state.latest(ORIGIN) is None
    text = log.checkpoint(10)
    line = witness.cosign(text, [], now=1_700_000_000)
    assert state.latest(ORIGIN) == TreeHead(10, log.tree.root(10))
    policy = _policy(keys, witnesses=("w1",), quorum=1)
    verified = policy.verify_checkpoint(note.add_signatures(text, [line]))
    assert verified.witnesses == {"witness.example/w1": 1_700_000_000}

    line = witness.cosign(log.checkpoint(25), log.tree.consistency_proof(10, 25), now=1_700_000_100)
    assert state.latest(ORIGIN) == TreeHead(25, log.tree.root(25))
    assert policy.verify_checkpoint(note.add_signatures(log.checkpoint(25), [line])).witnesses
    # the same checkpoint again is fine, and so is a checkpoint with other cosignatures on it
    other_cosignature = keys["w2"].signature_line(Checkpoint(ORIGIN, 25, log.tree.root(25)).body)
    again = note.add_signatures(log.checkpoint(25), [other_cosignature])
    witness.cosign(again, [])
    assert state.latest(ORIGIN) == TreeHead(25, log.tree.root(25))


def _refusals(log: Log, keys) -> dict:
    fork = Log(keys["old"], tag=b"fork ").grow(40)
    good_proof = log.tree.consistency_proof(20, 30)
    flipped = [bytes([good_proof[0][0] ^ 1]) + good_proof[0][1:], *good_proof[1:]]
    return {
        "rollback": (log.checkpoint(15), log.tree.consistency_proof(15, 20), "rollback"),
        "fork at the same size": (fork.checkpoint(20), [], "fork"),
        "fork at a larger size": (fork.checkpoint(30), fork.tree.consistency_proof(20, 30), "fork"),
        "flipped proof bit": (log.checkpoint(30), flipped, "fork"),
        "proof for other sizes": (log.checkpoint(30), log.tree.consistency_proof(21, 30), "fork"),
        "no proof": (log.checkpoint(30), [], "fork"),
        "signed by another key": (log.checkpoint(30, keys["new"]), good_proof, "not signed"),
        "tampered checkpoint": (log.checkpoint(30).replace("\n30\n", "\n31\n"), good_proof, "not signed"),
        "not a note": (Checkpoint(ORIGIN, 30, log.tree.root(30)).body, good_proof, "not signed"),
    }


REFUSALS = ["rollback", "fork at the same size", "fork at a larger size", "flipped proof bit", "proof for other sizes",
            "no proof", "signed by another key", "tampered checkpoint", "not a note"]


@pytest.mark.parametrize("case", REFUSALS)
def test_witness_refuses_and_keeps_its_state(witness_setup, keys, case):
    log, state, witness = witness_setup
    witness.cosign(log.checkpoint(20), [])
    before = state.path.read_bytes()
    text, proof, reason = _refusals(log, keys)[case]
    with pytest.raises(WitnessError, match=reason):
        witness.cosign(text, proof)
    assert state.path.read_bytes() == before
    assert state.latest(ORIGIN) == TreeHead(20, log.tree.root(20))
    # and it still advances along the real log
    witness.cosign(log.checkpoint(30), log.tree.consistency_proof(20, 30))
    assert state.latest(ORIGIN) == TreeHead(30, log.tree.root(30))


def test_witness_needs_a_cosignature_key(keys, tmp_path):
    with pytest.raises(WitnessError):
        Witness(keys["old"], [keys["old"].verifier], FileWitnessState(tmp_path / "w.json"))


def test_witness_state_is_compare_and_swap(tmp_path):
    state = FileWitnessState(tmp_path / "w.json")
    a, b = TreeHead(5, b"a" * 32), TreeHead(5, b"b" * 32)
    state.advance(ORIGIN, None, a)
    before = state.path.read_bytes()
    with pytest.raises(WitnessError):
        state.advance(ORIGIN, None, b)
    assert state.path.read_bytes() == before
    state.advance("other.example/log", None, b)  # one entry per log
    assert state.latest(ORIGIN) == a and state.latest("other.example/log") == b


def test_two_concurrent_cosigns_cannot_both_advance(witness_setup, keys, monkeypatch):
    """Two witness processes share one state file; a slow disk must not let both cosign different roots."""
    log, state, _ = witness_setup
    fork = Log(keys["old"], tag=b"fork ").grow(40)
    load = FileWitnessState._load

    def slow_load(self):
        value = load(self)
        time.sleep(0.2)
        return value

    monkeypatch.setattr(FileWitnessState, "_load", slow_load)
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def cosign(name: str, text: str) -> None:
        witness = Witness(keys["w1"], [keys["old"].verifier], FileWitnessState(state.path))
        start.wait()
        try:
            results[name] = witness.cosign(text, [])
        except WitnessError as exc:
            results[name] = exc

    threads = [threading.Thread(target=cosign, args=(name, lg.checkpoint(20))) for name, lg in
               (("real", log), ("fork", fork))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    cosigned = [name for name, r in results.items() if isinstance(r, str)]
    assert len(results) == 2
    assert len(cosigned) == 1, f"both cosigned size 20 with different roots: {results}"
    winner = {"real": log, "fork": fork}[cosigned[0]]
    monkeypatch.undo()
    assert state.latest(ORIGIN) == TreeHead(20, winner.tree.root(20))
