"""``/api/v1/registry``: parcels, households' rights, rights, and the operations on them."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from exchange.access import require
from exchange.audit import operations as audit
from exchange.db import db
from exchange.divisions.models import Division
from exchange.errors import DomainError
from exchange.registry import operations, queries
from exchange.registry.models import Encumbrance, Freeze, Household, Organisation, OrganisationKind, Parcel
from exchange.registry.schemas import (
    CorrectionArgs, EventSchema, FreezeArgs, FreezeSchema, EncumbranceSchema, LedgerRefSchema, LiftArgs,
    ManagementTransferArgs, ParcelDetailSchema, ParcelListArgs, ParcelSchema, PledgeArgs, ReleaseArgs, RightSchema,
)

blp = Blueprint("registry_api", __name__, description="Rights registry: parcels, rights, transfers, pledges, freezes")
SECURITY = [{"apiKey": []}]


def _signed_in() -> None:
    if not current_user.is_authenticated:
        abort(401)


def _party(code: str, field: str, *, bank: bool = False):
    code = code.strip().upper()
    found = (db.session.scalar(select(Household).where(Household.code == code))
             if code.isdigit() and not bank else None) or \
        db.session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if found is None or (bank and found.kind != OrganisationKind.bank):
        what_zh, what_en = ("银行", "bank") if bank else ("组织或农户", "organisation or household")
        raise DomainError("PARTY-UNKNOWN", f"找不到{what_zh} {code}：请填写已登记的统一社会信用代码或承包方编码。",
                          f"No registered {what_en} with code {code}.", field=field, status=422)
    return found


@blp.route("/parcels")
class Parcels(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ParcelListArgs, location="query")
    @blp.response(200, ParcelSchema(many=True))
    def get(self, args):
        """Parcels of a village or group, optionally of one land class."""
        _signed_in()
        division = db.session.scalar(select(Division).where(Division.code == args["village"]))
        if division is None:
            raise DomainError("DIVISION-UNKNOWN", f"行政区划 {args['village']} 不存在。",
                              f"No division {args['village']}.", field="village", status=404)
        require("registry.view", division, "division", division.code)
        return queries.parcels_in(division, args.get("land_class"))


@blp.route("/parcels/<code>")
class ParcelView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, ParcelDetailSchema)
    def get(self, code: str):
        """A parcel with every right on it (active and ended), pledges and freezes."""
        _signed_in()
        parcel = queries.one_or_404(Parcel, code=code)
        require("registry.view", parcel.division, "parcel", code)
        parcel.loaded_rights = queries.rights_on(parcel)
        return parcel


@blp.route("/parcels/<code>/timeline")
class ParcelTimeline(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, EventSchema(many=True))
    def get(self, code: str):
        """Every change to the parcel's rights, each with its ledger entry index."""
        _signed_in()
        parcel = queries.one_or_404(Parcel, code=code)
        require("registry.view", parcel.division, "parcel", code)
        return queries.timeline(parcel)


@blp.route("/households/<code>/rights")
class HouseholdRights(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, RightSchema(many=True))
    def get(self, code: str):
        """Every right the household holds or held, on every asset."""
        _signed_in()
        household = queries.one_or_404(Household, code=code)
        require("registry.view", household.division, "household", code)
        return queries.household_rights(household)


@blp.route("/rights/<number>")
class RightView(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, RightSchema)
    def get(self, number: str):
        _signed_in()
        right = queries.right_or_404(number)
        require("registry.view", right.division, "right", number)
        return right


def _done(action: str, object_type: str, object_id, detail: dict) -> None:
    audit.record(action, object_type, object_id, detail=detail)
    db.session.commit()


@blp.route("/rights/<number>/transfers")
class Transfers(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ManagementTransferArgs)
    @blp.response(201, RightSchema)
    def post(self, args, number: str):
        """Split a management right off a contract right, or re-transfer a management right (rules checked)."""
        _signed_in()
        right = queries.right_or_404(number)
        require("registry.edit", right.division, "right", number)
        new = operations.transfer_management_right(
            right, _party(args["transferee"], "transferee"), args["start_date"], args["end_date"],
            mode=args["mode"], permitted_use=args["permitted_use"], contract=args["contract"], price=args["price"],
            consents=args["consents"], applicant=right.holders[0].holder, county_review=args["county_review"],
            register=args["register"])
        from exchange.certificates.models import CertificateKind
        from exchange.certificates.operations import issue_certificate

        certificate = issue_certificate(CertificateKind.transaction, new)
        _done("registry.transfer_management", "right", new.number, {"from": number, "ledger_index": new.ledger_index,
                                                                    "certificate": certificate.number})
        return new


@blp.route("/rights/<number>/pledges")
class Pledges(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(PledgeArgs)
    @blp.response(201, EncumbranceSchema)
    def post(self, args, number: str):
        """Register a pledge (抵押登记) of the right to a bank."""
        _signed_in()
        right = queries.right_or_404(number)
        require("collateral.register", right.division, "right", number)
        encumbrance = operations.pledge(right, _party(args["pledgee"], "pledgee", bank=True), args["amount"],
                                        args["start_date"], args["end_date"], contract_number=args["contract_number"],
                                        applicant=right.holders[0].holder, consents=args["consents"])
        from exchange.certificates.models import CertificateKind
        from exchange.certificates.operations import issue_certificate

        certificate = issue_certificate(CertificateKind.mortgage, right, encumbrance)
        _done("registry.pledge", "right", number, {"encumbrance": encumbrance.id, "certificate": certificate.number})
        encumbrance.certificate_number = certificate.number
        return encumbrance


@blp.route("/encumbrances/<int:encumbrance_id>/release")
class Release(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(ReleaseArgs)
    @blp.response(200, LedgerRefSchema)
    def post(self, args, encumbrance_id: int):
        """Release a pledge (解押)."""
        _signed_in()
        encumbrance = db.session.get(Encumbrance, encumbrance_id) or abort(404)
        require("collateral.register", encumbrance.right.division, "encumbrance", encumbrance_id)
        index = operations.release_pledge(encumbrance, args["reason"])
        _done("registry.release", "encumbrance", encumbrance_id, {"ledger_index": index})
        return {"ledger_index": index}


@blp.route("/rights/<number>/freezes")
class Freezes(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(FreezeArgs)
    @blp.response(201, FreezeSchema)
    def post(self, args, number: str):
        """Record a freeze (查封) by a court or authority."""
        _signed_in()
        right = queries.right_or_404(number)
        require("registry.freeze", right.division, "right", number)
        item = operations.freeze(right, args["authority"], args["document_number"], args["reason"])
        _done("registry.freeze", "right", number, {"freeze": item.id})
        return item


@blp.route("/freezes/<int:freeze_id>/lift")
class Lift(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(LiftArgs)
    @blp.response(200, LedgerRefSchema)
    def post(self, args, freeze_id: int):
        """Lift a freeze (解封)."""
        _signed_in()
        item = db.session.get(Freeze, freeze_id) or abort(404)
        require("registry.freeze", item.right.division, "freeze", freeze_id)
        index = operations.unfreeze(item, args["document_number"])
        _done("registry.unfreeze", "freeze", freeze_id, {"ledger_index": index})
        return {"ledger_index": index}


@blp.route("/rights/<number>/corrections")
class Corrections(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(CorrectionArgs)
    @blp.response(201, RightSchema)
    def post(self, args, number: str):
        """Correct a registration error: a new right supersedes this one, with a reason."""
        _signed_in()
        right = queries.right_or_404(number)
        require("registry.correct", right.division, "right", number)
        reason = args.pop("reason")
        new = operations.correct_registration(right, args, reason)
        _done("registry.correct", "right", new.number, {"supersedes": number, "reason": reason})
        return new
