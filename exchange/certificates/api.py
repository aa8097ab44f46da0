"""``/api/v1/verify`` (public) and ``/api/v1/certificates`` (issue an extract, fetch a PDF)."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from exchange.audit import operations as audit
from exchange.certificates import operations as certs
from exchange.certificates.models import CertificateKind
from exchange.db import db
from exchange.certificates.views import require_obtain
from exchange.registry import queries as registry_queries

blp = Blueprint("certificates_api", __name__, description="Certificates: online verification, extracts, PDFs")


class StatusSchema(Schema):
    code = fields.String(metadata={"description": "valid, superseded, encumbered, released, frozen, expired"})
    message_zh = fields.String()
    message_en = fields.String()


class FactSchema(Schema):
    label = fields.String()
    value = fields.String()


class VerificationSchema(Schema):
    number = fields.String()
    kind = fields.String()
    issued = fields.String(allow_none=True, metadata={"description": "issue time from the ledger entry (UTC)"})
    rows = fields.List(fields.Nested(FactSchema), metadata={"description": "what the certificate states, people masked"})
    valid = fields.Boolean(metadata={"description": "in the log, and the log consistent since"})
    in_log = fields.Boolean()
    consistent = fields.Boolean()
    index = fields.Integer(allow_none=True)
    tree_size = fields.Integer(allow_none=True)
    newest_size = fields.Integer(allow_none=True)
    statuses = fields.List(fields.Nested(StatusSchema))
    problems = fields.List(fields.String())


class UploadVerificationSchema(Schema):
    valid = fields.Boolean()
    code = fields.String(metadata={"description": "valid, or why not: tampered, untrusted, proof-invalid, …"})
    reason_zh = fields.String()
    reason_en = fields.String()
    summary = fields.String()
    detail = fields.String(metadata={"description": "the offline verifier's own words (English), when not valid"})
    index = fields.Integer(metadata={"description": "the certificate's ledger index, when valid"})
    tree_size = fields.Integer(metadata={"description": "size of the checkpoint embedded in the PDF, when valid"})
    online = fields.Nested(VerificationSchema, allow_none=True)


class ExtractArgs(Schema):
    right = fields.String(required=True, metadata={"description": "right number"})


class CertificateSchema(Schema):
    number = fields.String()
    kind = fields.Function(lambda c: c.kind.value)
    right = fields.Function(lambda c: c.right.number)
    ledger_index = fields.Integer()
    issued_at = fields.DateTime()


@blp.route("/verify/<number>")
class VerifyNumber(MethodView):
    @blp.response(200, VerificationSchema)
    def get(self, number: str):
        """Public: is certificate NUMBER in the log, is the log consistent since, and the right's current status."""
        result = certs.verify_number(number)
        db.session.commit()
        return result


@blp.route("/verify")
class VerifyUpload(MethodView):
    @blp.doc(description="multipart/form-data with the PDF in field `pdf`")
    @blp.response(200, UploadVerificationSchema)
    @blp.alt_response(422, schema=UploadVerificationSchema, description="the PDF does not verify")
    def post(self):
        """Public: check an uploaded certificate PDF (signature, embedded entry, proof, checkpoint) and its status."""
        upload = request.files.get("pdf")
        outcome = certs.verify_upload(upload.read(10 * 1024 * 1024 + 1) if upload else b"")
        db.session.commit()
        outcome.pop("certificate", None)
        return outcome, 200 if outcome["valid"] else 422


@blp.route("/certificates/extracts")
class Extracts(MethodView):
    @blp.doc(security=[{"apiKey": []}])
    @blp.arguments(ExtractArgs)
    @blp.response(201, CertificateSchema)
    def post(self, args):
        """Issue a rights status extract (权属及他项权利查询证明) for a right: banks, its holders, staff in jurisdiction."""
        right = registry_queries.right_or_404(args["right"])
        require_obtain(right, "certificate.extract", "right", right.number)
        certificate = certs.issue_certificate(CertificateKind.extract, right)
        audit.record("certificate.extract", "right", right.number, detail={"certificate": certificate.number})
        db.session.commit()
        return certificate


@blp.route("/certificates/<number>/pdf")
class CertificatePdf(MethodView):
    @blp.doc(security=[{"apiKey": []}])
    @blp.response(200, description="the signed certificate PDF", content_type="application/pdf")
    def get(self, number: str):
        """The signed PDF of certificate NUMBER: banks, the right's holders, staff in jurisdiction."""
        certificate = certs.by_number(number)
        require_obtain(certificate.right, "certificate.download", "certificate", number)
        pdf = certs.render_certificate(certificate)
        db.session.commit()
        return Response(pdf, mimetype="application/pdf")
