"""``/api/v1/ledger``: entries, proofs, the newest checkpoint and the verifier policy, as JSON."""
from __future__ import annotations

import base64
import json

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app import service
from ledger.entry import decode
from ledger.merkle import ProofError

blp = Blueprint("ledger_api", __name__, description="The signed append-only ledger: entries, proofs, checkpoints")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _out_of_range(exc: ProofError, field: str) -> DomainError:
    return DomainError("ledger-out-of-range", f"账本中没有所请求的内容：{exc}", str(exc), field=field, status=404)


class EntrySchema(Schema):
    index = fields.Integer()
    leaf = fields.String(metadata={"description": "base64 of the exact entry bytes that were hashed (RFC 8785 JSON)"})
    leaf_hash = fields.String(metadata={"description": "base64 SHA-256(0x00 ‖ entry)"})
    entry = fields.Dict(metadata={"description": "the decoded entry"})


class EntriesArgs(Schema):
    start = fields.Integer(required=True, validate=validate.Range(min=0))
    end = fields.Integer(required=True, validate=validate.Range(min=0))

    @validates_schema
    def _range(self, data, **_kwargs):
        if data["end"] < data["start"]:
            raise ValidationError("end 不能小于 start (end must not be less than start)", "end")
        if data["end"] - data["start"] > 1000:
            raise ValidationError("一次最多 1000 条 (at most 1000 entries per request)", "end")


class InclusionArgs(Schema):
    index = fields.Integer(required=True, validate=validate.Range(min=0))
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1))


class InclusionSchema(Schema):
    index = fields.Integer()
    tree_size = fields.Integer()
    leaf_hash = fields.String()
    root_hash = fields.String()
    proof = fields.List(fields.String())


class ConsistencyArgs(Schema):
    old_size = fields.Integer(required=True, validate=validate.Range(min=1))
    new_size = fields.Integer(required=True, validate=validate.Range(min=1))


class ConsistencySchema(Schema):
    old_size = fields.Integer()
    new_size = fields.Integer()
    old_root = fields.String()
    new_root = fields.String()
    proof = fields.List(fields.String())


class CheckpointSchema(Schema):
    origin = fields.String()
    tree_size = fields.Integer()
    root_hash = fields.String()
    text = fields.String(metadata={"description": "the C2SP signed note: checkpoint body, log signatures, cosignatures"})
    vkey = fields.String(metadata={"description": "the log's verifier key (Go sumdb/note format)"})


def _entry(index: int, raw: bytes) -> dict:
    from ledger.merkle import leaf_hash

    return {"index": index, "leaf": b64(raw), "leaf_hash": b64(leaf_hash(raw)), "entry": decode(raw)}


@blp.route("/checkpoint")
class Checkpoint(MethodView):
    @blp.response(200, CheckpointSchema)
    def get(self):
        """The newest stored checkpoint (GET /ledger/checkpoint signs a fresh one when entries were added)."""
        ledger = service.store()
        latest = ledger.latest_checkpoint(db.session.connection())
        if latest is None:
            raise DomainError("ledger-no-checkpoint", "账本尚未签发检查点。", "No checkpoint has been signed yet.",
                              status=404)
        return {"origin": ledger.origin, "tree_size": latest.tree_size, "root_hash": b64(latest.root_hash),
                "text": latest.text, "vkey": service.current_vkey()}


@blp.route("/policy")
class PolicyView(MethodView):
    @blp.response(200, fields.Dict)
    def get(self):
        """The verifier policy: log keys with validity windows, witness keys and the required quorum."""
        return json.loads(service.load_policy().to_json())


@blp.route("/entries")
class Entries(MethodView):
    @blp.arguments(EntriesArgs, location="query")
    @blp.response(200, EntrySchema(many=True))
    def get(self, args):
        """Entries with start <= index < end (at most 1000)."""
        try:
            rows = service.store().entries(db.session.connection(), args["start"], args["end"])
        except ProofError as exc:
            raise _out_of_range(exc, "end") from None
        return [_entry(i, raw) for i, raw in rows]


@blp.route("/entries/<int:index>")
class Entry(MethodView):
    @blp.response(200, EntrySchema)
    def get(self, index: int):
        """One entry, its exact bytes and its leaf hash."""
        ledger = service.store()
        try:
            rows = ledger.entries(db.session.connection(), index, index + 1)
        except ProofError as exc:
            raise _out_of_range(exc, "index") from None
        return _entry(*rows[0])


@blp.route("/proofs/inclusion")
class Inclusion(MethodView):
    @blp.arguments(InclusionArgs, location="query")
    @blp.response(200, InclusionSchema)
    def get(self, args):
        """RFC 6962 inclusion proof of entry ``index`` in the tree of ``tree_size`` entries."""
        ledger = service.store()
        connection = db.session.connection()
        try:
            leaf_hash, proof = ledger.inclusion_proof(connection, args["index"], args["tree_size"])
            root = ledger.root(connection, args["tree_size"])
        except ProofError as exc:
            raise _out_of_range(exc, "index" if args["index"] >= args["tree_size"] else "tree_size") from None
        return {**args, "leaf_hash": b64(leaf_hash), "root_hash": b64(root), "proof": [b64(p) for p in proof]}


@blp.route("/proofs/consistency")
class Consistency(MethodView):
    @blp.arguments(ConsistencyArgs, location="query")
    @blp.response(200, ConsistencySchema)
    def get(self, args):
        """RFC 6962 consistency proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``."""
        if args["old_size"] > args["new_size"]:
            raise DomainError("ledger-bad-range", "old_size 不能大于 new_size。", "old_size must not exceed new_size.",
                              field="old_size", status=422)
        ledger = service.store()
        connection = db.session.connection()
        try:
            proof = ledger.consistency_proof(connection, args["old_size"], args["new_size"])
            old_root, new_root = ledger.root(connection, args["old_size"]), ledger.root(connection, args["new_size"])
        except ProofError as exc:
            raise _out_of_range(exc, "new_size") from None
        return {**args, "old_root": b64(old_root), "new_root": b64(new_root), "proof": [b64(p) for p in proof]}
