"""``/api/v1/exchange/listings…`` and ``/api/v1/contracts…``: the workflow for programs. The same operations as the
pages; every state-changing call carries the ``version`` it saw (409 STALE otherwise)."""
from __future__ import annotations

from datetime import date

from flask import Response, abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import require
from exchange.audit import operations as audit
from exchange.collectives.models import Motion
from exchange.db import db
from exchange.errors import DomainError
from exchange.registry.models import Right
from exchange.transfers import contracting
from exchange.transfers import operations as ops
from exchange.transfers.models import Contract, Interest, Listing, ResultObjection, ScheduleItem
from exchange.transfers.views import _division_ids, _viewer_may_see, listing_or_404

blp = Blueprint("exchange_api", __name__, description="Exchange workflow: listings, bidders, bids, awards, contracts")
contracts_blp = Blueprint("contracts_api", __name__, description="Contracts: terms, signatures, PDF, rent schedules, payments")
SECURITY = [{"apiKey": []}]
ACTIONS = ("accept", "approve", "reject", "withdraw", "relist", "interest", "qualify", "deposit", "bid", "match",
           "objection", "decide", "annul", "review_contract", "sign", "settle", "register")


class SubmitArgs(Schema):
    right = fields.String(required=True, metadata={"description": "权利编号 of the right to list"})
    kind = fields.String(required=True, validate=validate.OneOf(list(ops.KIND_SOURCES)))
    mode = fields.String(required=True)
    reserve_price = fields.Decimal(required=True, as_string=True)
    price_unit = fields.String(required=True, validate=validate.OneOf(["per_year", "lump_sum"]))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    permitted_use = fields.String(required=True)
    payment_terms = fields.String(required=True)
    bidder_conditions = fields.String(load_default="")
    documents = fields.Dict(load_default=dict, metadata={
        "description": "household_consent (reference), contracting_household_consent (bool), pledgee_consent (bool)"})
    resolution = fields.String(load_default=None, metadata={"description": "决议编号 (COLLECTIVE-2-3)"})
    deposit = fields.Decimal(as_string=True, load_default=None)
    increment = fields.Decimal(as_string=True, load_default=None)


class StepArgs(Schema):
    version = fields.Integer(required=True, metadata={"description": "the listing's version the caller saw"})
    reason = fields.String(load_default="")
    amount = fields.Decimal(as_string=True, load_default=None)
    reference = fields.String(load_default="")
    interest = fields.Integer(load_default=None)
    qualified = fields.Boolean(load_default=True)
    county_review = fields.String(load_default=None)
    plan = fields.String(load_default="")
    raised_by = fields.String(load_default="")
    text = fields.String(load_default="")
    objection = fields.Integer(load_default=None)
    upheld = fields.Boolean(load_default=False)
    party = fields.String(load_default="")
    digest = fields.String(load_default="")


class ListingSchema(Schema):
    number = fields.String()
    title = fields.String()
    kind = fields.String()
    mode = fields.String()
    state = fields.Function(lambda l: l.state.value)
    version = fields.Integer()
    right = fields.Function(lambda l: l.right.number)
    area_m2 = fields.Decimal(as_string=True, allow_none=True)
    reserve_price = fields.Decimal(as_string=True)
    price_unit = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    permitted_use = fields.String()
    payment_terms = fields.String()
    deposit = fields.Decimal(as_string=True)
    increment = fields.Decimal(as_string=True)
    notice_starts_on = fields.Date(allow_none=True)
    notice_ends_on = fields.Date(allow_none=True)
    calendar_provisional = fields.Boolean()
    auction_ends_at = fields.DateTime(allow_none=True)
    priority_ends_at = fields.DateTime(allow_none=True)
    best_bid = fields.Function(lambda l: str(ops.best_bid(l).amount) if ops.best_bid(l) else None)
    minimum_bid = fields.Function(lambda l: str(ops.minimum_bid(l)))
    award_price = fields.Decimal(as_string=True, allow_none=True)
    objection_ends_on = fields.Date(allow_none=True)
    contract = fields.Function(lambda l: l.contract.number if l.contract else None)
    certificate = fields.String(attribute="certificate_number", allow_none=True)
    exit_reason = fields.String(allow_none=True)
    interests = fields.Function(lambda l: [
        {"id": i.id, "bidder": i.profile.name, "member": i.is_member, "qualification": i.qualification.value,
         "deposit": str(i.deposit_amount), "deposit_state": i.deposit_state.value} for i in l.interests])
    events = fields.Function(lambda l: [{"step": e.step, "account": e.account, "role": e.role, "note": e.note,
                                         "ledger_index": e.ledger_index, "at": e.created_at.isoformat()}
                                        for e in l.events])


class ContractSchema(Schema):
    number = fields.String()
    listing = fields.Function(lambda c: c.listing.number)
    kind = fields.String()
    state = fields.Function(lambda c: c.state.value)
    digest = fields.String()
    pdf_sha256 = fields.String(allow_none=True)
    terms = fields.Dict()
    signatures = fields.Function(lambda c: [{"party": s.party, "account": s.account, "digest": s.digest,
                                             "ledger_index": s.ledger_index, "at": s.created_at.isoformat()}
                                            for s in c.signatures])
    schedule = fields.Function(lambda c: [{"number": i.number, "period_start": i.period_start.isoformat(),
                                           "period_end": i.period_end.isoformat(), "due": i.due.isoformat(),
                                           "amount": str(i.amount), "paid": str(i.paid),
                                           "in_kind_kg": str(i.in_kind_kg) if i.in_kind_kg is not None else None}
                                          for i in c.schedule])


class PaymentArgs(Schema):
    amount = fields.Decimal(required=True, as_string=True)
    paid_on = fields.Date(load_default=None)
    reference = fields.String(load_default="")


class DueArgs(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650))


def _signed_in():
    if not current_user.is_authenticated:
        abort(401)


@blp.route("/listings")
class Listings(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(SubmitArgs)
    @blp.response(201, ListingSchema)
    def post(self, args):
        """A village submits a listing (its household's right with consent, or the collective's own)."""
        _signed_in()
        right = db.session.scalar(select(Right).where(Right.number == args["right"]))
        if right is None:
            raise DomainError("RIGHT-UNKNOWN", f"没有编号为 {args['right']} 的权利。", f"No right numbered {args['right']}.",
                              field="right", status=404)
        require("listing.submit", right.division, "right", right.number)
        motion = None
        if args["resolution"]:
            motion = db.session.scalar(select(Motion).where(Motion.resolution_number == args["resolution"]))
            if motion is None:
                raise DomainError("RESOLUTION-UNKNOWN", f"没有编号为 {args['resolution']} 的决议。",
                                  f"No resolution numbered {args['resolution']}.", field="resolution")
        listing = ops.submit_listing(
            current_user, right=right, kind=args["kind"], mode=args["mode"], reserve_price=args["reserve_price"],
            price_unit=args["price_unit"], start_date=args["start_date"], end_date=args["end_date"],
            permitted_use=args["permitted_use"], payment_terms=args["payment_terms"],
            bidder_conditions=args["bidder_conditions"], documents=args["documents"], resolution=motion,
            deposit=args["deposit"], increment=args["increment"])
        audit.record("listing.submit", "listing", listing.number)
        db.session.commit()
        return listing


@blp.route("/listings/<number>")
class ListingItem(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, ListingSchema)
    def get(self, number: str):
        """A listing with its version, bidders (to staff) and steps, for the accounts that take part in it."""
        _signed_in()
        listing = listing_or_404(number)
        if not _viewer_may_see(listing):
            require("listing.review", listing.division, "listing", number)
        return listing


@blp.route("/listings/<number>/<action>")
class ListingStep(MethodView):
    @blp.doc(security=SECURITY, description="action: " + ", ".join(ACTIONS))
    @blp.arguments(StepArgs)
    @blp.response(200, ListingSchema)
    def post(self, args, number: str, action: str):
        """One step of the workflow, by the account whose role performs it."""
        _signed_in()
        listing = listing_or_404(number)
        user, version = current_user, args["version"]
        if action in ("accept", "approve", "reject", "qualify", "deposit", "decide", "annul", "settle", "register",
                      "review_contract"):
            require("listing.review", listing.division, "listing", number)
        elif action in ("withdraw", "relist"):
            require("listing.submit", listing.division, "listing", number)
        elif action in ("interest", "bid", "match"):
            require("bid", None, "listing", number)
        elif action not in ("objection", "sign"):
            abort(404)

        def interest() -> Interest:
            item = db.session.get(Interest, args["interest"] or 0)
            if item is None or item.listing_id != listing.id:
                raise DomainError("INTEREST-UNKNOWN", "该项目没有这一报名记录（interest）。", "No such interest in this listing.",
                                  field="interest", status=404)
            return item

        result = listing
        if action == "accept":
            ops.accept(user, listing, version)
        elif action == "approve":
            ops.approve(user, listing, version)
        elif action == "reject":
            ops.reject(user, listing, version, args["reason"])
        elif action == "withdraw":
            ops.withdraw(user, listing, version, args["reason"])
        elif action == "relist":
            result = ops.relist(user, listing, version, reserve_price=args["amount"])
        elif action == "interest":
            ops.register_interest(user, listing, version, args["plan"])
        elif action == "qualify":
            ops.qualify(user, interest(), version, qualified=args["qualified"], note=args["text"] or args["reason"],
                        county_review=args["county_review"])
        elif action == "deposit":
            ops.record_deposit(user, interest(), version, args["reference"])
        elif action == "bid":
            ops.place_bid(user, listing, version, args["amount"])
        elif action == "match":
            ops.match(user, listing, version)
        elif action == "objection":
            ops.raise_objection(user, listing, args["raised_by"], args["text"])
        elif action == "decide":
            objection = db.session.get(ResultObjection, args["objection"] or 0)
            if objection is None or objection.listing_id != listing.id:
                raise DomainError("OBJECTION-UNKNOWN", "该项目没有这一异议。", "No such objection.", field="objection",
                                  status=404)
            ops.decide_objection(user, objection, version, upheld=args["upheld"], outcome=args["text"] or args["reason"])
        elif action == "annul":
            ops.annul(user, listing, version, args["reason"])
        elif action == "review_contract":
            contracting.review_contract(user, listing.contract, version)
        elif action == "sign":
            contracting.sign_contract(user, listing.contract, version, args["party"], args["digest"])
        elif action == "settle":
            ops.settle(user, listing, version, reference=args["reference"])
        elif action == "register":
            ops.register_transfer(user, listing, version)
        audit.record(f"listing.{action}", "listing", number)
        db.session.commit()
        return result


@blp.route("/todo")
class Todo(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, ListingSchema(many=True))
    def get(self):
        """Listings awaiting the signed-in staff account in its jurisdiction, or a bidder's own."""
        _signed_in()
        if current_user.role.value == "bidder":
            statement = select(Listing).join(Interest, Interest.listing_id == Listing.id).where(
                Interest.account_id == current_user.id)
        else:
            require("listing.review" if current_user.role.value != "village" else "listing.submit", None, "listing", None)
            ids = _division_ids()
            statement = select(Listing).where(Listing.state.in_(ops.OPEN_STATES))
            if ids is not None:
                statement = statement.where(Listing.division_id.in_(ids))
        return db.session.scalars(statement.order_by(Listing.id.desc()).limit(500)).unique().all()


def _contract(number: str) -> Contract:
    item = db.session.scalar(select(Contract).where(Contract.number == number))
    if item is None:
        abort(404)
    if not (_viewer_may_see(item.listing) or any(contracting.may_sign(current_user, item, p) for p in contracting.PARTIES)):
        require("listing.review", item.division, "contract", number)
    return item


@contracts_blp.route("/<number>")
class ContractItem(MethodView):
    @contracts_blp.doc(security=SECURITY)
    @contracts_blp.response(200, ContractSchema)
    def get(self, number: str):
        """A contract: its terms, the digest each party accepts, signatures and rent schedule."""
        _signed_in()
        return _contract(number)


@contracts_blp.route("/<number>/pdf")
class ContractPdf(MethodView):
    @contracts_blp.doc(security=SECURITY)
    @contracts_blp.response(200, content_type="application/pdf")
    def get(self, number: str):
        """The contract as PDF (after signing: the signed document whose SHA-256 is in the ledger)."""
        _signed_in()
        return Response(contracting.contract_pdf(_contract(number)), mimetype="application/pdf")


@contracts_blp.route("/<number>/schedule/<int:item_number>/payments")
class ContractPayments(MethodView):
    @contracts_blp.doc(security=SECURITY)
    @contracts_blp.arguments(PaymentArgs)
    @contracts_blp.response(201, ContractSchema)
    def post(self, args, number: str, item_number: int):
        """Record a payment against one instalment of the rent schedule."""
        _signed_in()
        contract = _contract(number)
        require("listing.submit" if current_user.role.value == "village" else "listing.review", contract.division,
                "contract", number)
        item = db.session.scalar(select(ScheduleItem).where(ScheduleItem.contract_id == contract.id,
                                                            ScheduleItem.number == item_number))
        if item is None:
            abort(404)
        ops.record_payment(current_user, item, args["amount"], args["paid_on"] or date.today(), args["reference"])
        audit.record("contract.payment", "contract", number, detail={"instalment": item_number})
        db.session.commit()
        return contract


@contracts_blp.route("/due")
class Due(MethodView):
    @contracts_blp.doc(security=SECURITY)
    @contracts_blp.arguments(DueArgs, location="query")
    @contracts_blp.response(200)
    def get(self, args):
        """Instalments due and contracts expiring within ``days``, in the staff account's jurisdiction."""
        _signed_in()
        if current_user.role.value not in ("village", "township", "county"):
            abort(403)
        ids = _division_ids()
        return {"due": [{"contract": i.contract.number, "instalment": i.number, "due": i.due.isoformat(),
                         "amount": str(i.amount), "paid": str(i.paid)} for i in ops.payments_due(ids, args["days"])],
                "expiring": [{"contract": c.number, "end_date": c.end_date.isoformat()}
                             for c in ops.contracts_expiring(ids, args["days"])]}
