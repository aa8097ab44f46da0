"""Issuing, rendering and verifying certificates.

Issuing writes a "certificate" ledger entry holding every fact the PDF will show (people masked); rendering
uses only that entry, its inclusion proof and the first checkpoint that covers it, so a certificate renders
the same way every time and can be checked offline against the log.
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from exchange.certificates.models import KIND_PREFIX, KIND_TITLES, Certificate, CertificateKind
from exchange.db import db, sqlite_write_intent
from exchange.errors import DomainError
from exchange.ledger_app import service
from exchange.pdf import Attachment, keep, render_pdf, sign_pdf
from exchange.registry.importer import LAND_USES
from exchange.registry.models import Encumbrance, Right, RightType, to_mu
from ledger import merkle
from ledger.entry import decode
from ledger.policy import Policy, VerifiedCheckpoint
from ledger.storage import StoredCheckpoint, checkpoints, cosignatures, entries
from ledger.tlogproof import TlogProof
from ledger.verify import ENTRY_NAME, PROOF_NAME

RIGHT_NAMES = {
    RightType.ownership: "所有权", RightType.contract: "土地承包权", RightType.management: "土地经营权",
    RightType.qualification: "宅基地资格权", RightType.homestead_use: "宅基地使用权",
    RightType.construction_use: "集体经营性建设用地使用权", RightType.lease: "租赁经营权", RightType.shares: "集体资产股份",
}


def _asset_facts(right: Right) -> dict:
    if right.parcel is not None:
        p = right.parcel
        return {"type": "parcel", "code": p.code, "name": p.name, "location": p.division.full_name,
                "area": f"{p.area_m2} 平方米（{to_mu(p.area_m2)} 亩）", "land_use": p.land_use}
    if right.homestead is not None:
        h = right.homestead
        return {"type": "homestead", "code": h.code, "name": "宅基地及农房", "location": h.division.full_name,
                "area": f"{h.area_m2} 平方米"}
    a = right.asset
    return {"type": "collective_asset", "code": a.code, "name": a.name, "location": a.location or a.division.full_name,
            "area": f"{a.area_m2} 平方米" if a.area_m2 is not None else "—"}


def _holders(right: Right) -> str:
    return "、".join(h.public_name + (f"（{h.share}）" if h.share != 1 else "") for h in right.holders)


def _yuan(amount) -> str:
    """An amount in yuan with two decimals, whether the pledge was just made (Decimal("200000")) or read back."""
    return f"{Decimal(amount).quantize(Decimal('0.01'))}"


def _use(right: Right) -> str:
    """The permitted use in words: land rights store the TDYT code (1 种植业 …)."""
    use = right.permitted_use or "—"
    return f"{use} {LAND_USES[use]}" if right.parcel is not None and use in LAND_USES else use


def _term(right: Right) -> str:
    return f"{right.start_date or '—'} 至 {right.end_date or '长期'}"


def _next_number(kind: CertificateKind, year: int) -> str:
    prefix = f"{current_app.config['CERTIFICATE_NUMBER_PREFIX']}-{KIND_PREFIX[kind]}-{year}-"
    count = db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.number.startswith(prefix)))
    return f"{prefix}{count + 1:06d}"


def _rows(kind: CertificateKind, right: Right, encumbrance: Encumbrance | None) -> list[dict]:
    asset = _asset_facts(right)
    rows = [{"label": "标的 Asset", "value": f"{asset['name']}（{asset['code']}）"},
            {"label": "坐落 Location", "value": asset["location"]},
            {"label": "面积 Area", "value": asset["area"]},
            {"label": "权利 Right", "value": f"{RIGHT_NAMES[right.right_type]} {right.number}"}]
    if kind == CertificateKind.transaction:
        source = right.derived_from
        rows += [{"label": "出让方 Transferor", "value": _holders(source) if source else "—"},
                 {"label": "受让方 Transferee", "value": _holders(right)},
                 {"label": "流转方式 Mode", "value": right.mode or "—"},
                 {"label": "期限 Term", "value": _term(right)},
                 {"label": "用途 Use", "value": _use(right)},
                 {"label": "价款 Price", "value": str(right.terms.get("price") or right.terms.get("rent") or "—")},
                 {"label": "依据权利 From right", "value": source.number if source else "—"}]
    elif kind == CertificateKind.mortgage:
        rows += [{"label": "抵押人 Mortgagor", "value": _holders(right)},
                 {"label": "抵押权人 Pledgee", "value": encumbrance.pledgee.name},
                 {"label": "担保债权金额 Secured amount", "value": f"{_yuan(encumbrance.amount)} 元"},
                 {"label": "抵押期限 Term", "value": f"{encumbrance.start_date} 至 {encumbrance.end_date}"},
                 {"label": "抵押合同 Contract", "value": encumbrance.contract_number},
                 {"label": "权利期限 Term of the right", "value": _term(right)}]
    else:
        pledges = "；".join(f"{e.pledgee.name} {_yuan(e.amount)} 元（{e.start_date} 至 {e.end_date}）"
                           for e in right.active_pledges()) or "无"
        freezes = "；".join(f"{f.authority} {f.document_number}" for f in right.active_freezes()) or "无"
        rows += [{"label": "权利人 Holder", "value": _holders(right)},
                 {"label": "期限 Term", "value": _term(right)},
                 {"label": "状态 Status", "value": "有效" if right.active else f"已终止（{right.end_reason}）"},
                 {"label": "抵押 Pledges", "value": pledges},
                 {"label": "查封 Freezes", "value": freezes}]
    return rows


def _entry_kind(index: int) -> str | None:
    found = service.store().entries(db.session.connection(), index, index + 1) if index >= 0 else []
    return decode(found[0][1])["kind"] if found else None


def check_issuance(kind: CertificateKind, right: Right, encumbrance: Encumbrance | None = None) -> None:
    """What each kind certifies: a transaction certificate a right created by a transfer entry, a mortgage
    certificate an active pledge entry of that right, an extract any right; one transaction or mortgage
    certificate per entry (a lost copy is downloaded again, not reissued)."""
    if kind == CertificateKind.mortgage:
        if encumbrance is None:
            raise DomainError("CERT-ENCUMBRANCE", "抵押登记证明须指明抵押登记（encumbrance）。",
                              "A mortgage certificate names its pledge (encumbrance).", field="encumbrance")
        if encumbrance.right_id != right.id:
            raise DomainError("CERT-ENCUMBRANCE-RIGHT",
                              f"该抵押登记设定在权利 {encumbrance.right.number} 上，不是权利 {right.number}；"
                              "请指明该权利上的抵押登记。",
                              f"The pledge is registered on right {encumbrance.right.number}, not on {right.number}; "
                              "name a pledge of this right.", field="encumbrance")
        if encumbrance.released_at is not None:
            raise DomainError("CERT-RELEASED",
                              f"该抵押已于 {encumbrance.released_at.date()} 解除，不再出具抵押登记证明；"
                              "可申请权属及他项权利查询证明。",
                              f"The pledge was released on {encumbrance.released_at.date()}; a mortgage certificate "
                              "is no longer issued for it (request an extract instead).", field="encumbrance",
                              status=409)
    elif encumbrance is not None:
        raise DomainError("CERT-ENCUMBRANCE", "只有抵押登记证明指明抵押登记；交易鉴证书和查询证明不填 encumbrance。",
                          "Only a mortgage certificate names a pledge; leave encumbrance empty for this kind.",
                          field="encumbrance")
    if kind == CertificateKind.transaction and _entry_kind(right.ledger_index) != "transfer":
        raise DomainError("CERT-NOT-TRANSFER",
                          f"交易鉴证书只为流转（出租、转包、入股、转让、出让等）形成的权利出具；权利 {right.number} "
                          "不是由流转登记形成的，可申请权属及他项权利查询证明。",
                          f"A transaction certificate is issued for a right created by a transfer (lease, sub-contract, "
                          f"contribution, assignment, grant); right {right.number} was not (request an extract).",
                          field="right")
    if kind in (CertificateKind.transaction, CertificateKind.mortgage):
        subject_index = encumbrance.ledger_index if encumbrance is not None else right.ledger_index
        existing = db.session.scalar(select(Certificate.number).where(Certificate.kind == kind,
                                                                      Certificate.subject_index == subject_index))
        if existing is not None:
            raise DomainError("CERT-DUPLICATE", f"该登记已出具{KIND_TITLES[kind][0]} {existing}，不重复出具；请下载原证明。",
                              f"A {KIND_TITLES[kind][1].lower()} was already issued for this entry ({existing}); "
                              "download that one.", field="right", status=409)


def issue_certificate(kind: CertificateKind, right: Right, encumbrance: Encumbrance | None = None) -> Certificate:
    """Write the certificate's ledger entry (in the caller's transaction) and its row; flushes, never commits."""
    check_issuance(kind, right, encumbrance)
    # Take the ledger's append lock before counting: two concurrent issues would otherwise both count N and
    # the second would fail on the unique number after appending its entry.
    service.store().lock(db.session.connection())
    now = datetime.now(timezone.utc)
    number = _next_number(kind, now.year)
    subject_index = encumbrance.ledger_index if encumbrance is not None else right.ledger_index
    title, title_en = KIND_TITLES[kind]
    asset = _asset_facts(right)
    facts = {"rows": _rows(kind, right, encumbrance), "as_of": now.date().isoformat()}
    if kind == CertificateKind.mortgage:
        others = [e for e in right.active_pledges() if e.id != encumbrance.id]
        facts["rank"] = 1 + sum(1 for e in others if e.id < encumbrance.id)
        facts["other_pledges"] = "；".join(f"第 {i} 顺位 {e.pledgee.name} {_yuan(e.amount)} 元"
                                           for i, e in enumerate(sorted(right.active_pledges(), key=lambda e: e.id), 1)
                                           if e.id != encumbrance.id)
    index = service.record("certificate", [{"type": asset["type"], "id": asset["code"]},
                                           {"type": "right", "id": right.number}, {"type": "certificate", "id": number}],
                           {"certificate": {"number": number, "kind": kind.value, "title": title, "title_en": title_en},
                            "subject_entry": subject_index, "facts": facts})
    certificate = Certificate(number=number, kind=kind, right=right, encumbrance=encumbrance,
                              subject_index=subject_index, ledger_index=index,
                              issued_by=service.actor().get("account"), issued_at=now)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def by_number(number: str) -> Certificate:
    """The certificate, with what its status depends on (the right, its pledges and their pledgees, its freezes)
    loaded in three queries rather than one lazy load per relationship and per pledge."""
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.number == number.strip())
        .options(joinedload(Certificate.right).selectinload(Right.encumbrances).joinedload(Encumbrance.pledgee),
                 joinedload(Certificate.right).selectinload(Right.freezes)))
    if certificate is None:
        raise DomainError("CERT-UNKNOWN", f"没有编号为 {number} 的证明。请核对编号（形如 511723-JZ-2026-000001）。",
                          f"No certificate numbered {number}. Check the number (like 511723-JZ-2026-000001).",
                          field="number", status=404)
    return certificate


def covering_checkpoint(index: int) -> StoredCheckpoint:
    """The first checkpoint whose tree contains entry ``index``; signs one first if none does yet."""
    ledger = service.store()
    connection = db.session.connection()
    row = connection.execute(select(checkpoints.c.tree_size).where(checkpoints.c.tree_size > index)
                             .order_by(checkpoints.c.id).limit(1)).first()
    if row is None:
        db.session.commit()
        token = sqlite_write_intent.set(True)
        try:
            service.publish_checkpoint()
            db.session.commit()
        finally:
            sqlite_write_intent.reset(token)
        connection = db.session.connection()
        row = connection.execute(select(checkpoints.c.tree_size).where(checkpoints.c.tree_size > index)
                                 .order_by(checkpoints.c.id).limit(1)).first()
    return ledger.checkpoint_for_size(connection, row.tree_size)


def pdf_path(certificate: Certificate, entry_bytes: bytes) -> Path:
    """Where the signed PDF is kept: named by number and the entry's hash, so a copy made for an entry that
    is no longer in this database (a rolled-back issue, a restored backup) is never served for another."""
    return Path(current_app.instance_path) / "certificates" / f"{certificate.number}-{sha256(entry_bytes)[:16]}.pdf"


@dataclass
class Rendered:
    pdf: bytes
    entry: bytes
    proof: TlogProof


def render_certificate(certificate: Certificate) -> bytes:
    """The signed PDF (made once, then kept in the instance folder, so every copy is the same file)."""
    ledger = service.store()
    entry_bytes = ledger.entries(db.session.connection(), certificate.ledger_index, certificate.ledger_index + 1)[0][1]
    path = pdf_path(certificate, entry_bytes)
    if path.exists():
        return path.read_bytes()
    entry = decode(entry_bytes)
    checkpoint = covering_checkpoint(certificate.ledger_index)
    _leaf, proof = ledger.inclusion_proof(db.session.connection(), certificate.ledger_index, checkpoint.tree_size)
    tlog = TlogProof(certificate.ledger_index, proof, checkpoint.text)
    info = entry["data"]["certificate"]
    issued = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    data = {
        "issuer": current_app.config["EXCHANGE_NAME"], "number": info["number"], "title_en": info["title_en"],
        "issued": issued.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": entry["data"]["facts"]["rows"], "as_of": entry["data"]["facts"].get("as_of", ""),
        "other_pledges": entry["data"]["facts"].get("other_pledges", ""),
        "origin": ledger.origin, "index": certificate.ledger_index, "tree_size": checkpoint.tree_size,
        "leaf_hash": merkle.leaf_hash(entry_bytes).hex(), "entry_text": entry_bytes.decode("utf-8"),
        "checkpoint_text": checkpoint.text, "verify_url": verify_url(certificate.number),
    }
    pdf = render_pdf(certificate.kind.value, data, title=info["title"], issued_at=issued, attachments=[
        Attachment(ENTRY_NAME, entry_bytes, "Ledger entry (RFC 8785 canonical JSON, exactly the hashed bytes)",
                   "application/json", "Source"),
        Attachment(PROOF_NAME, tlog.encode().encode(), "C2SP tlog-proof: inclusion proof and signed checkpoint",
                   "text/plain", "Supplement"),
    ])
    signed = sign_pdf(pdf, reason=f"{info['title']} {info['number']}", location=current_app.config["EXCHANGE_PLACE"])
    return keep(path, signed)


def verify_url(number: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{number}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- status and verification ----------------------------------------------------------------------------


@dataclass
class Status:
    code: str  # valid, superseded, encumbered, released, frozen, expired
    message_zh: str
    message_en: str


@dataclass
class Verification:
    number: str
    kind: str
    in_log: bool
    consistent: bool
    statuses: list[Status] = field(default_factory=list)
    index: int | None = None
    tree_size: int | None = None
    newest_size: int | None = None
    problems: list[str] = field(default_factory=list)
    issued: str | None = None  # from the ledger entry, UTC
    rows: list[dict] = field(default_factory=list)  # what the certificate states, from its entry (people masked)

    @property
    def valid(self) -> bool:
        return self.in_log and self.consistent and not self.problems


def current_status(certificate: Certificate, today: date | None = None) -> list[Status]:
    """Whether the certified right still stands as certified: superseded, encumbered, released, frozen, expired."""
    today = today or date.today()
    right = certificate.right
    statuses: list[Status] = []
    if certificate.kind == CertificateKind.mortgage:
        e = certificate.encumbrance
        if e.released_at is not None:
            statuses.append(Status("released", f"该抵押已于 {e.released_at.date()} 解除。",
                                   f"This pledge was released on {e.released_at.date()}."))
    if not right.active:
        if right.end_reason == "expired" or (right.end_date and right.end_date < today):
            statuses.append(Status("expired", f"该权利已于 {right.end_date} 到期。", f"The right expired on {right.end_date}."))
        else:
            later = db.session.scalar(select(Right).where((Right.supersedes_id == right.id) | (Right.derived_from_id == right.id))
                                      .order_by(Right.id.desc()).limit(1))
            suffix = f"（现为 {later.number}）" if later else ""
            statuses.append(Status("superseded", f"该权利已被后续登记取代{suffix}。",
                                   f"The right has been superseded by a later registration{f' ({later.number})' if later else ''}."))
    elif right.end_date and right.end_date < today:
        statuses.append(Status("expired", f"该权利已于 {right.end_date} 到期。", f"The right expired on {right.end_date}."))
    for f in right.active_freezes():
        statuses.append(Status("frozen", f"该权利已被{f.authority}查封（{f.document_number}）。",
                               f"The right is frozen by {f.authority} ({f.document_number})."))
    pledges = [e for e in right.active_pledges() if certificate.encumbrance is None or e.id != certificate.encumbrance_id]
    for rank, e in enumerate(sorted(right.active_pledges(), key=lambda e: e.id), start=1):
        if e in pledges:
            statuses.append(Status("encumbered", f"该权利已抵押给{e.pledgee.name}（第 {rank} 顺位，{_yuan(e.amount)} 元，至 {e.end_date}）。",
                                   f"The right is pledged to {e.pledgee.name} (rank {rank}, {_yuan(e.amount)} yuan, until {e.end_date})."))
    if not statuses:
        statuses.append(Status("valid", "该证明所载权利现仍有效，与登记簿一致。", "The certified right still stands as certified."))
    return statuses


_verified_checkpoints: dict[tuple[str, str], VerifiedCheckpoint] = {}
_VERIFIED_CHECKPOINTS_KEPT = 1024


def _verify_checkpoint(policy: Policy, text: str) -> VerifiedCheckpoint:
    """``policy.verify_checkpoint(text)``, remembered for the same policy and the same checkpoint text.

    A signed checkpoint never changes and the outcome depends only on the policy and the text (both are the key),
    so a text read back from the database that differs by one byte is checked afresh. Without this every online
    verification checked the log's and each witness's Ed25519 signatures on two checkpoints again."""
    key = (policy.to_json(), text)
    verified = _verified_checkpoints.get(key)
    if verified is None:
        verified = policy.verify_checkpoint(text)  # raises on a checkpoint the policy does not accept: not kept
        if len(_verified_checkpoints) >= _VERIFIED_CHECKPOINTS_KEPT:
            _verified_checkpoints.clear()
        _verified_checkpoints[key] = verified
    return verified


def verify_certificate(certificate: Certificate) -> Verification:
    """Online check: the certificate entry is in the log (against its checkpoint) and that checkpoint is a prefix
    of the newest one; then the right's current status."""
    result = verify_entry(certificate.number, certificate.kind.value, certificate.ledger_index)
    result.statuses = current_status(certificate)
    return result


def verify_entry(number: str, kind: str, index: int) -> Verification:
    """The log half of an online check, for any certificate entry (a right's, or a collective's share certificate
    or share pledge certificate): the entry names ``number``, is in the log against the first checkpoint covering
    it, and that checkpoint is a prefix of the newest. The caller adds the current status."""
    ledger = service.store()
    connection = db.session.connection()
    result = Verification(number, kind, False, False, index=index)
    policy = service.load_policy()
    try:
        entry_bytes = connection.execute(select(entries.c.entry).where(entries.c.idx == index)).scalar()
        if entry_bytes is None:
            raise IndexError(f"ledger entry {index} is not in the log")
        entry_bytes = bytes(entry_bytes)
        entry = decode(entry_bytes)
        if entry["data"]["certificate"]["number"] != number:
            result.problems.append("ledger entry does not name this certificate")
        result.rows = list(entry["data"]["facts"]["rows"])
        result.issued = entry["time"][:16].replace("T", " ") + " UTC"
        checkpoint = covering_checkpoint(index)
        connection = db.session.connection()
        verified = _verify_checkpoint(policy, checkpoint.text)
        _leaf, proof = ledger.inclusion_proof(connection, index, checkpoint.tree_size)
        merkle.verify_inclusion(index, checkpoint.tree_size, merkle.leaf_hash(entry_bytes), proof,
                                verified.checkpoint.root)
        result.in_log, result.tree_size = True, checkpoint.tree_size
        newest = ledger.latest_checkpoint(connection)
        newest_verified = _verify_checkpoint(policy, newest.text)
        consistency = ([] if newest.tree_size == checkpoint.tree_size  # same tree: the roots must be equal
                       else ledger.consistency_proof(connection, checkpoint.tree_size, newest.tree_size))
        merkle.verify_consistency(checkpoint.tree_size, newest.tree_size, verified.checkpoint.root,
                                  newest_verified.checkpoint.root, consistency)
        result.consistent, result.newest_size = True, newest.tree_size
    except (ValueError, KeyError, IndexError) as exc:
        result.problems.append(str(exc))
    return result


COLLECTIVE_NUMBER = re.compile(r"^[0-9A-Z]+-(GQ|GZ)-(\d{4})-(\d{6})$")


def verify_collective_certificate(number: str) -> tuple[Verification, tuple[str, str]] | None:
    """A collective's share certificate (GQ) or share pledge registration certificate (GZ), checked like a right's
    certificate, with its title; None when ``number`` is neither. A share certificate is current while no share
    movement of the household came after it; a pledge certificate while the pledge is not released."""
    from exchange.collectives import documents
    from exchange.collectives.models import ShareMovement, SharePledge, SharePledgeStep

    match = COLLECTIVE_NUMBER.match(number.strip())
    if match is None:
        return None
    kind, year, serial = match.group(1), int(match.group(2)), int(match.group(3))
    if kind == "GZ":
        pledge = db.session.scalar(select(SharePledge).where(SharePledge.certificate_number == number.strip()))
        if pledge is None:
            return None
        result = verify_entry(pledge.certificate_number, "share_pledge", pledge.certificate_index)
        if pledge.step == SharePledgeStep.released:
            released = pledge.events[-1].created_at.date()
            result.statuses = [Status("released", f"该质押已于 {released} 解除。", f"This pledge was released on {released}.")]
        elif pledge.end_date < date.today():
            result.statuses = [Status("expired", f"该质押已于 {pledge.end_date} 到期。",
                                      f"The pledge's term ended on {pledge.end_date}.")]
        else:
            result.statuses = [Status("valid", "该质押登记现仍有效。", "The pledge registration still stands.")]
        return result, documents.TITLES["share_pledge"]
    # share certificates are numbered by the year's count of them, county-wide: the serial-th of its year
    movement = db.session.scalar(
        select(ShareMovement).where(ShareMovement.reason == documents.SHARE_CERTIFICATE,
                                    ShareMovement.created_at >= datetime(year, 1, 1, tzinfo=timezone.utc),
                                    ShareMovement.created_at < datetime(year + 1, 1, 1, tzinfo=timezone.utc))
        .order_by(ShareMovement.id).offset(serial - 1).limit(1)) if serial > 0 else None
    if movement is None or documents.share_certificate_number(movement) != number.strip():
        return None
    result = verify_entry(number.strip(), "share_certificate", movement.ledger_index)
    if documents.current_share_certificate(movement.plan, movement.household) is movement:
        result.statuses = [Status("valid", "该股权证所载股份与股份记录一致，现仍有效。",
                                  "The shares on this certificate still match the share register.")]
    else:
        result.statuses = [Status("superseded", "该户股份此后已有变动（转让、继承、退出或新证），本证已不是现行股权证。",
                                  "The household's shares have changed since (a transfer, inheritance, exit or a newer "
                                  "certificate): this is no longer its current certificate.")]
    return result, documents.TITLES["share_certificate"]


_verifications: OrderedDict[tuple, Verification] = OrderedDict()
_VERIFICATIONS_KEPT = 4096
_verifications_lock = threading.Lock()


_newest = select(entries.c.idx, entries.c.entry).order_by(entries.c.idx.desc()).limit(1).subquery()
_STAMP = select(_newest.c.idx, _newest.c.entry, select(func.max(checkpoints.c.id)).scalar_subquery(),
                select(func.max(cosignatures.c.id)).scalar_subquery())


def log_stamp() -> tuple:
    """What an online answer depends on besides the certificate and the day, in one round trip: the log's size
    (every change to a right writes its entry in the same transaction, so an unchanged size means unchanged rights),
    the newest checkpoint and the newest cosignature."""
    row = db.session.execute(_STAMP).first()
    if row is None:
        return (None,)
    # the newest entry's hash, not only its index: another database (a test's, a restored copy) of the same size
    # is another log
    return row[0], hashlib.sha256(bytes(row[1])).digest(), row[2], row[3]


def verify_number(number: str) -> Verification:
    """``verify_certificate(by_number(number))``, answered again from memory while the log, its checkpoints, the
    policy and the day are what they were: a bank's system asks about the same certificates over and over."""
    policy = service.policy_path()
    key = (number.strip(), log_stamp(), date.today(), str(policy), policy.stat().st_mtime_ns)
    with _verifications_lock:
        kept = _verifications.get(key)
        if kept is not None:
            _verifications.move_to_end(key)
            return kept  # callers only read it
    collective = verify_collective_certificate(number)
    result = collective[0] if collective else verify_certificate(by_number(number))  # unknown: raises, nothing kept
    with _verifications_lock:
        _verifications[key] = result
        while len(_verifications) > _VERIFICATIONS_KEPT:
            _verifications.popitem(last=False)
    return result


# Why an uploaded PDF does not verify, by ledger.verify's code, in both languages (the verifier itself speaks
# English only: it runs at a bank, without the platform).
UPLOAD_REASONS = {
    "unreadable": ("文件不是可读取的 PDF，或已损坏、被截断。", "The file is not a readable PDF, or it is damaged or truncated."),
    "unsigned": ("该 PDF 没有电子签章，不是本平台出具的证明。", "The PDF carries no signature: it is not one of our certificates."),
    "signature-count": ("该 PDF 含有多个签章；本平台的证明只有一个签章。",
                        "The PDF carries several signatures; our certificates carry one."),
    "signature-invalid": ("电子签章无效。", "The PDF signature is not valid."),
    "tampered": ("PDF 在签章后被改动过（哪怕一个字节），证明无效。",
                 "The PDF was changed after it was signed (even one byte): the certificate is not valid."),
    "appended": ("PDF 在签章后被追加了内容，证明无效。", "Content was added to the PDF after it was signed."),
    "untrusted": ("电子签章不是本交易中心的证书所签，不是本平台出具的证明。",
                  "The PDF was not signed by this exchange's certificate: it is not one of our certificates."),
    "attachments-missing": ("PDF 缺少所附账本条目和包含证明，不是本平台出具的证明。",
                            "The PDF lacks the attached ledger entry and proof: it is not one of our certificates."),
    "entry-invalid": ("所附账本条目不是本平台的证明条目。", "The attached ledger entry is not a certificate entry."),
    "checkpoint-rejected": ("所附检查点未经本平台账本密钥和见证方签名认可。",
                            "The attached checkpoint is not signed by the log's keys and witnesses."),
    "proof-invalid": ("所附包含证明与检查点不符：该条目未被证明记入账本。",
                      "The attached inclusion proof does not match the checkpoint: the entry is not proved to be in the log."),
}


def verify_upload(data: bytes) -> dict:
    """Check an uploaded PDF the way the offline verifier does, with the platform's own trust bundle, then look up
    the certificate's current status. Never raises on bad input: the outcome says what is wrong."""
    from exchange.ca import ca_dir
    from ledger.verify import VerificationError, verify_pdf
    from pyhanko.keys import load_cert_from_pemder

    if not data:
        return {"valid": False, "code": "empty", "reason_zh": "请选择要核验的 PDF 文件。",
                "reason_en": "Choose a PDF file to check."}
    if len(data) > 10 * 1024 * 1024:
        return {"valid": False, "code": "too-large", "reason_zh": "文件超过 10 MB，不是本平台出具的证明。",
                "reason_en": "The file is over 10 MB; it is not one of our certificates."}
    root = load_cert_from_pemder(str(ca_dir(current_app.config["KEY_DIR"]) / "root.pem"))
    try:
        result = verify_pdf(data, service.load_policy(), root)
    except VerificationError as exc:
        zh, en = UPLOAD_REASONS.get(exc.code, ("证明未通过核验。", "The certificate does not verify."))
        return {"valid": False, "code": exc.code, "reason_zh": f"核验未通过：{zh}", "reason_en": f"Not valid: {en}",
                "detail": str(exc)}
    try:
        certificate = by_number(result.number)
    except DomainError:
        return {"valid": False, "code": "unknown-number", "reason_zh": "签章和账本证明有效，但平台找不到该编号。",
                "reason_en": "Signature and proof are valid but the number is unknown here."}
    online = verify_certificate(certificate)
    return {"valid": True, "code": "valid", "summary": result.summary(), "certificate": certificate, "online": online,
            "index": result.index, "tree_size": result.tree_size}


def trust_bundle_files() -> dict[str, bytes]:
    """What a bank installs to verify certificates offline: the policy (log keys, witness keys, quorum), the
    log's and witnesses' verifier keys, the CA root, and a README."""
    from exchange.ca import export_trust_root

    policy = service.load_policy()
    files = {
        "policy.json": policy.to_json().encode(),
        "log.vkey": (service.current_vkey() + "\n").encode(),
        "witnesses.vkey": "".join(w.verifier.vkey + "\n" for w in policy.witnesses).encode(),
        "ca-root.pem": export_trust_root(current_app.config["KEY_DIR"]),
    }
    readme = Path(current_app.root_path).parent / "templates" / "certificates" / "TRUST-BUNDLE.txt"
    if readme.exists():
        files["README.txt"] = readme.read_bytes()
    return files


def trust_bundle_zip() -> bytes:
    """The trust bundle as one zip (a folder ``trust-bundle/``), byte-stable for the same keys."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(trust_bundle_files().items()):
            info = zipfile.ZipInfo(f"trust-bundle/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
