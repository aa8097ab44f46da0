"""Public verification (/verify: by number, by QR link, by uploading the PDF), the trust bundle banks install,
and certificate downloads."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange.access import may
from exchange.accounts.models import Role
from exchange.audit.models import Outcome
from exchange.audit.operations import record_refusal
from exchange.certificates import operations as certs
from exchange.certificates.models import KIND_TITLES
from exchange.db import db
from exchange.errors import DomainError
from exchange.extensions import csrf
from exchange.registry.models import Right

bp = Blueprint("certificates", __name__)
MAX_UPLOAD = 10 * 1024 * 1024


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def holds(account, right: Right) -> bool:
    """Whether a bidder account acts for a household or organisation that holds ``right``."""
    from exchange.transfers.models import BidderProfile

    profile = db.session.scalar(select(BidderProfile).where(BidderProfile.account_id == account.id))
    if profile is None:
        return False
    return any((profile.household_id is not None and h.household_id == profile.household_id)
               or (profile.organisation_id is not None and h.organisation_id == profile.organisation_id)
               for h in right.holders)


def require_obtain(right: Right, action: str, object_type: str, object_id) -> None:
    """Certificates (PDFs, extracts) of a right go to banks, to staff whose jurisdiction holds the right and to
    the right's holders; anyone else is refused with 403 (401 when not signed in) and the refusal is logged."""
    if not current_user.is_authenticated:
        abort(401)
    if (current_user.role == Role.bank or may(current_user, "registry.view", right.division)
            or (current_user.role == Role.bidder and holds(current_user, right))):
        return
    record_refusal(action, Outcome.denied, object_type, object_id,
                   detail={"division": right.division.code, "role": current_user.role.value})
    abort(403, description=_("证明只提供给银行、权利人和辖区内的工作人员；该权利位于“%(place)s”。",
                             place=right.division.full_name))


@bp.get("/verify")
def verify_form():
    number = request.args.get("number", "").strip()
    if number:
        return verify_number(number)
    return render_template("verify/index.html", result=None, upload=None, locale=_locale())


@bp.get("/verify/trust-bundle.zip")
def trust_bundle():
    """The trust bundle (policy, verifier keys, CA root) for offline verification; public, like the keys."""
    return Response(certs.trust_bundle_zip(), mimetype="application/zip",
                    headers={"Content-Disposition": "attachment; filename=trust-bundle.zip"})


@bp.get("/verify/<number>")
def verify_number(number: str):
    collective = certs.verify_collective_certificate(number)
    if collective is not None:  # a collective's share certificate or share pledge certificate
        result, title = collective
        db.session.commit()
        return render_template("verify/index.html", result=result, certificate=None, upload=None, number=number,
                               title=title, locale=_locale())
    try:
        certificate = certs.by_number(number)
    except DomainError as error:
        return render_template("verify/index.html", result=None, upload=None, error=error.message(_locale()),
                               number=number, locale=_locale()), 404
    result = certs.verify_certificate(certificate)
    db.session.commit()
    return render_template("verify/index.html", result=result, certificate=certificate, upload=None,
                           title=KIND_TITLES[certificate.kind], locale=_locale())


@bp.post("/verify")
@csrf.exempt  # anyone may upload a PDF to check it; nothing is stored or changed
def verify_upload():
    upload = request.files.get("pdf")
    data = upload.read(MAX_UPLOAD + 1) if upload else b""
    outcome = certs.verify_upload(data)
    db.session.commit()
    return render_template("verify/index.html", result=outcome.get("online"), upload=outcome,
                           certificate=outcome.get("certificate"), locale=_locale(),
                           title=KIND_TITLES[outcome["certificate"].kind] if outcome.get("certificate") else None), \
        200 if outcome["valid"] else 422


@bp.get("/certificates/<number>.pdf")
@login_required
def download(number: str):
    """The signed PDF: for banks, the right's holders and staff within the right's jurisdiction."""
    certificate = certs.by_number(number)
    require_obtain(certificate.right, "certificate.download", "certificate", number)
    pdf = certs.render_certificate(certificate)
    db.session.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={number}.pdf"})
