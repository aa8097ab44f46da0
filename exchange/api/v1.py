"""Core endpoints: health, the calling account, administrative divisions, identifier checks."""
from __future__ import annotations

from flask import abort, current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exchange.access import require
from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.identifiers import mask_resident_id, validate_division_code, validate_resident_id, validate_uscc

blp = Blueprint("core", __name__, description="Platform basics: health, accounts, divisions, identifiers")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


class AccountSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda a: a.role.value)
    jurisdiction = fields.Function(lambda a: a.division.code if a.division else None)
    institution = fields.String(allow_none=True)


class DivisionSchema(Schema):
    code = fields.String()
    name = fields.String()
    full_name = fields.String()
    level = fields.Enum(DivisionLevel)
    statistical_code = fields.String()
    parent_code = fields.Function(lambda d: d.parent.code if d.parent else None)


class DivisionTreeSchema(DivisionSchema):
    children = fields.List(fields.Nested(DivisionSchema))


class IdentifierCheckArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["resident_id", "credit_code", "division_code"]))
    value = fields.String(required=True, validate=validate.Length(max=40))


class IdentifierCheckSchema(Schema):
    kind = fields.String()
    valid = fields.Boolean()
    normalized = fields.String(metadata={"description": "The normalised value; a resident ID only masked"})


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        db.session.execute(select(1))
        return {"status": "ok", "database": db.engine.dialect.name}


@blp.route("/me")
class Me(MethodView):
    @blp.doc(security=[{"apiKey": []}])
    @blp.response(200, AccountSchema)
    def get(self):
        if not current_user.is_authenticated:
            abort(401)
        return current_user


@blp.route("/divisions")
class Divisions(MethodView):
    @blp.response(200, DivisionSchema(many=True))
    def get(self):
        """All administrative divisions (public: names and codes only)."""
        return db.session.scalars(select(Division).order_by(Division.code)).all()


@blp.route("/divisions/<code>")
class DivisionDetail(MethodView):
    @blp.response(200, DivisionTreeSchema)
    def get(self, code: str):
        validate_division_code(code, "code")
        division = db.session.scalar(select(Division).where(Division.code == code))
        if division is None:
            abort(404, description=f"行政区划代码 {code} 不存在 / unknown division code {code}")
        return division


@blp.route("/identifiers/check")
class IdentifierCheck(MethodView):
    @blp.arguments(IdentifierCheckArgs)
    @blp.response(200, IdentifierCheckSchema)
    def post(self, args):
        """Validate a resident ID, credit code or division code; refusals name what is wrong (422)."""
        kind, value = args["kind"], args["value"]
        if kind == "resident_id":
            normalized = mask_resident_id(validate_resident_id(value, "value"))
        elif kind == "credit_code":
            normalized = validate_uscc(value, "value")
        else:
            normalized = validate_division_code(value, "value")
        return {"kind": kind, "valid": True, "normalized": normalized}
