"""``/api/v1/collateral/share-pledges``: pledges of a household's collective shares (股权质押). Banks look at a
household's existing pledges, apply and release; the township or county with jurisdiction registers or refuses."""
from __future__ import annotations

from decimal import Decimal

from flask import Response, abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from exchange.access import require
from exchange.audit import operations as audit
from exchange.collateral.api import StepSchema, _signed_in  # a share pledge's steps answer as a mortgage's do
from exchange.collectives import documents, share_pledges
from exchange.collectives.models import SharePledge
from exchange.collectives.share_pledge_views import _household, may_see, plan_of
from exchange.db import db

blp = Blueprint("share_pledges_api", __name__,
                description="Share pledges (股权质押): a household's collective shares pledged to a bank")
SECURITY = [{"apiKey": []}]


class ShareValuationBasis(Schema):
    method = fields.String(required=True, validate=validate.OneOf(["shares", "appraisal"]),
                           metadata={"description": "shares: shares × the plan's value per share; appraisal: amount"})
    amount = fields.Decimal(as_string=True)
    appraiser = fields.String()


class ConsentArgs(Schema):
    document = fields.String(required=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "number of the household head's signed written consent"})
    signed_on = fields.Date(required=True)


class SharePledgeArgs(Schema):
    household = fields.String(required=True, validate=validate.Length(equal=18),
                              metadata={"description": "承包方编码 of the pledging household"})
    shares = fields.Decimal(required=True, as_string=True)
    loan_amount = fields.Decimal(required=True, as_string=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    valuation_basis = fields.Nested(ShareValuationBasis, required=True)
    contract_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    consent = fields.Nested(ConsentArgs, required=True)

    @validates_schema
    def _term(self, data, **_kwargs):
        if data["end_date"] <= data["start_date"]:
            raise ValidationError("终止日期应晚于起始日期 (end_date must be after start_date)", "end_date")


class SharePledgeSchema(Schema):
    """A pledge as the bank and the registrar see it: household code and bank, no personal identifier."""

    id = fields.Integer()
    collective = fields.Function(lambda p: p.plan.collective.credit_code)
    household = fields.Function(lambda p: p.household.code)
    bank = fields.Function(lambda p: p.bank.name)
    shares = fields.Decimal(as_string=True)
    loan_amount = fields.Decimal(as_string=True)
    start_date = fields.Date()
    end_date = fields.Date()
    valuation = fields.Decimal(as_string=True)
    valuation_basis = fields.Dict()
    contract_number = fields.String()
    consent = fields.Function(lambda p: {"document": p.consent["document"], "signed_on": p.consent["signed_on"]})
    step = fields.Function(lambda p: p.step.value)
    certificate = fields.String(attribute="certificate_number", allow_none=True)
    events = fields.Function(lambda p: [{"step": e.step.value, "note": e.note, "ledger_index": e.ledger_index,
                                         "at": e.created_at.isoformat()} for e in p.events])
    existing_pledges = fields.Function(lambda p: share_pledges.existing_pledges(p.plan, p.household))


class HouseholdSharesSchema(Schema):
    household = fields.String()
    collective = fields.String()
    shares = fields.String(metadata={"description": "shares the household holds"})
    unpledged = fields.String(metadata={"description": "of which not under a registered pledge"})
    value_per_share = fields.String()
    pledges = fields.List(fields.Dict(), metadata={"description": "registered pledges with their rank"})


class SharePledgeReasonArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


def _pledge(pledge_id: int) -> SharePledge:
    _signed_in()
    pledge = db.session.get(SharePledge, pledge_id)
    if pledge is None:
        abort(404)
    may_see(pledge)
    return pledge


@blp.route("/households/<code>")
class HouseholdShares(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, HouseholdSharesSchema)
    def get(self, code: str):
        """Before lending: the household's shares, how many are unpledged, and the existing pledges with their rank."""
        _signed_in()
        require("collateral.apply", None, "household", code)
        household = _household(code)
        plan = plan_of(household)
        held = share_pledges.share_balances(plan).get(household.id)
        return {"household": household.code, "collective": household.collective.credit_code,
                "shares": str(held or "0.00"), "unpledged": str(share_pledges.unpledged(plan, household)),
                "value_per_share": str((plan.quantified_value / plan.total_shares).quantize(Decimal("0.0001"))),
                "pledges": share_pledges.existing_pledges(plan, household)}


@blp.route("")
class SharePledges(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, SharePledgeSchema(many=True))
    def get(self):
        """A bank sees its own share pledges; township and county staff those on collectives in their jurisdiction."""
        _signed_in()
        if current_user.role.value == "bank":
            require("collateral.apply", None, "share_pledge", None)
            return share_pledges.of_bank(current_user)
        require("collateral.register", None, "share_pledge", None)
        return share_pledges.in_jurisdiction(current_user)

    @blp.doc(security=SECURITY)
    @blp.arguments(SharePledgeArgs)
    @blp.response(201, SharePledgeSchema)
    def post(self, args):
        """A bank applies to register a pledge of a household's shares (SHARE-BALANCE, SHARES-PLEDGED,
        SHARE-PLEDGE-OVER-VALUE, SHARE-PLEDGE-CONSENT, LOAN-TERMS checked together)."""
        _signed_in()
        require("collateral.apply", None, "household", args["household"])
        household = _household(args["household"])
        pledge = share_pledges.apply(current_user, plan_of(household), household, shares=args["shares"],
                                     loan_amount=args["loan_amount"], start=args["start_date"], end=args["end_date"],
                                     valuation_basis=args["valuation_basis"], contract_number=args["contract_number"],
                                     consent=args["consent"])
        audit.record("collective.share_pledge.apply", "share_pledge", pledge.id, detail={"household": household.code})
        db.session.commit()
        return pledge


@blp.route("/<int:pledge_id>")
class OneSharePledge(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, SharePledgeSchema)
    def get(self, pledge_id: int):
        return _pledge(pledge_id)


@blp.route("/<int:pledge_id>/registration")
class ShareRegistration(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(201, StepSchema)
    def post(self, pledge_id: int):
        """The township or county registers the pledge; the bank receives the 股权质押登记证明."""
        pledge = _pledge(pledge_id)
        require("collateral.register", pledge.plan.collective.division, "share_pledge", pledge_id)
        number = share_pledges.register(pledge, current_user)
        audit.record("collective.share_pledge.register", "share_pledge", pledge_id, detail={"certificate": number})
        db.session.commit()
        return {"step": pledge.step.value, "certificate": number, "ledger_index": pledge.events[-1].ledger_index}


@blp.route("/<int:pledge_id>/refusal")
class ShareRefusal(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(SharePledgeReasonArgs)
    @blp.response(200, StepSchema)
    def post(self, args, pledge_id: int):
        pledge = _pledge(pledge_id)
        require("collateral.register", pledge.plan.collective.division, "share_pledge", pledge_id)
        index = share_pledges.refuse(pledge, current_user, args["reason"])
        audit.record("collective.share_pledge.refuse", "share_pledge", pledge_id, detail={"reason": args["reason"]})
        db.session.commit()
        return {"step": pledge.step.value, "ledger_index": index}


@blp.route("/<int:pledge_id>/release")
class ShareRelease(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(SharePledgeReasonArgs)
    @blp.response(200, StepSchema)
    def post(self, args, pledge_id: int):
        """The pledgee bank releases the pledge (loan repaid): the shares are free again."""
        pledge = _pledge(pledge_id)
        require("collateral.apply", None, "share_pledge", pledge_id)
        index = share_pledges.release(pledge, current_user, args["reason"])
        audit.record("collective.share_pledge.release", "share_pledge", pledge_id)
        db.session.commit()
        return {"step": pledge.step.value, "ledger_index": index}


@blp.route("/<int:pledge_id>/pdf")
class SharePledgePdf(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, description="the signed PDF", content_type="application/pdf")
    def get(self, pledge_id: int):
        """The 股权质押登记证明 as a signed PDF (404 until registered)."""
        pledge = _pledge(pledge_id)
        data = documents.share_pledge_pdf(pledge)
        db.session.commit()  # rendering may have signed the checkpoint that covers the entry
        return Response(data, mimetype="application/pdf")
