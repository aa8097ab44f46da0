"""PDFs of the books: a resolution record (决议), a household's share certificate (股权证), a distribution's payout
list (分红发放表), a household's dividend statement (分红对账单) and the asset ledger (资产台账) as of a date.

Each is rendered by ``exchange.pdf.render_pdf`` from plain data read from its ledger entry — the resolution's vote,
the share certificate's own entry, the distribution — and signed like a certificate (``exchange.pdf.sign_pdf``).
A signed PDF is kept in the instance folder under the hash of what it shows, so every copy is the same file.

A share certificate is issued: its facts go into a ledger entry of kind "certificate" (so ``python -m ledger.verify``
checks the PDF offline, like any certificate) and a zero share movement marks it in the household's share history.
The other three are renderings of entries that already exist. A household's statement names no other household:
it shows the distribution's ledger index and leaf hash, not the entry, which lists every household's payout.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from exchange.certificates.operations import covering_checkpoint, verify_url
from exchange.collectives.models import (
    TWO_THIRDS_KINDS, Distribution, InventoryRun, Motion, MotionKind, ShareMovement, SharePlan,
)
from exchange.collectives.operations import asset_ledger, share_balances
from exchange.db import db
from exchange.errors import DomainError
from exchange.ledger_app import service
from exchange.pdf import Attachment, keep, render_pdf, sign_pdf
from exchange.registry.models import Collective, Household
from ledger import merkle
from ledger.entry import decode
from ledger.tlogproof import TlogProof
from ledger.verify import ENTRY_NAME, PROOF_NAME

SHARE_CERTIFICATE = "certificate"  # ShareMovement.reason (and share_type) of a share certificate's zero movement
SHARE_CERTIFICATE_PREFIX = "GQ"  # 股权证, beside the certificates' JZ, DY and CX
TITLES = {
    "resolution": ("集体经济组织决议", "Resolution of the collective economic organization"),
    "share_certificate": ("股权证", "Share certificate"),
    "payout_list": ("收益分配发放表", "Dividend payout list"),
    "statement": ("分红对账单", "Household dividend statement"),
    "asset_ledger": ("集体资产台账", "Collective asset ledger"),
    "share_pledge": ("股权质押登记证明", "Share pledge registration certificate"),
}
# Literal Chinese (no gettext), as on every certificate: a document reads the same whatever the reader's language.
MEETING_NAMES = {"assembly": "成员大会", "representatives": "成员代表会议"}
MOTION_NAMES = {
    "membership": "成员身份确认", "asset_lease": "集体资产出租、发包", "asset_disposal": "集体资产处分",
    "construction_land": "集体经营性建设用地出让、出租", "outsider_contract": "发包给本集体以外的单位或个人",
    "share_plan": "股份量化方案", "share_exit": "股权有偿退出", "distribution": "收益分配方案", "other": "其他事项",
}
SHARE_TYPE_NAMES = {"population": "人口股", "labour_age": "劳龄股", "collective": "集体股", "mixed": "继承、转让或退出"}
ASSET_CLASS_NAMES = {"resource": ("资源性资产", "Resource assets"), "operating": ("经营性资产", "Operating assets"),
                     "non_operating": ("非经营性资产", "Non-operating assets")}
ASSET_STATUS_NAMES = {"idle": "闲置", "in_use": "在用", "leased": "出租"}
PART_NAMES = {"reserve": "公积公益金 Reserve", "welfare": "福利费 Welfare", "management": "管理费 Management",
              "dividends": "股东分红 Dividends"}


class DocumentNotFound(DomainError):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__("DOCUMENT-NONE", zh, en, status=404)


def _masked(name: str) -> str:
    """A person's name as certificates print it (张*三): the PDF may travel beyond the collective."""
    return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


def _entry(index: int) -> tuple[bytes, dict]:
    raw = service.store().entries(db.session.connection(), index, index + 1)[0][1]
    return raw, decode(raw)


def _issued(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))


def _ledger_facts(index: int, raw: bytes, *, with_entry: bool = True,
                  number: str | None = None) -> tuple[dict, list[Attachment]]:
    """What ``certificates/_base.html`` shows of the ledger, and the entry and its proof as attachments. A numbered
    certificate's QR code opens its page on /verify (with its current status); other documents open their entry."""
    base = current_app.config['PUBLIC_BASE_URL'].rstrip('/')
    checkpoint = covering_checkpoint(index)
    _leaf, proof = service.store().inclusion_proof(db.session.connection(), index, checkpoint.tree_size)
    issued = _issued(decode(raw))
    facts = {"issuer": current_app.config["EXCHANGE_NAME"], "origin": service.store().origin, "index": index,
             "tree_size": checkpoint.tree_size, "leaf_hash": merkle.leaf_hash(raw).hex(),
             "entry_text": raw.decode("utf-8") if with_entry else "", "checkpoint_text": checkpoint.text,
             "issued": issued.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "verify_url": verify_url(number) if number else f"{base}/transparency?index={index}"}
    if not with_entry:
        return facts, []
    tlog = TlogProof(index, proof, checkpoint.text)
    return facts, [
        Attachment(ENTRY_NAME, raw, "Ledger entry (RFC 8785 canonical JSON, exactly the hashed bytes)",
                   "application/json", "Source"),
        Attachment(PROOF_NAME, tlog.encode().encode(), "C2SP tlog-proof: inclusion proof and signed checkpoint",
                   "text/plain", "Supplement"),
    ]


def _signed(stem: str, template: str, data: dict, attachments: list[Attachment], issued: datetime) -> bytes:
    """Render, sign and keep; a later request for the same facts gets the same file."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()
                            + b"".join(a.data for a in attachments)).hexdigest()[:16]
    path = Path(current_app.instance_path) / "collectives" / f"{stem}-{digest}.pdf"
    if path.exists():
        return path.read_bytes()
    title = TITLES[template][0]
    pdf = render_pdf(f"collective_{template}", data, title=title, issued_at=issued, attachments=attachments)
    signed = sign_pdf(pdf, reason=f"{title} {data['number']}", location=current_app.config["EXCHANGE_PLACE"])
    return keep(path, signed)


def _row(label: str, value) -> dict:
    return {"label": label, "value": str(value)}


# --- resolution record ---------------------------------------------------------------------------------------


def resolution_pdf(collective: Collective, motion: Motion) -> bytes:
    """决议 with its vote counts, from the vote's ledger entry: what a listing of a collective asset attaches."""
    if not motion.passed or motion.ledger_index is None or motion.meeting.collective_id != collective.id:
        raise DocumentNotFound("该议题未形成决议（未通过或不属于本集体），没有决议文书。",
                               "This motion is not a resolution of this collective: there is no record to print.")
    raw, entry = _entry(motion.ledger_index)
    vote, meeting, item = entry["data"]["votes"], entry["data"]["meeting"], entry["data"]["motion"]
    ledger, attachments = _ledger_facts(motion.ledger_index, raw)
    needed = -(-2 * meeting["eligible"] // 3)
    rule = (f"须经应到成员（代表）三分之二以上同意，至少 {needed} 票（COLLECTIVE-2-3）"
            if MotionKind(item["kind"]) in TWO_THIRDS_KINDS else "须经到会人员过半数同意")
    data = {**ledger, "number": entry["data"]["resolution_number"], "title_en": TITLES["resolution"][1],
            "collective": collective.name, "motion_title": item["title"],
            "rows": [_row("集体经济组织 Collective", f"{collective.name}（{collective.credit_code}）"),
                     _row("会议 Meeting", f"{MEETING_NAMES[meeting['kind']]}，{meeting['held_on']}"),
                     _row("议题 Motion", item["title"]),
                     _row("事项类型 Matter", MOTION_NAMES.get(item["kind"], item["kind"])),
                     _row("应到 Entitled to vote", f"{meeting['eligible']} 人"),
                     _row("实到 Present", f"{meeting['attendees']} 人"),
                     _row("同意 For", f"{vote['for']} 票"),
                     _row("反对 Against", f"{vote['against']} 票"),
                     _row("弃权 Abstaining", f"{vote['abstentions']} 票"),
                     _row("表决规则 Rule", rule),
                     _row("表决结果 Result", "通过 Passed" if entry["data"]["passed"] else "未通过 Not passed")]}
    return _signed(f"resolution-{motion.id}", "resolution", data, attachments, _issued(entry))


# --- share certificates --------------------------------------------------------------------------------------


def _movements(plan: SharePlan, household: Household) -> list[ShareMovement]:
    return list(db.session.scalars(select(ShareMovement).where(ShareMovement.plan_id == plan.id,
                                                               ShareMovement.household_id == household.id)
                                   .order_by(ShareMovement.id)))


def current_share_certificate(plan: SharePlan, household: Household) -> ShareMovement | None:
    """The household's newest share certificate, if no share movement came after it (otherwise it is out of date)."""
    newest = None
    for movement in _movements(plan, household):
        newest = movement if movement.reason == SHARE_CERTIFICATE else None
    return newest


def share_register(plan: SharePlan) -> dict[int, dict]:
    """household id → {"issued": ever had a certificate, "current": the certificate still matching its shares}."""
    register: dict[int, dict] = {}
    for movement in db.session.scalars(select(ShareMovement).where(ShareMovement.plan_id == plan.id,
                                                                   ShareMovement.household_id.is_not(None))
                                       .order_by(ShareMovement.id)):
        item = register.setdefault(movement.household_id, {"issued": False, "current": None})
        if movement.reason == SHARE_CERTIFICATE:
            item["issued"], item["current"] = True, movement
        else:
            item["current"] = None
    return register


def share_certificate_number(movement: ShareMovement) -> str:
    return _entry(movement.ledger_index)[1]["data"]["certificate"]["number"]


def share_certificate_facts(movement: ShareMovement) -> dict:
    """Number, household and shares of a share certificate, as its ledger entry holds them."""
    data = _entry(movement.ledger_index)[1]["data"]
    return {"number": data["certificate"]["number"], "household": movement.household.code,
            "shares": data["facts"]["shares"], "ledger_index": movement.ledger_index}


def issue_share_certificate(plan: SharePlan, household: Household) -> ShareMovement:
    """股权证: the household's shares as they stand, written to the ledger as a certificate entry. Flushes."""
    if household.collective_id != plan.collective_id:
        raise DomainError("HOUSEHOLD-UNKNOWN", "该农户不属于本集体经济组织。", "The household is not of this collective.",
                          field="household")
    held = share_balances(plan).get(household.id, Decimal(0))
    if held <= 0:
        raise DomainError("SHARE-CERT-NONE", f"农户 {household.code} 现不持有本集体股份，不出具股权证。",
                          f"Household {household.code} holds no shares: no certificate is issued.", field="household")
    current = current_share_certificate(plan, household)
    if current is not None:
        number = share_certificate_number(current)
        raise DomainError("SHARE-CERT-CURRENT", f"该户股权证 {number} 仍与股份记录一致，不重复出具；请下载原证。",
                          f"Certificate {number} still matches the household's shares; download it instead.",
                          field="household", status=409)
    ledger = service.store()
    ledger.lock(db.session.connection())  # count under the append lock, so two issues cannot share a number
    now = datetime.now(timezone.utc)
    prefix = f"{current_app.config['CERTIFICATE_NUMBER_PREFIX']}-{SHARE_CERTIFICATE_PREFIX}-{now.year}-"
    issued_this_year = db.session.scalar(select(func.count()).select_from(ShareMovement).where(
        ShareMovement.reason == SHARE_CERTIFICATE, ShareMovement.created_at >= datetime(now.year, 1, 1, tzinfo=timezone.utc)))
    number = f"{prefix}{issued_this_year + 1:06d}"
    by_type: dict[str, Decimal] = {}
    for movement in _movements(plan, household):
        by_type[movement.share_type] = by_type.get(movement.share_type, Decimal(0)) + movement.delta
    collective = plan.collective
    value = (plan.quantified_value * held / plan.total_shares).quantize(Decimal("0.01"))
    rows = [_row("集体经济组织 Collective", f"{collective.name}（{collective.credit_code}）"),
            _row("持股户 Household", f"{household.code}（户主 {_masked(household.head_name)}）"),
            _row("持有股数 Shares held", f"{held} 股"),
            _row("股份构成 By type", "；".join(f"{SHARE_TYPE_NAMES.get(k, k)} {v}" for k, v in sorted(by_type.items())
                                                if v and k != SHARE_CERTIFICATE)),
            _row("占总股本 Of all shares", f"{(held * 100 / plan.total_shares).quantize(Decimal('0.0001'))}%"
                                           f"（总股本 {plan.total_shares} 股）"),
            _row("折合量化资产 Asset value", f"{value} 元（量化资产净值 {plan.quantified_value} 元）"),
            _row("量化方案 Plan", f"截止日 {plan.cutoff_on}，决议 {plan.motion.resolution_number}")]
    index = _record_certificate("share_certificate", number, household, collective, plan.ledger_index, rows, held,
                                now)
    movement = ShareMovement(plan=plan, household=household, share_type=SHARE_CERTIFICATE, delta=Decimal(0),
                             reason=SHARE_CERTIFICATE, ledger_index=index)
    db.session.add(movement)
    db.session.flush()
    return movement


def _record_certificate(kind: str, number: str, household: Household, collective: Collective, subject_entry: int,
                        rows: list[dict], shares: Decimal, now: datetime, by: dict | None = None) -> int:
    """A household's certificate (share certificate, share pledge certificate) as its own ledger entry, holding every
    fact its PDF shows: what the PDF is rendered from and what /verify checks."""
    return service.record("certificate", [{"type": "household", "id": household.code},
                                          {"type": "collective", "id": collective.credit_code},
                                          {"type": "certificate", "id": number}],
                          {"certificate": {"number": number, "kind": kind, "title": TITLES[kind][0],
                                           "title_en": TITLES[kind][1]},
                           "subject_entry": subject_entry,
                           "facts": {"rows": rows, "as_of": now.date().isoformat(), "shares": str(shares)}}, by=by)


def _certificate_pdf(stem: str, kind: str, index: int) -> bytes:
    """The signed PDF of a certificate entry written by ``_record_certificate``."""
    raw, entry = _entry(index)
    info = entry["data"]["certificate"]
    ledger, attachments = _ledger_facts(index, raw, number=info["number"])
    data = {**ledger, "number": info["number"], "title_en": info["title_en"], "rows": entry["data"]["facts"]["rows"],
            "as_of": entry["data"]["facts"]["as_of"]}
    return _signed(stem, kind, data, attachments, _issued(entry))


def share_certificate_pdf(movement: ShareMovement) -> bytes:
    return _certificate_pdf(f"share-certificate-{movement.id}", "share_certificate", movement.ledger_index)


# --- payout list and statement -------------------------------------------------------------------------------


def _distribution_facts(distribution: Distribution, entry: dict) -> list[dict]:
    data = entry["data"]
    return [_row("集体经济组织 Collective", f"{distribution.collective.name}（{distribution.collective.credit_code}）"),
            _row("年度 Year", data["year"]),
            _row("分配决议 Resolution", data["resolution"]["number"]),
            _row("可分配收入 Distributable income", f"{data['distributable']} 元"),
            *(_row(PART_NAMES[k], f"{data['percentages'][k]}% · {data['allocations'][k]} 元") for k in PART_NAMES),
            _row("每股分红 Dividend per share", f"{distribution.per_share} 元")]


def payout_list_pdf(distribution: Distribution) -> bytes:
    """分红发放表: every holder's shares and dividend, summing exactly to the dividends; for the collective's staff."""
    raw, entry = _entry(distribution.ledger_index)
    ledger, attachments = _ledger_facts(distribution.ledger_index, raw)
    amounts = entry["data"]["payouts"]
    payouts = []
    for payout in distribution.payouts:
        code = payout.household.code if payout.household else "collective"
        payouts.append({"code": code if payout.household else "—",
                        "name": payout.household.head_name if payout.household else "集体股 Collective shares",
                        "shares": payout.shares, "amount": amounts[code]})
    payouts.sort(key=lambda p: (p["code"] == "—", p["code"]))
    data = {**ledger, "number": f"{distribution.collective.division.code}-FP-{distribution.year}",
            "title_en": TITLES["payout_list"][1], "rows": _distribution_facts(distribution, entry),
            "payouts": payouts, "total_shares": sum((p["shares"] for p in payouts), Decimal(0)),
            "total": sum((Decimal(p["amount"]) for p in payouts), Decimal(0))}
    return _signed(f"payouts-{distribution.id}", "payout_list", data, attachments, _issued(entry))


def statement(distribution: Distribution, household_code: str) -> dict:
    """One household's dividend, from the distribution's entry, and nothing of any other household."""
    payout = next((p for p in distribution.payouts if p.household and p.household.code == household_code), None)
    if payout is None:
        raise DocumentNotFound(f"{distribution.year} 年度分配中没有承包方编码为 {household_code} 的农户。",
                               f"No household {household_code} in the {distribution.year} distribution.")
    _raw, entry = _entry(distribution.ledger_index)
    data = entry["data"]
    return {"collective": distribution.collective.name, "year": distribution.year,
            "household": payout.household.code, "head": payout.household.head_name, "shares": payout.shares,
            "amount": Decimal(data["payouts"][payout.household.code]), "per_share": distribution.per_share,
            "resolution": data["resolution"]["number"], "distributable": Decimal(data["distributable"]),
            "dividends": Decimal(data["allocations"]["dividends"]), "ledger_index": distribution.ledger_index}


def statement_pdf(distribution: Distribution, household_code: str) -> bytes:
    facts = statement(distribution, household_code)
    raw, entry = _entry(distribution.ledger_index)
    ledger, _none = _ledger_facts(distribution.ledger_index, raw, with_entry=False)
    data = {**ledger, "number": f"{distribution.collective.division.code}-FP-{distribution.year}-{household_code[-4:]}",
            "title_en": TITLES["statement"][1], "statement": facts,
            "rows": [_row("集体经济组织 Collective", f"{distribution.collective.name}"),
                     _row("年度 Year", distribution.year),
                     _row("承包方编码 Household", facts["household"]),
                     _row("户主 Head of household", facts["head"]),
                     _row("本户股数 Shares held", f"{facts['shares']} 股"),
                     _row("每股分红 Dividend per share", f"{facts['per_share']} 元"),
                     _row("本户分红 Dividend", f"{facts['amount']} 元"),
                     _row("分配决议 Resolution", facts["resolution"]),
                     _row("全村可分配收入 Distributable income", f"{facts['distributable']} 元"),
                     _row("全村股东分红 All dividends", f"{facts['dividends']} 元")]}
    return _signed(f"statement-{distribution.id}-{household_code}", "statement", data, [], _issued(entry))


# --- asset ledger --------------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value).quantize(Decimal('0.01'))}"


def asset_ledger_facts(collective: Collective, as_of) -> dict:
    """台账 as of a date in three classes with subtotals, each figure with the inventory (清产核资) it comes from:
    plain data for the PDF (and for tests). Refused when no inventory was taken on or before the date."""
    rows = asset_ledger(collective, as_of)
    used = sorted({r["inventory_index"] for r in rows if r["inventory_index"] is not None})
    runs = list(db.session.scalars(select(InventoryRun).where(InventoryRun.collective_id == collective.id,
                                                              InventoryRun.ledger_index.in_(used))
                                   .order_by(InventoryRun.as_of, InventoryRun.id)))
    if not runs:
        first = db.session.scalar(select(func.min(InventoryRun.as_of)).where(InventoryRun.collective_id == collective.id))
        later = f"最早一次为 {first}" if first else "本集体尚无清产核资记录"
        raise DocumentNotFound(f"{as_of} 及以前没有清产核资记录（{later}），台账 PDF 以清产核资结果为据，请选择其后的日期。",
                               f"No inventory on or before {as_of} "
                               f"({f'the first is of {first}' if first else 'the collective has none yet'}); "
                               "the asset ledger PDF states inventoried figures, choose a later date.")
    classes, total_book, total_appraised = [], Decimal(0), Decimal(0)
    for code, (name_zh, name_en) in ASSET_CLASS_NAMES.items():
        items = [r for r in rows if r["class"] == code]
        book = sum((Decimal(r["book_value"] or 0) for r in items), Decimal(0))
        appraised = sum((Decimal(r["appraised_value"]) for r in items if r["appraised_value"] is not None), Decimal(0))
        total_book, total_appraised = total_book + book, total_appraised + appraised
        classes.append({"code": code, "name": f"{name_zh} {name_en}", "count": len(items),
                        "book": _money(book), "appraised": _money(appraised),
                        "rows": [{"code": r["code"], "name": r["name"], "category": r["category"],
                                  "area_m2": _money(r["area_m2"]) if r["area_m2"] is not None else "—",
                                  "book": _money(r["book_value"]), "appraised": _money(r["appraised_value"]),
                                  "status": ASSET_STATUS_NAMES.get(r["status"], r["status"]),
                                  "finding": r["finding"] or "",
                                  "inventory": (f"{r['inventory']} · #{r['inventory_index']}" if r["inventory"]
                                                else "未清查，按登记账面")} for r in items]})
    return {"number": f"{collective.division.code}-TZ-{as_of.isoformat()}", "as_of": as_of.isoformat(),
            "collective": f"{collective.name}（{collective.credit_code}）", "classes": classes,
            "total_book": _money(total_book), "total_appraised": _money(total_appraised), "count": len(rows),
            "runs": [{"as_of": run.as_of.isoformat(), "index": run.ledger_index, "findings": run.findings,
                      "items": len(run.items)} for run in runs]}


def asset_ledger_pdf(collective: Collective, as_of) -> bytes:
    """资产台账 as a signed PDF. Its ledger section is the newest inventory the figures come from (entry and proof
    attached), so a reader can check the figures against the log."""
    facts = asset_ledger_facts(collective, as_of)
    newest = max(facts["runs"], key=lambda run: run["index"])["index"]
    raw, entry = _entry(newest)
    ledger, attachments = _ledger_facts(newest, raw)
    data = {**ledger, **facts, "entry_text": "", "title_en": TITLES["asset_ledger"][1],
            "rows": [_row("集体经济组织 Collective", facts["collective"]), _row("截至日期 As of", facts["as_of"]),
                     _row("资产项数 Assets", f"{facts['count']} 项"),
                     _row("账面价值合计 Book value", f"{facts['total_book']} 元"),
                     _row("评估价值合计 Appraised value", f"{facts['total_appraised']} 元")]}
    return _signed(f"asset-ledger-{collective.id}-{as_of.isoformat()}", "asset_ledger", data, attachments,
                   _issued(entry))


# --- share pledge registration certificate -------------------------------------------------------------------

SHARE_PLEDGE_PREFIX = "GZ"  # 股权质押登记证明


def issue_share_pledge_certificate(pledge, rank: int, pledge_index: int, who: dict) -> tuple[str, int]:
    """股权质押登记证明: the registered pledge's facts as a certificate entry (offline-verifiable like any certificate).
    Returns its number and ledger index. Flushes nothing of its own; the caller stores both on the pledge."""
    from exchange.collectives.models import SharePledge

    ledger = service.store()
    ledger.lock(db.session.connection())  # count under the append lock, so two registrations cannot share a number
    now = datetime.now(timezone.utc)
    prefix = f"{current_app.config['CERTIFICATE_NUMBER_PREFIX']}-{SHARE_PLEDGE_PREFIX}-{now.year}-"
    issued = db.session.scalar(select(func.count()).select_from(SharePledge).where(
        SharePledge.certificate_number.like(f"{prefix}%")))
    number = f"{prefix}{issued + 1:06d}"
    plan, household, collective = pledge.plan, pledge.household, pledge.plan.collective
    held = share_balances(plan).get(household.id, Decimal(0))
    basis = pledge.valuation_basis
    how = (f"按量化方案每股净值 {basis['per_share']} 元 × {pledge.shares} 股" if basis.get("method") == "shares"
           else f"评估机构 {basis.get('appraiser')} 评估")
    earlier = _earlier_pledges(pledge)
    rows = [_row("集体经济组织 Collective", f"{collective.name}（{collective.credit_code}）"),
            _row("出质人 Pledgor (household)", f"{household.code}（户主 {_masked(household.head_name)}）"),
            _row("质权人 Pledgee", pledge.bank.name),
            _row("出质股数 Shares pledged", f"{pledge.shares} 股（该户持有 {held} 股，总股本 {plan.total_shares} 股）"),
            _row("质押物价值 Value", f"{pledge.valuation} 元（{how}）"),
            _row("担保债权 Loan secured", f"{pledge.loan_amount} 元"),
            _row("质押期限 Term", f"{pledge.start_date} 至 {pledge.end_date}"),
            _row("质押合同 Contract", pledge.contract_number),
            _row("出质人书面同意 Consent", f"{pledge.consent['document']}，{pledge.consent['signed_on']} 签署"),
            _row("顺位 Rank", f"第 {rank} 顺位" + (f"（在先：{'；'.join(earlier)}）" if earlier else "（无在先质押）")),
            _row("量化方案 Plan", f"截止日 {plan.cutoff_on}，决议 {plan.motion.resolution_number}"),
            _row("登记依据 Registration entry", f"账本第 {pledge_index} 条")]
    index = _record_certificate("share_pledge", number, household, collective, pledge_index, rows, pledge.shares, now,
                                by=who)
    return number, index


def _earlier_pledges(pledge) -> list[str]:
    from exchange.collectives.operations import active_share_pledges

    return [f"{p.bank.name} {p.shares} 股 {p.certificate_number}" for p in active_share_pledges(pledge.plan, pledge.household)
            if p.id != pledge.id]


def share_pledge_pdf(pledge) -> bytes:
    """The registered pledge's certificate, from its own ledger entry, signed."""
    if pledge.certificate_index is None:
        raise DocumentNotFound("该股权质押尚未登记，没有登记证明。", "This share pledge is not registered: no certificate.")
    return _certificate_pdf(f"share-pledge-{pledge.id}", "share_pledge", pledge.certificate_index)
