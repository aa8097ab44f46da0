"""Public verification (/verify: by number, by QR link, by uploading the PDF) and certificate downloads."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from exchange.access import may
from exchange.certificates import operations as certs
from exchange.certificates.models import KIND_TITLES
from exchange.db import db
from exchange.errors import DomainError
from exchange.extensions import csrf

bp = Blueprint("certificates", __name__)
MAX_UPLOAD = 10 * 1024 * 1024


def _locale() -> str:
    return str(get_locale() or "zh_CN")


@bp.get("/verify")
def verify_form():
    number = request.args.get("number", "").strip()
    if number:
        return verify_number(number)
    return render_template("verify/index.html", result=None, upload=None, locale=_locale())


@bp.get("/verify/<number>")
def verify_number(number: str):
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
    """The signed PDF: for staff within the right's jurisdiction and for banks."""
    certificate = certs.by_number(number)
    if not (may(current_user, "registry.view", certificate.right.division) or current_user.role.value == "bank"):
        abort(403)
    pdf = certs.render_certificate(certificate)
    db.session.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={number}.pdf"})
