"""The contract as a document: its digest, its HTML and its PDF.

``contract_digest`` is what each party accepts: SHA-256 over the RFC 8785 canonical JSON of the contract number
and the terms (the same canonical form the ledger hashes), so the hash recorded with an acceptance identifies
exactly the terms printed. The PDF carries that JSON as an attachment, so anyone can recompute the digest
from the document alone.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app

from contracts.kinds import KINDS
from contracts.schedule import rent_schedule, schedule_total
from contracts.terms import ContractTerms
from contracts.text import (
    PARTY_KIND_NAMES, cn_date, describe_area, describe_payment, describe_price, describe_term, describe_use,
    duration, money, rmb_upper,
)
from exchange.pdf import Attachment, qr_data_uri, render_pdf
from ledger.entry import canonical

DIGEST_VERSION = 1
SIGNING_PARTIES = ("transferor", "transferee", "collective")
TERMS_ATTACHMENT = "contract-terms.json"
BOUNDARY_NAMES = (("east", "东至"), ("south", "南至"), ("west", "西至"), ("north", "北至"))


def digest_payload(terms: ContractTerms, number: str) -> bytes:
    """The exact bytes the digest is taken over (RFC 8785 canonical JSON)."""
    return canonical({"v": DIGEST_VERSION, "number": number, "terms": terms.to_json()})


def contract_digest(terms: ContractTerms, number: str) -> str:
    """SHA-256 (hex) of the canonical terms: what a party's acceptance, and the ledger, record."""
    return hashlib.sha256(digest_payload(terms, number)).hexdigest()


def _timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("EXCHANGE_TIMEZONE") or current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _signature_blocks(terms: ContractTerms, digest: str, signatures: Iterable[Mapping]) -> list[dict]:
    kind = KINDS[terms.kind]
    by_party: dict[str, list[dict]] = {party: [] for party in SIGNING_PARTIES}
    zone = _timezone()
    for signature in signatures:
        party = signature["party"]
        if party not in by_party:
            raise ValueError(f"signature party {party!r}: use one of {', '.join(SIGNING_PARTIES)}")
        at = signature["at"]
        if not isinstance(at, datetime):
            raise ValueError(f"a signature's 'at' is a datetime, not {at!r}")
        if at.tzinfo is None:  # SQLite gives DateTime(timezone=True) columns back naive; they hold UTC
            at = at.replace(tzinfo=timezone.utc)
        local = at.astimezone(zone)
        offset = local.strftime("%z")
        by_party[party].append({
            "account": str(signature["account"]),
            "at": f"{local:%Y-%m-%d %H:%M:%S}（UTC{offset[:3]}:{offset[3:]}）",
            "digest": str(signature["digest"]),
            "matches": signature["digest"] == digest,
        })
    blocks = [
        {"party": "transferor", "label": kind.party_labels[0], "name": terms.transferor.name,
         "representative": terms.transferor.representative, "accepted": by_party["transferor"]},
        {"party": "transferee", "label": kind.party_labels[1], "name": terms.transferee.name,
         "representative": terms.transferee.representative, "accepted": by_party["transferee"]},
    ]
    if kind.asset in ("parcel", "homestead") or by_party["collective"]:
        blocks.append({"party": "collective", "label": "发包方（集体经济组织）备案", "name": terms.issuer,
                       "representative": "", "accepted": by_party["collective"]})
    return blocks


def contract_data(terms: ContractTerms, *, number: str, signatures: Iterable[Mapping] = ()) -> dict:
    """Everything the template shows, as plain data (strings, numbers, dates, lists and dicts)."""
    kind = KINDS[terms.kind]
    digest = contract_digest(terms, number)
    schedule = rent_schedule(terms)
    asset = terms.asset
    in_kind = terms.payment.in_kind
    total = schedule_total(schedule)
    return {
        "number": number, "kind": kind.code, "title_en": kind.title_en, "exchange": current_app.config["EXCHANGE_NAME"],
        "place": current_app.config["EXCHANGE_PLACE"], "mode": terms.mode, "right_number": terms.right_number,
        "parties": [
            {"label": label, "name": party.name, "kind": PARTY_KIND_NAMES[party.kind], "id_masked": party.id_masked,
             "address": party.address, "representative": party.representative}
            for label, party in zip(kind.party_labels, (terms.transferor, terms.transferee), strict=True)],
        "issuer": terms.issuer,
        "asset": {"code": asset.code, "name": asset.name, "location": asset.location,
                  "area_m2": asset.area_m2, "area_mu": asset.area_mu, "area": describe_area(asset),
                  "quality_grade": asset.quality_grade, "land_use": asset.land_use,
                  "boundaries": [{"label": label, "value": asset.boundaries[key]}
                                 for key, label in BOUNDARY_NAMES if asset.boundaries.get(key)],
                  "description": asset.description, "shares": asset.shares},
        "start": cn_date(terms.start), "end": cn_date(terms.end), "duration": duration(terms.start, terms.end),
        "term": describe_term(terms), "use": describe_use(terms), "price": describe_price(terms),
        "payment": describe_payment(terms), "amount": money(terms.amount), "amount_upper": rmb_upper(terms.amount),
        "schedule": [{"number": row.number, "period": f"{cn_date(row.period_start)}—{cn_date(row.period_end)}",
                      "due": cn_date(row.due), "amount": money(row.amount),
                      "in_kind_kg": row.in_kind_kg, "note": row.note} for row in schedule],
        "schedule_total": money(total), "schedule_total_upper": rmb_upper(total),
        "schedule_kg": sum((row.in_kind_kg for row in schedule), Decimal("0.00")) if in_kind else None,
        "crop": in_kind.crop if in_kind else "",
        "deposit_applied": money(terms.deposit_applied) if terms.deposit_applied else "",
        "clauses": {name: _paragraphs(getattr(terms, name)) for name in
                    ("rights_and_duties", "expropriation", "liability", "dispute_resolution", "other_terms")},
        "signatures": _signature_blocks(terms, digest, signatures),
        "digest": digest,
    }


def _template(terms: ContractTerms) -> str:
    return KINDS[terms.kind].template


def contract_html(terms: ContractTerms, *, number: str, signatures: Iterable[Mapping] = ()) -> str:
    """The contract as HTML (the page the PDF is printed from), e.g. for review before signing."""
    data = contract_data(terms, number=number, signatures=signatures)
    template = current_app.jinja_env.get_template(f"contracts/{_template(terms)}/document.html")
    return template.render(**data, title=KINDS[terms.kind].title_zh, lang="zh-CN", qr_data_uri=qr_data_uri)


def contract_pdf(terms: ContractTerms, *, number: str, signatures: Iterable[Mapping] = (),
                 issued_at: datetime | None = None) -> bytes:
    """The contract as PDF/A-3b (unsigned; ``exchange.pdf.sign_pdf`` seals it), with the canonical terms
    attached as ``contract-terms.json``. With ``issued_at`` the same inputs render to the same bytes."""
    if issued_at is not None and issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone")
    data = contract_data(terms, number=number, signatures=signatures)
    kind = KINDS[terms.kind]
    return render_pdf(_template(terms), data, title=kind.title_zh, family="contracts", issued_at=issued_at,
                      attachments=[Attachment(TERMS_ATTACHMENT, digest_payload(terms, number),
                                              "合同条款（RFC 8785 规范 JSON，其 SHA-256 即合同文本摘要） "
                                              "contract terms, canonical JSON whose SHA-256 is the digest",
                                              "application/json", "Source")])
