"""``/api/v1/collateral``: banks apply, see existing pledges, release and ask for disposal; staff register."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from exchange.access import may, require
from exchange.audit import operations as audit
from exchange.collateral import disposal as disposals
from exchange.collateral import operations as collateral
from exchange.collateral.models import CollateralApplication
from exchange.db import db
from exchange.divisions.models import Division
from exchange.registry import queries as registry_queries
from exchange.registry.models import Right
from exchange.transfers.models import Payment

blp = Blueprint("collateral_api", __name__, description="Bank collateral: mortgage applications, registration, release, default")
SECURITY = [{"apiKey": []}]


class ValuationBasis(Schema):
    method = fields.String(required=True, validate=validate.OneOf(["rent", "appraisal"]))
    annual_rent = fields.Decimal(as_string=True)
    attachments = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)
    appraiser = fields.String()


class ApplicationArgs(Schema):
    right = fields.String(required=True)
    loan_amount = fields.Decimal(required=True, as_string=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    valuation_basis = fields.Nested(ValuationBasis, required=True)
    contract_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    guarantee = fields.String(load_default="")
    insurance = fields.String(load_default="")
    consents = fields.Dict(load_default=dict)

    @validates_schema
    def _term(self, data, **_kwargs):
        if data["end_date"] <= data["start_date"]:
            raise ValidationError("终止日期应晚于起始日期 (end_date must be after start_date)", "end_date")


class ApplicationSchema(Schema):
    id = fields.Integer()
    bank = fields.Function(lambda a: a.bank.name)
    right = fields.Function(lambda a: a.right.number)
    loan_amount = fields.Decimal(as_string=True)
    start_date = fields.Date()
    end_date = fields.Date()
    valuation = fields.Decimal(as_string=True)
    valuation_basis = fields.Dict()
    guarantee = fields.String()
    insurance = fields.String()
    contract_number = fields.String()
    step = fields.Function(lambda a: a.step.value)
    events = fields.Function(lambda a: [{"step": e.step.value, "note": e.note, "ledger_index": e.ledger_index,
                                         "at": e.created_at.isoformat()} for e in a.events])
    existing_pledges = fields.Function(lambda a: collateral.existing_pledges(a.right))
    outstanding = fields.Decimal(as_string=True, allow_none=True)


class PledgeViewSchema(Schema):
    right = fields.String()
    right_type = fields.String()
    active = fields.Boolean()
    end_date = fields.Date(allow_none=True)
    frozen = fields.Boolean()
    pledges = fields.List(fields.Dict())


class ReasonArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DisposalArgs(ReasonArgs):
    outstanding = fields.Decimal(required=True, as_string=True)


class DisposalListingArgs(Schema):
    reserve_price = fields.Decimal(required=True, as_string=True, metadata={"description": "处置底价 (yuan), above 0"})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    mode = fields.String(load_default=None, metadata={"description": "default 转让 (management right) or 出租"})
    price_unit = fields.String(load_default="lump_sum", validate=validate.OneOf(["lump_sum", "per_year"]))
    permitted_use = fields.String(load_default="1")
    payment_terms = fields.String(load_default="")
    bidder_conditions = fields.String(load_default="")
    deposit = fields.Decimal(as_string=True, load_default=None)
    increment = fields.Decimal(as_string=True, load_default=None)


class DisposalListingRef(Schema):
    number = fields.String()
    title = fields.String()
    state = fields.Function(lambda listing: listing.state.value)
    reserve_price = fields.Decimal(as_string=True)
    price_unit = fields.String()
    award_price = fields.Decimal(as_string=True, allow_none=True)
    certificate_number = fields.String(allow_none=True)


class DisposalStatusSchema(Schema):
    application = fields.Integer()
    step = fields.String()
    right = fields.String()
    pledgee = fields.String()
    outstanding = fields.Decimal(as_string=True, allow_none=True)
    consent = fields.Dict(allow_none=True, metadata={"description": "the pledgee's consent to the listing, as recorded"})
    listing = fields.Nested(DisposalListingRef, allow_none=True, metadata={"description": "the current (newest) one"})
    listings = fields.List(fields.Nested(DisposalListingRef))
    bank_received = fields.Decimal(as_string=True)
    holder_received = fields.Decimal(as_string=True)
    still_owed = fields.Decimal(as_string=True)


class ProceedsRowSchema(Schema):
    listing = fields.String(attribute="listing_number")
    payment_entry = fields.Integer(attribute="payment_ledger_index", allow_none=True)
    recipient = fields.String(metadata={"description": "bank (the pledgee, first) | holder (the remainder)"})
    amount = fields.Decimal(as_string=True)
    paid_on = fields.Date()
    ledger_index = fields.Integer()


class ProceedsSchema(Schema):
    outstanding = fields.Decimal(as_string=True, allow_none=True)
    bank_received = fields.Decimal(as_string=True)
    holder_received = fields.Decimal(as_string=True)
    still_owed = fields.Decimal(as_string=True)
    rows = fields.List(fields.Nested(ProceedsRowSchema))


class StepSchema(Schema):
    step = fields.String()
    certificate = fields.String(allow_none=True)
    ledger_index = fields.Integer(allow_none=True)


def _signed_in():
    if not current_user.is_authenticated:
        abort(401)


def _application(application_id: int) -> CollateralApplication:
    application = db.session.get(CollateralApplication, application_id)
    if application is None:
        abort(404)
    return application


def _may_see(application: CollateralApplication) -> None:
    """The pledgee bank, and staff whose jurisdiction holds the right (township/county; the village that lists)."""
    if current_user.role.value == "bank":
        _own(application)
        return
    division = application.right.division
    if may(current_user, "listing.submit", division):
        return
    require("collateral.register", division, "collateral_application", application.id)


def _status(application: CollateralApplication) -> dict:
    summary = disposals.summary(application)
    return {"application": application.id, "step": application.step.value, "right": application.right.number,
            "pledgee": application.bank.name, "outstanding": summary["outstanding"],
            "consent": application.disposal_consent, "listing": summary["current"], "listings": summary["listings"],
            "bank_received": summary["bank_received"], "holder_received": summary["holder_received"],
            "still_owed": summary["still_owed"]}


def _own(application: CollateralApplication) -> None:
    require("collateral.apply", None, "collateral_application", application.id)
    if collateral.bank_of(current_user).id != application.bank_id:
        abort(403)


@blp.route("/rights/<number>")
class RightPledges(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, PledgeViewSchema)
    def get(self, number: str):
        """Before lending: the right's existing pledges with their ranks (double-pledge detection), and any freeze."""
        _signed_in()
        require("collateral.apply", None, "right", number)
        right = registry_queries.right_or_404(number)
        return {"right": right.number, "right_type": right.right_type.value, "active": right.active,
                "end_date": right.end_date, "frozen": bool(right.active_freezes()),
                "pledges": collateral.existing_pledges(right)}


@blp.route("/applications")
class Applications(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, ApplicationSchema(many=True))
    def get(self):
        """A bank sees its own applications; township and county staff those in their jurisdiction."""
        _signed_in()
        query = select(CollateralApplication).order_by(CollateralApplication.id.desc())
        if current_user.role.value == "bank":
            query = query.where(CollateralApplication.bank_id == collateral.bank_of(current_user).id)
        else:
            require("collateral.register", None, "collateral_application", None)
            query = query.join(Right).join(Division, Right.division_id == Division.id).where(
                Division.code.startswith(current_user.division.code))
        return db.session.scalars(query).all()

    @blp.doc(security=SECURITY)
    @blp.arguments(ApplicationArgs)
    @blp.response(201, ApplicationSchema)
    def post(self, args):
        """A bank applies to register a mortgage (NO-PLEDGE, ENCUMBERED, LAND-RETRANSFER, term and value checked)."""
        _signed_in()
        require("collateral.apply", None, "right", args["right"])
        bank = collateral.bank_of(current_user)
        right = registry_queries.right_or_404(args["right"])
        application = collateral.apply(bank, right, loan_amount=args["loan_amount"], start=args["start_date"],
                                       end=args["end_date"], valuation_basis=args["valuation_basis"],
                                       contract_number=args["contract_number"], guarantee=args["guarantee"],
                                       insurance=args["insurance"], consents=args["consents"])
        db.session.flush()
        audit.record("collateral.apply", "collateral_application", application.id, detail={"right": right.number})
        db.session.commit()
        return application


@blp.route("/applications/<int:application_id>/registration")
class Registration(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(201, StepSchema)
    def post(self, application_id: int):
        """The township or county registers the mortgage; the bank receives the mortgage registration certificate."""
        _signed_in()
        application = _application(application_id)
        require("collateral.register", application.right.division, "collateral_application", application_id)
        certificate = collateral.register(application)
        audit.record("collateral.register", "collateral_application", application_id,
                     detail={"certificate": certificate.number})
        db.session.commit()
        return {"step": application.step.value, "certificate": certificate.number,
                "ledger_index": application.encumbrance.ledger_index}


@blp.route("/applications/<int:application_id>/refusal")
class Refusal(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ReasonArgs)
    @blp.response(200, StepSchema)
    def post(self, args, application_id: int):
        _signed_in()
        application = _application(application_id)
        require("collateral.register", application.right.division, "collateral_application", application_id)
        collateral.refuse(application, args["reason"])
        audit.record("collateral.refuse", "collateral_application", application_id, detail={"reason": args["reason"]})
        db.session.commit()
        return {"step": application.step.value}


@blp.route("/applications/<int:application_id>/release")
class ReleaseView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ReasonArgs)
    @blp.response(200, StepSchema)
    def post(self, args, application_id: int):
        """The bank releases its mortgage (loan repaid)."""
        _signed_in()
        application = _application(application_id)
        _own(application)
        index = collateral.release(application, args["reason"])
        audit.record("collateral.release", "collateral_application", application_id)
        db.session.commit()
        return {"step": application.step.value, "ledger_index": index}


@blp.route("/applications/<int:application_id>/disposal")
class Disposal(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(DisposalArgs)
    @blp.response(201, StepSchema)
    def post(self, args, application_id: int):
        """On default the bank asks for the collateral to be listed on the exchange; proceeds go to it first."""
        _signed_in()
        application = _application(application_id)
        _own(application)
        index = collateral.request_disposal(current_user, application, args["reason"], args["outstanding"])
        audit.record("collateral.disposal", "collateral_application", application_id)
        db.session.commit()
        return {"step": application.step.value, "ledger_index": index}

    @blp.doc(security=SECURITY)
    @blp.response(200, DisposalStatusSchema)
    def get(self, application_id: int):
        """The disposal: what the bank declared outstanding, its consent, the disposal listing(s) with their
        state on the exchange, and what the bank and the holder have received so far."""
        _signed_in()
        application = _application(application_id)
        _may_see(application)
        return _status(application)


@blp.route("/applications/<int:application_id>/disposal/listing")
class DisposalListingView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(DisposalListingArgs)
    @blp.response(201, DisposalStatusSchema)
    def post(self, args, application_id: int):
        """The village lists the collateral for disposal on the holder's behalf, with the pledgee bank's consent
        (given when it asked for disposal); the listing then goes through the exchange's review and notice."""
        _signed_in()
        application = _application(application_id)
        require("listing.submit", application.right.division, "collateral_application", application_id)
        disposal = disposals.submit_disposal_listing(current_user, application, **args)
        audit.record("collateral.disposal_listing", "collateral_application", application_id,
                     detail={"listing": disposal.listing.number})
        db.session.commit()
        return _status(application)


@blp.route("/applications/<int:application_id>/disposal/proceeds")
class ProceedsView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, ProceedsSchema)
    def get(self, application_id: int):
        """Each payment by the buyer as split: to the pledgee bank first, up to the outstanding amount, the
        remainder to the holder; each row with the ledger entry that records it."""
        _signed_in()
        application = _application(application_id)
        _may_see(application)
        summary = disposals.summary(application)
        numbers = {d.listing.id: d.listing.number for d in application.disposal_listings}
        payments = dict(db.session.execute(select(Payment.id, Payment.ledger_index).where(
            Payment.id.in_([p.payment_id for p in application.proceeds]))).all())
        rows = [{"listing_number": numbers.get(p.listing_id), "payment_ledger_index": payments.get(p.payment_id),
                 "recipient": p.recipient, "amount": p.amount, "paid_on": p.paid_on, "ledger_index": p.ledger_index}
                for p in application.proceeds]
        return {"outstanding": summary["outstanding"], "bank_received": summary["bank_received"],
                "holder_received": summary["holder_received"], "still_owed": summary["still_owed"],
                "rows": rows}
