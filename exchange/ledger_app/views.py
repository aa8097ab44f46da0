"""The ledger over HTTP: the C2SP tlog-tiles read API under /ledger, and the public 账本公示 page."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.db import db, sqlite_write_intent
from exchange.ledger_app import service
from ledger.entry import KINDS, EntryError, decode
from ledger.merkle import ProofError

bp = Blueprint("ledger", __name__)

_TILE_INDEX = re.compile(r"^((?:x\d{3}/)*)(\d{3})(?:\.p/(\d{1,3}))?$")
FULL_TILE_CACHE = "public, max-age=31536000, immutable"


def parse_tile_index(path: str) -> tuple[int, int | None]:
    """``x001/x234/067.p/8`` → (1234067, 8); malformed paths are a 404, as tlog-tiles clients expect."""
    match = _TILE_INDEX.match(path)
    if not match:
        abort(404, description=_("瓦片路径格式不正确：应为 x001/x234/067 或其后加 .p/<宽度>。"))
    digits = match.group(1).replace("x", "").replace("/", "") + match.group(2)
    width = match.group(3)
    if width is not None and (width.startswith("0") or not 1 <= int(width) <= 255):
        abort(404, description=_("部分瓦片的宽度应为 1 至 255 之间不带前导零的整数。"))
    return int(digits), int(width) if width else None


def _binary(data: bytes, full: bool) -> Response:
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Cache-Control"] = FULL_TILE_CACHE if full else "no-cache"
    return response


@bp.get("/ledger/checkpoint")
def checkpoint():
    """The newest checkpoint with its cosignatures (a new one is signed if entries were added since)."""
    db.session.rollback()  # drop any read transaction, then begin one that may write
    token = sqlite_write_intent.set(True)
    try:
        published = service.publish_checkpoint()
        db.session.commit()
    finally:
        sqlite_write_intent.reset(token)
    response = Response(published.text, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/ledger/tile/entries/<path:index_path>")
def entry_bundle(index_path: str):
    index, width = parse_tile_index(index_path)
    try:
        data = service.store().entry_bundle(db.session.connection(), index, width or 256)
    except ProofError:
        abort(404, description=_("这一组条目尚不存在。"))
    return _binary(data, width is None)


@bp.get("/ledger/tile/<int:level>/<path:index_path>")
def tile(level: int, index_path: str):
    if level > 63:
        abort(404)
    index, width = parse_tile_index(index_path)
    try:
        data = service.store().tile(db.session.connection(), level, index, width or 256)
    except ProofError:
        abort(404, description=_("这一瓦片尚不存在。"))
    return _binary(data, width is None)


@bp.get("/ledger/policy.json")
def policy():
    return Response(service.load_policy().to_json(), mimetype="application/json")


@bp.get("/ledger/vkey")
def vkey():
    return Response(service.current_vkey() + "\n", mimetype="text/plain")


KIND_LABELS = {
    "registration": _l("登记"), "correction": _l("更正"), "transfer": _l("流转"), "pledge": _l("抵押"),
    "release": _l("解押"), "freeze": _l("查封"), "unfreeze": _l("解封"), "expiry": _l("到期"),
    "listing": _l("挂牌"), "resolution": _l("决议"), "membership": _l("成员变更"), "shares": _l("股份"),
    "distribution": _l("收益分配"), "contract": _l("合同"), "certificate": _l("鉴证"), "key": _l("密钥"),
}
assert set(KIND_LABELS) == set(KINDS), "every ledger entry kind needs a label"


@bp.get("/transparency")
def public_page():
    """账本公示: what the log holds, its newest checkpoint and keys, the latest entries, how to check them."""
    ledger = service.store()
    connection = db.session.connection()
    size = ledger.size(connection)
    latest = ledger.latest_checkpoint(connection)
    raw_index = request.args.get("index")
    try:
        lookup = int(raw_index) if raw_index is not None else None
    except ValueError:
        lookup = None
    found = None
    if raw_index is not None and lookup is None:
        found = {"error": _("序号应为从 0 开始的整数，例如 5。")}
    elif lookup is not None:
        if not 0 <= lookup < size:
            found = {"error": _("序号 %(index)s 不在账本中（现有 %(size)s 条，序号从 0 开始）。", index=lookup, size=size)}
        else:
            raw = ledger.entries(connection, lookup, lookup + 1)[0][1]
            tree_size = latest.tree_size if latest and latest.tree_size > lookup else size
            leaf_hash, proof = ledger.inclusion_proof(connection, lookup, tree_size)
            found = {"index": lookup, "entry": _decoded(raw), "raw": raw.decode(), "tree_size": tree_size,
                     "leaf_hash": leaf_hash.hex(), "proof": [p.hex() for p in proof]}
    start = max(size - 20, 0)
    recent = [(i, _decoded(raw)) for i, raw in reversed(ledger.entries(connection, start, size))]
    return render_template(
        "ledger/public.html", size=size, checkpoint=latest, recent=recent, found=found,
        vkey=service.current_vkey(), policy=service.load_policy(), kinds=KIND_LABELS,
        origin=current_app.config["LEDGER_ORIGIN"],
    )


def _decoded(raw: bytes) -> dict:
    try:
        return decode(raw)
    except EntryError:
        return {"kind": "?", "subjects": [], "data": {}, "time": ""}
