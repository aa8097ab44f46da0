"""``/api/v1/collectives/<village code>/…`` documents: resolution records (决议), payout lists (分红发放表), household
statements (分红对账单), share certificates (股权证) and the asset ledger (资产台账), as signed PDFs; routes on the
books' blueprint."""
from __future__ import annotations

from datetime import date

from flask import Response, abort
from flask.views import MethodView
from marshmallow import Schema, fields

from exchange.audit import operations as audit
from exchange.collectives import documents, queries
from exchange.collectives.api import SECURITY, AsOfArgs, _collective, _household, _plan, blp
from exchange.collectives.models import Motion
from exchange.db import db

PDF = {"description": "the signed PDF", "content_type": "application/pdf"}


def _pdf(data: bytes) -> Response:
    db.session.commit()  # rendering may have signed the checkpoint that covers the entry
    return Response(data, mimetype="application/pdf")


class StatementSchema(Schema):
    """One household's dividend: no other household's code, name or amount."""

    collective = fields.String()
    year = fields.Integer()
    household = fields.String()
    head = fields.String()
    shares = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)
    per_share = fields.String()
    resolution = fields.String()
    distributable = fields.Decimal(as_string=True, metadata={"description": "the collective's, for reference"})
    dividends = fields.Decimal(as_string=True, metadata={"description": "all dividends of the year"})
    ledger_index = fields.Integer()


class ShareCertificateArgs(Schema):
    household = fields.String(required=True, metadata={"description": "承包方编码 of a household holding shares"})


class ShareCertificateSchema(Schema):
    number = fields.String()
    household = fields.String()
    shares = fields.String()
    ledger_index = fields.Integer()


@blp.route("/<code>/resolutions/<int:motion_id>/pdf")
class ResolutionPdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, **PDF)
    def get(self, code: str, motion_id: int):
        """The resolution record (决议) with its vote counts, from the vote's ledger entry."""
        collective = _collective(code, "collective.view")
        motion = db.session.get(Motion, motion_id)
        if motion is None:
            abort(404)
        return _pdf(documents.resolution_pdf(collective, motion))


@blp.route("/<code>/distributions/<int:year>/pdf")
class PayoutListPdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, **PDF)
    def get(self, code: str, year: int):
        """The payout list (分红发放表): every holder's shares and dividend, summing exactly to the dividends."""
        collective = _collective(code, "collective.view")
        return _pdf(documents.payout_list_pdf(queries.distribution_or_404(collective, year)))


@blp.route("/<code>/distributions/<int:year>/households/<household>")
class Statement(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, StatementSchema)
    def get(self, code: str, year: int, household: str):
        """A household's statement (分红对账单): its shares and dividend only."""
        collective = _collective(code, "collective.view")
        return documents.statement(queries.distribution_or_404(collective, year), household)


@blp.route("/<code>/distributions/<int:year>/households/<household>/pdf")
class StatementPdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, **PDF)
    def get(self, code: str, year: int, household: str):
        """The household's statement as a signed PDF; it names no other household."""
        collective = _collective(code, "collective.view")
        return _pdf(documents.statement_pdf(queries.distribution_or_404(collective, year), household))


@blp.route("/<code>/share-certificates")
class ShareCertificates(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ShareCertificateArgs)
    @blp.response(201, ShareCertificateSchema)
    def post(self, args, code: str):
        """Issue a household's share certificate (股权证): its shares as they stand, written to the ledger."""
        collective = _collective(code, "collective.manage")
        household = _household(collective, args["household"], "household")
        movement = documents.issue_share_certificate(_plan(collective), household)
        facts = documents.share_certificate_facts(movement)
        audit.record("collective.share_certificate", "household", household.code,
                     detail={"certificate": facts["number"]})
        db.session.commit()
        return facts


@blp.route("/<code>/share-certificates/<household>/pdf")
class ShareCertificatePdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, **PDF)
    def get(self, code: str, household: str):
        """The household's current share certificate as a signed PDF (404 when none matches its shares)."""
        collective = _collective(code, "collective.view")
        movement = documents.current_share_certificate(_plan(collective), _household(collective, household, "household"))
        if movement is None:
            abort(404)
        return _pdf(documents.share_certificate_pdf(movement))


@blp.route("/<code>/asset-ledger/pdf")
class AssetLedgerPdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, **PDF)
    def get(self, args, code: str):
        """The asset ledger (资产台账) as of a date (default today) as a signed PDF: three classes with subtotals, book
        and appraised values, the inventory each figure comes from (404 DOCUMENT-NONE before the first inventory)."""
        collective = _collective(code, "collective.view")
        return _pdf(documents.asset_ledger_pdf(collective, args["as_of"] or date.today()))
