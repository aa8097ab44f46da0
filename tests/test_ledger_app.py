"""The platform's ledger as an auditor, a bank or a visitor checks it: the command line, the C2SP tlog-tiles
read API, the JSON API and the public 账本公示 page, on the demo dataset.

Every check recomputes what it can on its own (leaf hashes, roots, proofs, signatures) instead of trusting the
value the platform reports next to it.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import struct
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exchange import create_app
from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.ledger_app import service
from exchange.registry.models import Collective, CollectiveAsset, Homestead, Household, Parcel, Person
from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.entry import EntryError
from ledger.note import NoteError, Signer, Verifier, parse, sign, verify
from ledger.policy import Policy, PolicyError
from ledger.storage import checkpoints as checkpoint_rows
from ledger.storage import cosignatures as cosignature_rows
from ledger.witness import Witness, WitnessError

VKEY_RE = re.compile(r"^(?P<name>[^+\s]+)\+(?P<id>[0-9a-f]{8})\+(?P<key>[A-Za-z0-9+/]+={0,2})$")
OBJECT_TYPES = ("collective", "household", "parcel", "homestead", "collective_asset")


# --- helpers ---------------------------------------------------------------------------------------------


def cli(runner, *args: str) -> str:
    result = runner.invoke(args=["ledger", *args])
    assert result.exit_code == 0, f"ledger {' '.join(args)}: {result.output}{result.exception!r}"
    return result.stdout


def ledger_size() -> int:
    return service.store().size(db.session.connection())


def checkpoint_count() -> int:
    return db.session.scalar(select(func.count()).select_from(checkpoint_rows))


def cosignature_count() -> int:
    return db.session.scalar(select(func.count()).select_from(cosignature_rows))


def cli_entries(runner, start: int, end: int) -> list[dict]:
    lines = cli(runner, "entries", str(start), str(end)).splitlines()
    return [json.loads(line) for line in lines]


def raw_leaves(rows: list[dict]) -> list[bytes]:
    return [base64.b64decode(row["leaf"]) for row in rows]


def leaf_hash(raw: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + raw).digest()


def b64d(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def tile_index(n: int) -> str:
    """A tile index as C2SP tlog-tiles spells it: 1234067 → x001/x234/067."""
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def registered_object(entry: dict) -> tuple[str, str] | None:
    """The (type, id) of the collective, household or asset whose first recording (确权登记) this entry is."""
    if entry["kind"] != "registration":
        return None
    data = entry["data"]
    if data.get("object") in ("collective", "household") or data.get("action") == "register_asset":
        subject = entry["subjects"][0]
        return subject["type"], subject["id"]
    return None


def db_objects() -> dict[str, list[str]]:
    return {
        "collective": list(db.session.scalars(select(Collective.credit_code))),
        "household": list(db.session.scalars(select(Household.code))),
        "parcel": list(db.session.scalars(select(Parcel.code))),
        "homestead": list(db.session.scalars(select(Homestead.code))),
        "collective_asset": list(db.session.scalars(select(CollectiveAsset.code))),
    }


def log_skey_signer(app) -> Signer:
    files = sorted((Path(app.config["KEY_DIR"]) / "ledger").glob("log-*.skey"))
    assert files, "the instance has no log key"
    return Signer.from_skey(files[-1].read_text())


def append_test_entries(count: int = 1) -> list[int]:
    """Entries a test adds itself (rolled back with the test's transaction)."""
    items = [("registration", [{"type": "organisation", "id": f"TEST-{i}"}], {"object": "test", "n": i})
             for i in range(count)]
    return service.record_many(items)


# --- the command line on the demo dataset ------------------------------------------------------------------


def test_demo_records_one_registration_per_collective_household_parcel_homestead_and_asset(runner, app_ctx):
    size = ledger_size()
    rows = cli_entries(runner, 0, size)
    assert [row["index"] for row in rows] == list(range(size))
    entries = [row["entry"] for row in rows]
    assert all(json.loads(raw) == entry for raw, entry in zip(raw_leaves(rows), entries, strict=True))

    objects = db_objects()
    registrations = Counter(filter(None, map(registered_object, entries)))
    assert set(registrations.values()) == {1}, [k for k, v in registrations.items() if v > 1][:5]
    for kind in OBJECT_TYPES:
        recorded = sorted(obj_id for obj_type, obj_id in registrations if obj_type == kind)
        assert objects[kind], f"the demo has no {kind}"
        assert recorded == sorted(objects[kind]), f"{kind}: {len(recorded)} registrations, {len(objects[kind])} rows"
    # The other entries are later changes (rights granted, transfers, pledges …), never a second registration.
    assert sum(registrations.values()) == sum(len(codes) for codes in objects.values()) <= size


def test_verify_reports_an_intact_ledger_and_its_size(runner, app_ctx):
    size = ledger_size()
    assert size > 0
    output = cli(runner, "verify")
    assert "intact" in output
    assert f"{size} entries" in output


def test_vkey_names_the_configured_origin(app, runner, app_ctx):
    lines = cli(runner, "vkey").splitlines()
    assert len(lines) == 1
    match = VKEY_RE.match(lines[0])
    assert match, lines[0]
    assert match["name"] == app.config["LEDGER_ORIGIN"]
    material = base64.b64decode(match["key"], validate=True)
    assert len(material) == 33 and material[0] == 0x01  # Ed25519 note key
    assert Verifier.from_vkey(lines[0]).key_id.hex() == match["id"]  # the id is the one its name and key give


def test_checkpoint_is_signed_by_the_log_and_cosigned_by_both_witnesses(app, runner, app_ctx):
    size = ledger_size()
    vkey = cli(runner, "vkey").strip()
    text = cli(runner, "checkpoint")
    checkpoint = Checkpoint.from_note(text)
    assert checkpoint.origin == app.config["LEDGER_ORIGIN"]
    assert checkpoint.size == size
    # The root is the RFC 6962 root of the entries as `ledger entries` prints them, recomputed here.
    leaves = raw_leaves(cli_entries(runner, 0, size))
    assert checkpoint.root == merkle.root_from_leaf_hashes([leaf_hash(raw) for raw in leaves])

    verify(text, [Verifier.from_vkey(vkey)])
    policy = Policy.from_json(cli(runner, "policy"))
    assert vkey in [k.verifier.vkey for k in policy.log_keys]
    accepted = policy.verify_checkpoint(text)
    assert set(accepted.witnesses) == set(app.config["LEDGER_WITNESSES"])
    assert len(app.config["LEDGER_WITNESSES"]) == 2

    # The same checks refuse a checkpoint whose root was changed after signing.
    lines = text.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    forged = "\n".join(lines)
    with pytest.raises(NoteError):
        verify(forged, [Verifier.from_vkey(vkey)])
    with pytest.raises(PolicyError):
        policy.verify_checkpoint(forged)


def test_entries_and_inclusion_proofs_verify_against_the_checkpoint(runner, app_ctx):
    checkpoint = Checkpoint.from_note(cli(runner, "checkpoint"))
    size = checkpoint.size
    rows = cli_entries(runner, 0, 3)
    assert [row["index"] for row in rows] == [0, 1, 2]
    for row in rows:
        raw = base64.b64decode(row["leaf"], validate=True)
        assert json.loads(raw) == row["entry"]
        proof = json.loads(cli(runner, "inclusion", str(row["index"]), str(size)))
        assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(raw)
        merkle.verify_inclusion(row["index"], size, leaf_hash(raw), b64d(proof["proof"]), checkpoint.root)
        with pytest.raises(merkle.ProofError):  # the proof is for this entry and no other
            merkle.verify_inclusion(row["index"], size, leaf_hash(raw + b" "), b64d(proof["proof"]), checkpoint.root)


def test_consistency_proof_from_ten_entries_verifies(runner, app_ctx):
    checkpoint = Checkpoint.from_note(cli(runner, "checkpoint"))
    old_root = merkle.root_from_leaf_hashes([leaf_hash(raw) for raw in raw_leaves(cli_entries(runner, 0, 10))])
    proof = json.loads(cli(runner, "consistency", "10", str(checkpoint.size)))
    assert (proof["old_size"], proof["new_size"]) == (10, checkpoint.size)
    merkle.verify_consistency(10, checkpoint.size, old_root, checkpoint.root, b64d(proof["proof"]))
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(10, checkpoint.size, bytes(32), checkpoint.root, b64d(proof["proof"]))


@pytest.mark.parametrize("args, mentions", [
    (["inclusion", "5", "999999"], "999999"),
    (["consistency", "0", "5"], "OLD"),
    (["entries", "5", "2"], "[5, 2)"),
    (["inclusion", "abc", "3"], "abc"),
    (["consistency", "5", "999999"], "999999"),
    (["inclusion", "10", "5"], "index 10"),
])
def test_impossible_requests_fail_with_a_message_and_change_nothing(runner, app_ctx, args, mentions):
    cli(runner, "checkpoint")
    size, checkpoints = ledger_size(), checkpoint_count()
    result = runner.invoke(args=["ledger", *args])
    assert result.exit_code != 0
    assert mentions in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (TypeError, AttributeError))
    assert (ledger_size(), checkpoint_count()) == (size, checkpoints)


# --- personal data -------------------------------------------------------------------------------------------


def test_no_clear_resident_id_or_name_is_in_the_ledger_but_the_masked_ids_are(app, app_ctx):
    pii = app.extensions["pii"]
    persons = db.session.scalars(select(Person)).all()
    assert len(persons) > 100
    clear = {pii.decrypt(p.id_number_encrypted).upper() for p in persons}
    assert all(len(number) == 18 for number in clear)
    text = "\n".join(raw.decode() for _, raw in service.store().entries(db.session.connection(), 0, ledger_size()))

    # Every run of 18 or more ID characters, read at every offset: an ID number embedded anywhere is found.
    leaked = {run[i:i + 18] for m in re.finditer(r"[0-9Xx]{18,}", text) for run in [m.group().upper()]
              for i in range(len(run) - 17)} & clear
    assert leaked == set()
    # Names, likewise: every run of Chinese characters, read at every offset and for every name length.
    runs = re.findall(r"[\u4e00-\u9fff]+", text)
    lengths = {len(p.name) for p in persons}
    grams = {run[i:i + k] for run in runs for k in lengths for i in range(len(run) - k + 1)}
    assert {p.name for p in persons} & grams == set()

    masked = set(re.findall(r"\d{6}\*{8}[0-9X]{4}", text))
    assert {p.id_number_masked for p in persons} <= masked
    assert {p.id_number_hash for p in persons} <= set(re.findall(r"[0-9a-f]{64}", text))


# --- atomicity -------------------------------------------------------------------------------------------------


def _township_with_entry(code: str) -> int:
    county = db.session.scalar(select(Division).where(Division.level == DivisionLevel.county))
    db.session.add(Division(code=code, name="测试镇", level=DivisionLevel.township, parent=county))
    db.session.flush()
    return service.record("registration", [{"type": "division", "id": code}], {"object": "division", "name": "测试镇"})


def test_a_rolled_back_operation_leaves_neither_its_rows_nor_its_entry(app_ctx):
    size = ledger_size()
    index = _township_with_entry("511723198")
    assert index == size and ledger_size() == size + 1
    db.session.rollback()
    assert ledger_size() == size
    assert db.session.scalar(select(Division).where(Division.code == "511723198")) is None
    assert service.store().root(db.session.connection()) == Checkpoint.from_note(
        service.publish_checkpoint().text).root

    # The same operation committed keeps both: the entry's subject is the row it recorded.
    index = _township_with_entry("511723199")
    db.session.commit()
    assert ledger_size() == size + 1
    assert db.session.scalar(select(Division).where(Division.code == "511723199")) is not None
    (_, raw), = service.store().entries(db.session.connection(), index, index + 1)
    assert json.loads(raw)["subjects"] == [{"type": "division", "id": "511723199"}]


def test_an_entry_with_a_clear_resident_id_is_refused_and_nothing_is_written(app, app_ctx):
    person = db.session.scalars(select(Person).order_by(Person.id)).first()
    number = app.extensions["pii"].decrypt(person.id_number_encrypted)
    size = ledger_size()
    subjects = [{"type": "household", "id": person.household.code}]
    with pytest.raises(EntryError, match="resident ID"):
        service.record("correction", subjects, {"note": f"申请人身份证号 {number}"})
    with pytest.raises(EntryError):  # a batch with one bad entry writes none of them
        service.record_many([("correction", subjects, {"note": "ok"}),
                             ("correction", subjects, {"members": [{"id": number}]})])
    db.session.flush()
    assert ledger_size() == size
    # The masked form is what an entry may hold.
    assert service.record("correction", subjects, {"note": f"申请人身份证号 {person.id_number_masked}"}) == size


def test_an_entry_too_long_for_a_tlog_tiles_entry_bundle_is_refused(app_ctx):
    size = ledger_size()
    with pytest.raises(ValueError):
        service.record("correction", [{"type": "organisation", "id": "LONG"}], {"note": "长" * 22_000})  # 66 000 bytes
    assert ledger_size() == size
    # Just under the limit is still recorded.
    assert service.record("correction", [{"type": "organisation", "id": "LONG"}], {"note": "长" * 21_000}) == size


# --- witnesses ---------------------------------------------------------------------------------------------------


def test_witness_cosign_after_new_entries_makes_a_new_cosigned_checkpoint(app, runner, app_ctx):
    old = Checkpoint.from_note(cli(runner, "checkpoint"))
    append_test_entries(2)
    db.session.commit()
    text = cli(runner, "witness", "cosign")
    policy = Policy.from_json(cli(runner, "policy"))
    accepted = policy.verify_checkpoint(text)
    assert accepted.checkpoint.size == old.size + 2
    assert set(accepted.witnesses) == set(app.config["LEDGER_WITNESSES"])
    proof = json.loads(cli(runner, "consistency", str(old.size), str(old.size + 2)))
    merkle.verify_consistency(old.size, old.size + 2, old.root, accepted.checkpoint.root, b64d(proof["proof"]))
    assert cli(runner, "checkpoint") == text  # nothing new since: the same checkpoint, not another one


def _witnesses():
    ledger = service.store()
    log_verifiers = [k.verifier for k in service.load_policy().log_keys]
    return [Witness(signer, log_verifiers, service.DatabaseWitnessState(ledger, signer))
            for signer in service.witness_signers()]


def test_a_witness_refuses_a_fork_signed_with_the_logs_real_key(app, runner, app_ctx):
    cosigned = Checkpoint.from_note(cli(runner, "checkpoint"))
    log_key = log_skey_signer(app)
    origin = app.config["LEDGER_ORIGIN"]
    other_root = hashlib.sha256(b"another history").digest()
    same_size_fork = sign(Checkpoint(origin, cosigned.size, other_root).body, [log_key])
    witnesses = _witnesses()
    assert len(witnesses) == 2
    checkpoints, cosignatures = checkpoint_count(), cosignature_count()
    for witness in witnesses:
        with pytest.raises(WitnessError, match="fork"):
            witness.cosign(same_size_fork, [])

    # A bigger tree that does not extend the cosigned one: the log's real consistency proof does not fit it.
    append_test_entries(1)
    proof = service.store().consistency_proof(db.session.connection(), cosigned.size, cosigned.size + 1)
    bigger_fork = sign(Checkpoint(origin, cosigned.size + 1, other_root).body, [log_key])
    rollback = sign(Checkpoint(origin, cosigned.size - 1,
                               service.store().root(db.session.connection(), cosigned.size - 1)).body, [log_key])
    for witness in witnesses:
        with pytest.raises(WitnessError, match="fork"):
            witness.cosign(bigger_fork, proof)
        with pytest.raises(WitnessError, match="rollback"):
            witness.cosign(rollback, [])
    assert (checkpoint_count(), cosignature_count()) == (checkpoints, cosignatures)

    # The honest extension with the same proof is cosigned, so the refusals above are about the forks.
    honest = sign(Checkpoint(origin, cosigned.size + 1, service.store().root(db.session.connection())).body, [log_key])
    for witness in witnesses:
        line = witness.cosign(honest, proof)
        verify(honest + line, [witness.signer.verifier])


# --- key rotation (an instance of its own: rotation changes the instance's key files) ---------------------------


@pytest.fixture
def fresh_app(database_factory, tmp_path):
    """A set-up instance with its own database and key folder, without the demo data."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": database_factory(), "SECRET_KEY": "test-secret"})
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield app
    app.extensions["database"].engine.dispose()


def _wait_for_a_new_key_file_name(app) -> None:
    """Log key files are named by the second they were made in (see test_rotating_twice_within_a_second)."""
    names = {p.name for p in (Path(app.config["KEY_DIR"]) / "ledger").glob("log-*.skey")}
    while f"log-{datetime.now(timezone.utc):%Y%m%d%H%M%S}.skey" in names:
        time.sleep(0.05)


def test_key_rotation_signs_with_both_keys_and_old_checkpoints_still_verify(fresh_app):
    cli_runner = fresh_app.test_cli_runner()
    with fresh_app.app_context():
        append_test_entries(3)
        db.session.commit()
    old_vkey = cli(cli_runner, "vkey").strip()
    first = cli(cli_runner, "checkpoint")
    assert Checkpoint.from_note(first).size == 3
    assert len([s for s in parse(first).signatures if s.name == fresh_app.config["LEDGER_ORIGIN"]]) == 1

    _wait_for_a_new_key_file_name(fresh_app)
    output = cli(cli_runner, "rotate-key", "--overlap-days", "30")
    new_vkey = cli(cli_runner, "vkey").strip()
    assert new_vkey != old_vkey and new_vkey in output
    policy = Policy.from_json(cli(cli_runner, "policy"))
    assert [k.verifier.vkey for k in policy.log_keys] == [old_vkey, new_vkey]
    old_key, new_key = policy.log_keys
    now = datetime.now(timezone.utc)
    assert old_key.not_after is not None
    assert timedelta(days=29) < old_key.not_after - now <= timedelta(days=30)
    assert new_key.not_after is None and not new_key.revoked

    with fresh_app.app_context():
        append_test_entries(1)
        db.session.commit()
    second = cli(cli_runner, "checkpoint")
    assert Checkpoint.from_note(second).size == 4
    log_signatures = [s for s in parse(second).signatures if s.name == fresh_app.config["LEDGER_ORIGIN"]]
    assert sorted(s.key_id for s in log_signatures) == sorted(
        Verifier.from_vkey(v).key_id for v in (old_vkey, new_vkey))
    for vkey in (old_vkey, new_vkey):  # a verifier configured with either key accepts it
        verify(second, [Verifier.from_vkey(vkey)])
    assert len(policy.verify_checkpoint(second).log_keys) == 2
    assert policy.verify_checkpoint(first).checkpoint.size == 3  # the old checkpoint, under the new policy
    with pytest.raises(NoteError):
        verify(first, [Verifier.from_vkey(new_vkey)])  # the new key did not sign the old checkpoint
    proof = json.loads(cli(cli_runner, "consistency", "3", "4"))
    merkle.verify_consistency(3, 4, Checkpoint.from_note(first).root, Checkpoint.from_note(second).root,
                              b64d(proof["proof"]))
    output = cli(cli_runner, "verify")
    assert "intact" in output and "4 entries" in output


def test_rotating_within_the_second_the_previous_key_was_made_rotates(fresh_app, monkeypatch):
    policy_file = Path(fresh_app.config["KEY_DIR"]) / "ledger" / "policy.json"
    (first_key,) = Policy.from_json(policy_file.read_text()).log_keys
    made = first_key.not_before  # when set-up made the first key

    class SameSecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return made

    monkeypatch.setattr(service, "datetime", SameSecond)
    result = fresh_app.test_cli_runner().invoke(args=["ledger", "rotate-key", "--overlap-days", "30"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert len(Policy.from_json(policy_file.read_text()).log_keys) == 2


# --- HTTP: tlog-tiles, checkpoint, JSON API, public page ----------------------------------------------------------


def http_checkpoint(client) -> tuple[str, Checkpoint]:
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    return text, Checkpoint.from_note(text)


def test_checkpoint_over_http_verifies_with_the_published_key_and_grows_consistently(app, client):
    vkey = client.get("/ledger/vkey").get_data(as_text=True)
    assert vkey.endswith("\n") and VKEY_RE.match(vkey.strip())
    text, checkpoint = http_checkpoint(client)
    verify(text, [Verifier.from_vkey(vkey)])
    policy = Policy.from_json(client.get("/ledger/policy.json").get_data(as_text=True))
    assert set(policy.verify_checkpoint(text).witnesses) == set(app.config["LEDGER_WITNESSES"])
    assert client.get("/ledger/checkpoint").headers["Cache-Control"] == "no-cache"

    with app.app_context():
        append_test_entries(1)
        db.session.commit()
    new_text, new = http_checkpoint(client)
    assert new.size == checkpoint.size + 1
    policy.verify_checkpoint(new_text)
    proof = client.get(f"/api/v1/ledger/proofs/consistency?old_size={checkpoint.size}&new_size={new.size}").get_json()
    merkle.verify_consistency(checkpoint.size, new.size, checkpoint.root, new.root, b64d(proof["proof"]))


def test_level_zero_tiles_are_the_leaf_hashes(client, runner):
    _, checkpoint = http_checkpoint(client)
    size = checkpoint.size
    assert size > 256, "the demo fills at least one tile"
    full = client.get("/ledger/tile/0/000")
    assert full.status_code == 200 and full.mimetype == "application/octet-stream"
    assert len(full.data) == 8192
    assert full.data == b"".join(leaf_hash(raw) for raw in raw_leaves(cli_entries(runner, 0, 256)))
    assert "immutable" in full.headers["Cache-Control"]

    last, width = divmod(size, 256)
    assert width, "pick a demo size that leaves a partial tile"
    partial = client.get(f"/ledger/tile/0/{tile_index(last)}.p/{width}")
    assert partial.status_code == 200
    assert partial.data == b"".join(leaf_hash(raw) for raw in raw_leaves(cli_entries(runner, last * 256, size)))
    assert "immutable" not in partial.headers["Cache-Control"]
    # A smaller partial tile is a prefix of the same hashes.
    assert client.get(f"/ledger/tile/0/{tile_index(last)}.p/1").data == partial.data[:32]


def test_level_one_tile_holds_the_roots_of_the_full_level_zero_tiles(client, runner):
    _, checkpoint = http_checkpoint(client)
    leaves = [leaf_hash(raw) for raw in raw_leaves(cli_entries(runner, 0, checkpoint.size))]
    width = checkpoint.size // 256
    tile = client.get(f"/ledger/tile/1/000.p/{width}")
    assert tile.status_code == 200
    assert tile.data == b"".join(merkle.root_from_leaf_hashes(leaves[k * 256:(k + 1) * 256]) for k in range(width))


def _bundle(data: bytes) -> list[bytes]:
    entries, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from(">H", data, offset)
        entries.append(data[offset + 2:offset + 2 + length])
        offset += 2 + length
    assert offset == len(data), "the bundle ends inside an entry"
    return entries


def test_entry_bundles_hold_the_exact_entries(client, runner):
    _, checkpoint = http_checkpoint(client)
    response = client.get("/ledger/tile/entries/000")
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    assert _bundle(response.data) == raw_leaves(cli_entries(runner, 0, 256))
    last, width = divmod(checkpoint.size, 256)
    partial = client.get(f"/ledger/tile/entries/{tile_index(last)}.p/{width}")
    assert _bundle(partial.data) == raw_leaves(cli_entries(runner, last * 256, checkpoint.size))


@pytest.mark.parametrize("path", [
    "/ledger/tile/0/1", "/ledger/tile/0/0000", "/ledger/tile/0/000.p/0", "/ledger/tile/0/000.p/256",
    "/ledger/tile/0/000.p/007", "/ledger/tile/0/x1/000", "/ledger/tile/0/000/x001", "/ledger/tile/0/abc",
    "/ledger/tile/0/000.p/", "/ledger/tile/64/000", "/ledger/tile/-1/000", "/ledger/tile/entries/1",
    "/ledger/tile/entries/000.p/0",
])
def test_malformed_tile_paths_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_tiles_beyond_the_log_are_not_found(client):
    _, checkpoint = http_checkpoint(client)
    last, width = divmod(checkpoint.size, 256)
    assert 0 < width < 255 and checkpoint.size < 65536
    for path in (f"/ledger/tile/0/{tile_index(last)}", f"/ledger/tile/0/{tile_index(last)}.p/{width + 1}",
                 f"/ledger/tile/0/{tile_index(last + 1)}.p/1", "/ledger/tile/0/x001/000", "/ledger/tile/1/000",
                 f"/ledger/tile/1/000.p/{last + 1}", "/ledger/tile/2/000.p/1",
                 f"/ledger/tile/entries/{tile_index(last)}", f"/ledger/tile/entries/{tile_index(last)}.p/{width + 1}",
                 f"/ledger/tile/entries/{tile_index(last + 1)}.p/1"):
        assert client.get(path).status_code == 404, path


def test_api_entry_and_proofs_verify_against_the_signed_checkpoint(client):
    _, checkpoint = http_checkpoint(client)
    entry = client.get("/api/v1/ledger/entries/0").get_json()
    raw = base64.b64decode(entry["leaf"])
    assert entry["index"] == 0 and json.loads(raw) == entry["entry"]
    assert base64.b64decode(entry["leaf_hash"]) == leaf_hash(raw)

    fifth = base64.b64decode(client.get("/api/v1/ledger/entries/5").get_json()["leaf"])
    proof = client.get(f"/api/v1/ledger/proofs/inclusion?index=5&tree_size={checkpoint.size}").get_json()
    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(fifth)
    merkle.verify_inclusion(5, checkpoint.size, leaf_hash(fifth), b64d(proof["proof"]), checkpoint.root)

    first_ten = client.get("/api/v1/ledger/entries?start=0&end=10").get_json()
    old_root = merkle.root_from_leaf_hashes([leaf_hash(base64.b64decode(e["leaf"])) for e in first_ten])
    proof = client.get(f"/api/v1/ledger/proofs/consistency?old_size=10&new_size={checkpoint.size}").get_json()
    assert base64.b64decode(proof["old_root"]) == old_root
    merkle.verify_consistency(10, checkpoint.size, old_root, checkpoint.root, b64d(proof["proof"]))


@pytest.mark.parametrize("url, status, code, field", [
    ("/api/v1/ledger/entries/999999", 404, "ledger-out-of-range", "index"),
    ("/api/v1/ledger/entries?start=0&end=999999", 422, "validation-failed", "end"),
    ("/api/v1/ledger/entries?start=5&end=2", 422, "validation-failed", "end"),
    ("/api/v1/ledger/proofs/inclusion?index=5&tree_size=999999", 404, "ledger-out-of-range", "tree_size"),
    ("/api/v1/ledger/proofs/inclusion?index=10&tree_size=5", 404, "ledger-out-of-range", "index"),
    ("/api/v1/ledger/proofs/inclusion?index=-1&tree_size=5", 422, "validation-failed", "index"),
    ("/api/v1/ledger/proofs/consistency?old_size=5&new_size=999999", 404, "ledger-out-of-range", "new_size"),
    ("/api/v1/ledger/proofs/consistency?old_size=9&new_size=5", 422, "ledger-bad-range", "old_size"),
    ("/api/v1/ledger/proofs/consistency?old_size=0&new_size=5", 422, "validation-failed", "old_size"),
])
def test_api_out_of_range_requests_are_problem_json_with_code_and_field(client, url, status, code, field):
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code
    if "field" in body:
        assert body["field"] == field
    else:  # request validation names the field among its errors
        assert field in body["errors"]["query"], body


def test_api_entries_within_the_log_are_served(client):
    """Positive control for the refusals above: the last entry and a full page of 1000 are served."""
    _, checkpoint = http_checkpoint(client)
    assert client.get(f"/api/v1/ledger/entries/{checkpoint.size - 1}").status_code == 200
    assert len(client.get("/api/v1/ledger/entries?start=0&end=1000").get_json()) == 1000


def test_openapi_document_lists_the_ledger_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/ledger/entries", "/api/v1/ledger/entries/{index}", "/api/v1/ledger/proofs/inclusion",
                 "/api/v1/ledger/proofs/consistency", "/api/v1/ledger/checkpoint", "/api/v1/ledger/policy"):
        assert "get" in paths.get(path, {}), path
    parameters = {p["name"] for p in paths["/api/v1/ledger/proofs/inclusion"]["get"]["parameters"]}
    assert {"index", "tree_size"} <= parameters


def test_public_page_shows_the_count_and_an_entry_with_its_proof(client):
    _, checkpoint = http_checkpoint(client)
    page = client.get("/transparency").get_data(as_text=True)
    assert f'data-testid="ledger-size">{checkpoint.size}<' in page
    shown = re.search(r'data-testid="checkpoint-text">(.*?)</pre>', page, re.S)
    assert shown and Checkpoint.from_note(html.unescape(shown.group(1))) == checkpoint

    page = client.get("/transparency?index=5").get_data(as_text=True)
    result = re.search(r'data-testid="lookup-result">(.*?)</div>', page, re.S)
    assert result, "no lookup result for index 5"
    block = result.group(1)
    raw = html.unescape(re.search(r'<pre class="note">(.*?)</pre>', block, re.S).group(1)).encode()
    assert raw == base64.b64decode(client.get("/api/v1/ledger/entries/5").get_json()["leaf"])
    assert leaf_hash(raw).hex() in block
    tree_size = int(re.search(r"在 (\d+) 条的树中", block).group(1))
    assert tree_size == checkpoint.size
    proof = [bytes.fromhex(h) for h in re.findall(r"<li><code>([0-9a-f]{64})</code></li>", block)]
    assert proof
    merkle.verify_inclusion(5, tree_size, leaf_hash(raw), proof, checkpoint.root)


@pytest.mark.parametrize("index", ["999999", "-1"])
def test_public_page_lookup_outside_the_log_shows_the_chinese_error(client, index):
    size = http_checkpoint(client)[1].size
    page = client.get(f"/transparency?index={index}").get_data(as_text=True)
    error = re.search(r'data-testid="lookup-error">(.*?)</p>', page, re.S)
    assert error, page[-2000:]
    assert error.group(1).strip() == f"序号 {index} 不在账本中（现有 {size} 条，序号从 0 开始）。"
    assert 'data-testid="lookup-result"' not in page


def test_public_page_lookup_with_a_non_numeric_index_shows_an_error(client):
    page = client.get("/transparency?index=abc").get_data(as_text=True)
    assert 'data-testid="lookup-error"' in page
