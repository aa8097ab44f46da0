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


# --- membership procedure ------------------------------------------------------------------------------

from exchange.collectives.models import MemberEventKind, Motion, Notice, Objection  # noqa: E402
from exchange.errors import DomainError  # noqa: E402
from exchange.registry.models import Household, Person  # noqa: E402
from sqlalchemy import select  # noqa: E402


def _people(collective, id_hashes: list[str], field: str) -> list[Person]:
    """People of this collective named by the keyed hash of their ID number (never the number itself)."""
    found = list(db.session.scalars(select(Person).join(Household).where(
        Household.collective_id == collective.id, Person.id_number_hash.in_(id_hashes))))
    missing = set(id_hashes) - {p.id_number_hash for p in found}
    if missing:
        raise DomainError("PERSON-UNKNOWN", f"本集体没有这些人员：{sorted(missing)[:3]}。",
                          f"No such person in this collective: {sorted(missing)[:3]}.", field=field)
    return found


def _motion(collective, motion_id: int | None) -> Motion | None:
    motion = db.session.get(Motion, motion_id) if motion_id else None
    if motion is not None and motion.meeting.collective_id != collective.id:
        return None
    return motion


class CandidatesArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["initial_roll", "application", "birth", "marriage_in"]))
    on = fields.Date(required=True)
    reason = fields.String(load_default="")
    persons = fields.List(fields.String(), required=True, validate=validate.Length(min=1),
                          metadata={"description": "keyed hashes of the persons' ID numbers (id_hash)"})


class NoticeArgs(Schema):
    starts_on = fields.Date(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    persons = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class NoticeSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    ledger_index = fields.Integer()


class ObjectionArgs(Schema):
    person = fields.String(load_default=None, allow_none=True, metadata={"description": "id_hash of whom it concerns"})
    raised_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    text = fields.String(required=True, validate=validate.Length(min=1))
    on = fields.Date(required=True)


class ObjectionSchema(Schema):
    id = fields.Integer()
    raised_by = fields.String()
    text = fields.String()
    handled = fields.Function(lambda o: o.handled_at is not None)
    upheld = fields.Boolean(allow_none=True)
    outcome = fields.String(allow_none=True)


class HandlingArgs(Schema):
    outcome = fields.String(required=True)
    upheld = fields.Boolean(required=True)


class ConfirmArgs(Schema):
    motion_id = fields.Integer(required=True)


class ChangeArgs(Schema):
    person = fields.String(required=True, metadata={"description": "id_hash"})
    kind = fields.String(required=True, validate=validate.OneOf(
        ["marriage_out", "death", "moved_to_town", "voluntary_exit", "loss_by_resolution"]))
    on = fields.Date(required=True)
    reason = fields.String(required=True)
    motion_id = fields.Integer(load_default=None, allow_none=True)


class EventCountSchema(Schema):
    count = fields.Integer()
    ledger_index = fields.Integer()


@blp.route("/<code>/members/candidates")
class Candidates(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(CandidatesArgs)
    @blp.response(201, EventCountSchema)
    def post(self, args, code: str):
        """Put people forward for confirmation: initial roll, application, birth or marriage in."""
        collective = _collective(code, "collective.manage")
        events = books.list_candidates(collective, _people(collective, args["persons"], "persons"),
                                       MemberEventKind(args["kind"]), args["on"], args["reason"])
        audit.record("collective.candidates", "collective", collective.credit_code, detail={"count": len(events)})
        db.session.commit()
        return {"count": len(events), "ledger_index": events[0].ledger_index}


@blp.route("/<code>/notices")
class Notices(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(NoticeArgs)
    @blp.response(201, NoticeSchema)
    def post(self, args, code: str):
        """Open a public notice (公示) of people to be confirmed; it runs MEMBER_NOTICE_DAYS days."""
        collective = _collective(code, "collective.manage")
        notice = books.open_notice(collective, _people(collective, args["persons"], "persons"), args["starts_on"],
                                   args["title"])
        audit.record("collective.notice", "notice", notice.id)
        db.session.commit()
        return notice


def _notice(collective, notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.collective_id != collective.id:
        abort(404)
    return notice


@blp.route("/<code>/notices/<int:notice_id>/objections")
class Objections(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ObjectionArgs)
    @blp.response(201, ObjectionSchema)
    def post(self, args, code: str, notice_id: int):
        """Record an objection raised during the notice."""
        collective = _collective(code, "collective.manage")
        notice = _notice(collective, notice_id)
        person = _people(collective, [args["person"]], "person")[0] if args["person"] else None
        objection = books.raise_objection(notice, person, args["raised_by"], args["text"], args["on"])
        db.session.commit()
        return objection


@blp.route("/<code>/objections/<int:objection_id>/handling")
class Handling(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(HandlingArgs)
    @blp.response(200, ObjectionSchema)
    def post(self, args, code: str, objection_id: int):
        """Record how an objection was handled (upheld: the person is not confirmed)."""
        collective = _collective(code, "collective.manage")
        objection = db.session.get(Objection, objection_id)
        if objection is None or objection.notice.collective_id != collective.id:
            abort(404)
        books.handle_objection(objection, args["outcome"], args["upheld"])
        db.session.commit()
        return objection


@blp.route("/<code>/notices/<int:notice_id>/confirmation")
class Confirmation(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ConfirmArgs)
    @blp.response(201, EventCountSchema)
    def post(self, args, code: str, notice_id: int):
        """Confirm the people of a notice by a passed membership resolution held after the notice ended."""
        collective = _collective(code, "collective.manage")
        events = books.confirm_members(_notice(collective, notice_id), _motion(collective, args["motion_id"]))
        audit.record("collective.confirm", "notice", notice_id, detail={"count": len(events)})
        db.session.commit()
        return {"count": len(events), "ledger_index": events[0].ledger_index if events else None}


@blp.route("/<code>/members/changes")
class Changes(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ChangeArgs)
    @blp.response(201, EventCountSchema)
    def post(self, args, code: str):
        """A change of membership: marriage out, death, settling in town (keeps rights), paid exit, loss by resolution."""
        collective = _collective(code, "collective.manage")
        person = _people(collective, [args["person"]], "person")[0]
        event = books.record_member_change(collective, person, MemberEventKind(args["kind"]), args["on"],
                                           args["reason"], _motion(collective, args["motion_id"]))
        audit.record("collective.member_change", "collective", collective.credit_code, detail={"kind": args["kind"]})
        db.session.commit()
        return {"count": 1, "ledger_index": event.ledger_index}


# --- shares and income import --------------------------------------------------------------------------


class SharePlanSchema(Schema):
    id = fields.Integer()
    cutoff_on = fields.Date()
    quantified_value = fields.Decimal(as_string=True)
    total_shares = fields.Integer()
    types = fields.List(fields.Dict())
    resolution = fields.Function(lambda p: p.motion.resolution_number)
    ledger_index = fields.Integer()
    balances = fields.Method("dump_balances")

    def dump_balances(self, plan):
        codes = {h.id: h.code for h in db.session.scalars(select(Household).where(Household.collective_id == plan.collective_id))}
        return {codes.get(k, "collective"): str(v) for k, v in books.share_balances(plan).items()}


class SharePlanArgs(Schema):
    motion_id = fields.Integer(required=True)
    cutoff_on = fields.Date(required=True)
    quantified_value = fields.Decimal(required=True, as_string=True)
    total_shares = fields.Integer(required=True)
    types = fields.List(fields.Dict(), required=True)
    asset_codes = fields.List(fields.String(), load_default=list)


class ShareTransferArgs(Schema):
    from_household = fields.String(required=True)
    to_household = fields.String(required=True)
    shares = fields.Decimal(required=True, as_string=True)
    reason = fields.String(required=True, validate=validate.OneOf(["inheritance", "transfer"]))
    price = fields.Decimal(load_default=None, allow_none=True, as_string=True)


class ShareExitArgs(Schema):
    household = fields.String(required=True)
    shares = fields.Decimal(required=True, as_string=True)
    price = fields.Decimal(required=True, as_string=True)
    motion_id = fields.Integer(required=True)


def _household(collective, code: str, field: str) -> Household:
    """A household of this collective (one of another collective is not named, nor said to exist)."""
    household = db.session.scalar(select(Household).where(Household.code == code,
                                                          Household.collective_id == collective.id))
    if household is None:
        raise DomainError("HOUSEHOLD-UNKNOWN", f"本集体没有承包方编码为 {code} 的农户。",
                          f"No household {code} in this collective.", field=field)
    return household


def _plan(collective):
    plan = queries.share_plan(collective)
    if plan is None:
        raise DomainError("DIST-PLAN", "本集体尚无股份量化方案。", "This collective has no share plan yet.", field="plan")
    return plan


@blp.route("/<code>/share-plan")
class SharePlanView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, SharePlanSchema)
    def get(self, code: str):
        """The share plan and every household's current balance (the collective's own as "collective")."""
        return _plan(_collective(code, "collective.view"))

    @blp.doc(security=SECURITY)
    @blp.arguments(SharePlanArgs)
    @blp.response(201, SharePlanSchema)
    def post(self, args, code: str):
        """Adopt the share quantification plan by a passed share_plan resolution; totals equal the plan exactly."""
        collective = _collective(code, "collective.manage")
        plan = books.adopt_share_plan(collective, _motion(collective, args["motion_id"]), args["cutoff_on"],
                                      args["quantified_value"], args["total_shares"], args["types"], args["asset_codes"])
        audit.record("collective.share_plan", "collective", collective.credit_code)
        db.session.commit()
        return plan


@blp.route("/<code>/share-transfers")
class ShareTransfers(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ShareTransferArgs)
    @blp.response(201, EventCountSchema)
    def post(self, args, code: str):
        """Inheritance or transfer of shares between households of the collective."""
        collective = _collective(code, "collective.manage")
        index = books.transfer_shares(_plan(collective), _household(collective, args["from_household"], "from_household"),
                                      _household(collective, args["to_household"], "to_household"), args["shares"],
                                      args["reason"], args["price"])
        audit.record("collective.share_transfer", "collective", collective.credit_code)
        db.session.commit()
        return {"count": 1, "ledger_index": index}


@blp.route("/<code>/share-exits")
class ShareExits(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ShareExitArgs)
    @blp.response(201, EventCountSchema)
    def post(self, args, code: str):
        """Paid voluntary exit (股权有偿退出) by a passed share_exit resolution."""
        collective = _collective(code, "collective.manage")
        index = books.exit_shares(_plan(collective), _household(collective, args["household"], "household"),
                                  args["shares"], args["price"], _motion(collective, args["motion_id"]))
        audit.record("collective.share_exit", "collective", collective.credit_code)
        db.session.commit()
        return {"count": 1, "ledger_index": index}


class IncomeImportSchema(Schema):
    imported = fields.Integer()
    total = fields.Decimal(as_string=True)


@blp.route("/<code>/income/import")
class IncomeImport(MethodView):
    @blp.doc(security=SECURITY, description="CSV (UTF-8 or GB18030) with columns received_on, source, amount[, right_number]; "
                                            "all rows or none: a bad row refuses the file with every bad row listed.")
    @blp.response(201, IncomeImportSchema)
    def post(self, code: str):
        from flask import request

        from exchange.collectives.imports import import_income_csv

        collective = _collective(code, "collective.manage")
        upload = request.files.get("file")
        if upload is None:
            raise DomainError("FILE-REQUIRED", "请上传 CSV 文件（字段名 file）。", "Upload a CSV file in the field 'file'.",
                              field="file")
        items = import_income_csv(collective, upload.read())
        audit.record("collective.income_import", "collective", collective.credit_code, detail={"rows": len(items)})
        db.session.commit()
        return {"imported": len(items), "total": sum((i.amount for i in items), 0)}


from exchange.collectives import api_documents  # noqa: E402,F401  (its routes are on ``blp``)
