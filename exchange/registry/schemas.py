"""Registry schemas, named by role (style.md §5). Holders are named by code; people only masked."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from exchange.registry.models import to_mu


class HolderSchema(Schema):
    type = fields.Function(lambda h: h.holder_type.value)
    code = fields.Function(lambda h: (h.household.code if h.household else h.organisation.credit_code
                                      if h.organisation else h.collective.credit_code if h.collective
                                      else h.person.id_number_masked))
    name = fields.Function(lambda h: h.public_name)
    share = fields.Decimal(as_string=True)


class EncumbranceSchema(Schema):
    id = fields.Integer()
    pledgee = fields.Function(lambda e: e.pledgee.name)
    amount = fields.Decimal(as_string=True)
    start_date = fields.Date()
    end_date = fields.Date()
    contract_number = fields.String()
    released = fields.Function(lambda e: e.released_at is not None)
    ledger_index = fields.Integer()
    certificate_number = fields.String(dump_only=True, metadata={"description": "the mortgage registration certificate"})


class FreezeSchema(Schema):
    id = fields.Integer()
    authority = fields.String()
    document_number = fields.String()
    reason = fields.String()
    lifted = fields.Function(lambda f: f.lifted_at is not None)
    ledger_index = fields.Integer()


class RightSchema(Schema):
    number = fields.String()
    right_type = fields.Function(lambda r: r.right_type.value)
    asset = fields.Function(lambda r: {"type": r.subject[0], "code": r.subject[1]})
    holders = fields.List(fields.Nested(HolderSchema))
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    mode = fields.String(allow_none=True)
    permitted_use = fields.String(allow_none=True)
    derived_from = fields.Function(lambda r: r.derived_from.number if r.derived_from else None)
    active = fields.Boolean()
    end_reason = fields.String(allow_none=True)
    encumbrances = fields.List(fields.Nested(EncumbranceSchema))
    freezes = fields.List(fields.Nested(FreezeSchema))
    ledger_index = fields.Integer(metadata={"description": "index of the ledger entry that created the right"})


class ParcelSchema(Schema):
    code = fields.String()
    name = fields.String()
    group = fields.Function(lambda p: p.division.code)
    collective = fields.Function(lambda p: p.collective.credit_code)
    area_m2 = fields.Decimal(as_string=True)
    area_mu = fields.Function(lambda p: str(to_mu(p.area_m2)))
    land_class = fields.Function(lambda p: p.land_class.value)
    land_use = fields.String()
    basic_farmland = fields.Boolean()
    boundaries = fields.Dict()
    geometry = fields.Dict(metadata={"description": "GeoJSON Polygon (WGS 84)"})


class ParcelDetailSchema(ParcelSchema):
    rights = fields.List(fields.Nested(RightSchema), attribute="loaded_rights")


class ParcelListArgs(Schema):
    village = fields.String(required=True, validate=validate.Regexp(r"^\d{12}(\d{2})?$", error="应为 12 位村级或 14 位组级代码 (a 12-digit village or 14-digit group code)"))
    land_class = fields.String(validate=validate.OneOf(["arable", "garden", "forest", "grassland", "water"]))


class EventSchema(Schema):
    action = fields.String()
    kind = fields.String()
    right = fields.Function(lambda e: e.right.number if e.right else None)
    ledger_index = fields.Integer()
    account = fields.String(allow_none=True)
    summary = fields.Dict()
    created_at = fields.DateTime()


class ConsentsSchema(Schema):
    filed_with_collective = fields.Boolean(load_default=False)
    contracting_household = fields.Boolean(load_default=False)
    pledgee = fields.Boolean(load_default=False)


class TermArgs(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)

    @validates_schema
    def _order(self, data, **_kwargs):
        if data.get("start_date") and data.get("end_date") and data["end_date"] <= data["start_date"]:
            raise ValidationError("终止日期应晚于起始日期 (end_date must be after start_date)", "end_date")


class ManagementTransferArgs(TermArgs):
    transferee = fields.String(required=True, validate=validate.Length(equal=18),
                               metadata={"description": "organisation credit code or household code (18)"})
    mode = fields.String(required=True, validate=validate.OneOf(["出租", "转包", "入股", "转让", "其他"]))
    permitted_use = fields.String(required=True, metadata={"description": "TDYT code: 1 cropping … 4 fishery"})
    price = fields.String(required=True, validate=validate.Length(min=1, max=100))
    contract = fields.Dict(required=True, metadata={"description": "Art 40 items: parties, parcel, term, use, "
                                                                   "rights_duties, price_payment, expropriation, liability"})
    consents = fields.Nested(ConsentsSchema, load_default=dict)
    county_review = fields.String(load_default=None, allow_none=True)
    register = fields.Boolean(load_default=True)


class PledgeArgs(TermArgs):
    pledgee = fields.String(required=True, validate=validate.Length(equal=18), metadata={"description": "bank credit code"})
    amount = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0, min_inclusive=False))
    contract_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    consents = fields.Nested(ConsentsSchema, load_default=dict)


class FreezeArgs(Schema):
    authority = fields.String(required=True, validate=validate.Length(min=1, max=200))
    document_number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class ReleaseArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class LiftArgs(Schema):
    document_number = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CorrectionArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))
    start_date = fields.Date()
    end_date = fields.Date()
    permitted_use = fields.String()
    mode = fields.String()


class LedgerRefSchema(Schema):
    ledger_index = fields.Integer()
