"""``/api/v1/collectives/<village code>/…``: the roll, resolutions, votes, shares, income and distributions."""
from __future__ import annotations

from datetime import date

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from exchange.access import require
from exchange.audit import operations as audit
from exchange.collectives import operations as books
from exchange.collectives import queries
from exchange.collectives.models import MeetingKind, MotionKind
from exchange.db import db

blp = Blueprint("collectives_api", __name__, description="The collective's books: members, resolutions, shares, distributions")
SECURITY = [{"apiKey": []}]


class AsOfArgs(Schema):
    as_of = fields.Date(load_default=None)


class RollEntrySchema(Schema):
    household = fields.String()
    name = fields.String()
    relation = fields.String()
    id_masked = fields.String()
    status = fields.String()
    events = fields.List(fields.Dict())


class MotionSchema(Schema):
    id = fields.Integer()
    kind = fields.Function(lambda m: m.kind.value)
    title = fields.String()
    meeting = fields.Function(lambda m: {"kind": m.meeting.kind.value, "held_on": m.meeting.held_on.isoformat(),
                                         "eligible": m.meeting.eligible, "attendees": m.meeting.attendees})
    votes_for = fields.Integer()
    votes_against = fields.Integer()
    abstentions = fields.Integer()
    passed = fields.Boolean()
    resolution_number = fields.String(allow_none=True)
    ledger_index = fields.Integer(allow_none=True)


class VoteArgs(Schema):
    meeting_kind = fields.String(required=True, validate=validate.OneOf([k.value for k in MeetingKind]))
    held_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    eligible = fields.Integer(required=True, validate=validate.Range(min=1))
    attendees = fields.Integer(required=True, validate=validate.Range(min=0))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in MotionKind]))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    subject = fields.Dict(load_default=dict)
    votes_for = fields.Integer(required=True)
    votes_against = fields.Integer(required=True)
    abstentions = fields.Integer(required=True)
    declare_passed = fields.Boolean(load_default=True)


class IncomeArgs(Schema):
    received_on = fields.Date(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = fields.Decimal(required=True, as_string=True)
    right_number = fields.String(load_default=None, allow_none=True)


class IncomeSchema(Schema):
    id = fields.Integer()
    received_on = fields.Date()
    source = fields.String()
    amount = fields.Decimal(as_string=True)
    ledger_index = fields.Integer()


class DistributeArgs(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    motion_id = fields.Integer(required=True)
    percentages = fields.Dict(required=True, metadata={"description": "reserve, welfare, management, dividends (sum 100)"})


class PayoutSchema(Schema):
    household = fields.Function(lambda p: p.household.code if p.household else None)
    shares = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)


class DistributionSchema(Schema):
    year = fields.Integer()
    distributable = fields.Decimal(as_string=True)
    percentages = fields.Dict()
    allocations = fields.Dict()
    per_share = fields.String()
    resolution = fields.Function(lambda d: d.motion.resolution_number)
    ledger_index = fields.Integer()
    payouts = fields.List(fields.Nested(PayoutSchema))


def _collective(code: str, action: str):
    if not current_user.is_authenticated:
        abort(401)
    collective = queries.collective_or_404(code)
    require(action, collective.division, "collective", collective.credit_code)
    return collective


@blp.route("/<code>/members")
class Members(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, RollEntrySchema(many=True))
    def get(self, args, code: str):
        """The roll as of a date (default today): everyone with a membership event, identifiers masked."""
        collective = _collective(code, "collective.view")
        rows = books.roll(collective, args["as_of"] or date.today())
        return [{"household": p.household.code if p.household else None, "name": p.name, "relation": p.relation,
                 "id_masked": p.id_number_masked, "status": status,
                 "events": [{"kind": e.kind.value, "on": e.effective_on.isoformat(), "ledger_index": e.ledger_index}
                            for e in events]} for p, status, events in rows]


@blp.route("/<code>/resolutions")
class Resolutions(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, MotionSchema(many=True))
    def get(self, code: str):
        """Passed motions (resolutions) with their vote counts."""
        return queries.resolutions(_collective(code, "collective.view"))


@blp.route("/<code>/votes")
class Votes(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(VoteArgs)
    @blp.response(201, MotionSchema)
    def post(self, args, code: str):
        """Record a meeting and a motion's vote; declaring it passed is refused without quorum and majority."""
        collective = _collective(code, "collective.manage")
        meeting = books.hold_meeting(collective, MeetingKind(args["meeting_kind"]), args["held_on"], args["place"],
                                     args["eligible"], args["attendees"])
        motion = books.add_motion(meeting, MotionKind(args["kind"]), args["title"], subject=args["subject"])
        books.record_votes(motion, args["votes_for"], args["votes_against"], args["abstentions"],
                           declare_passed=args["declare_passed"])
        audit.record("collective.vote", "motion", motion.id, detail={"resolution": motion.resolution_number})
        db.session.commit()
        return motion


@blp.route("/<code>/income")
class Income(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(IncomeArgs)
    @blp.response(201, IncomeSchema)
    def post(self, args, code: str):
        """Enter income of the collective (rents from the exchange's contracts are recorded automatically)."""
        collective = _collective(code, "collective.manage")
        item = books.record_income(collective, args["received_on"], args["source"], args["amount"], args["right_number"])
        audit.record("collective.income", "collective", collective.credit_code, detail={"amount": str(args["amount"])})
        db.session.commit()
        return item


@blp.route("/<code>/distributions")
class Distributions(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, DistributionSchema(many=True))
    def get(self, code: str):
        return queries.distributions(_collective(code, "collective.view"))

    @blp.doc(security=SECURITY)
    @blp.arguments(DistributeArgs)
    @blp.response(201, DistributionSchema)
    def post(self, args, code: str):
        """Distribute a year's income by a passed distribution resolution; payouts sum exactly to the dividends."""
        from exchange.collectives.models import Motion

        collective = _collective(code, "collective.manage")
        plan = queries.share_plan(collective)
        if plan is None:
            from exchange.errors import DomainError
            raise DomainError("DIST-PLAN", "本集体尚无股份量化方案。", "This collective has no share plan yet.", field="plan")
        motion = db.session.get(Motion, args["motion_id"])
        item = books.distribute(collective, args["year"], plan, motion, args["percentages"])
        audit.record("collective.distribute", "collective", collective.credit_code, detail={"year": args["year"]})
        db.session.commit()
        return item
