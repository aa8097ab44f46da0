"""Registry pages: a parcel or asset with its map, rights and timeline; a household's rights; a village;
search; and the form that splits a management right off a contract right."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange.access import may, require
from exchange.audit import operations as audit
from exchange.db import db
from exchange.divisions.models import Division
from exchange.errors import DomainError
from exchange.registry import operations, queries
from exchange.registry.forms import ManagementTransferForm
from exchange.registry.maps import Shape, svg_map
from exchange.registry.models import (
    CollectiveAsset, Homestead, Household, LandClass, Organisation, Parcel, RightType, to_mu,
)

bp = Blueprint("registry", __name__, url_prefix="/registry")


@bp.app_template_filter("mu")
def mu_filter(area_m2) -> str:
    return f"{to_mu(area_m2)}"


def _locale() -> str:
    return str(get_locale() or "zh_CN")


@bp.get("/parcels/<code>")
@login_required
def parcel(code: str):
    item = queries.one_or_404(Parcel, code=code)
    require("registry.view", item.division, "parcel", code)
    return _asset_page(item, "parcel")


@bp.get("/homesteads/<code>")
@login_required
def homestead(code: str):
    item = queries.one_or_404(Homestead, code=code)
    require("registry.view", item.division, "homestead", code)
    return _asset_page(item, "homestead")


@bp.get("/assets/<code>")
@login_required
def asset(code: str):
    item = queries.one_or_404(CollectiveAsset, code=code)
    require("registry.view", item.division, "collective_asset", code)
    return _asset_page(item, "asset")


def _asset_page(item, kind: str):
    rights = queries.rights_on(item)
    geometry = getattr(item, "geometry", None)
    drawing = svg_map([Shape(geometry, item.code)], width=420, max_height=320, title=item.code) if geometry else ""
    return render_template("registry/asset.html", item=item, kind=kind, rights=rights,
                           active=[r for r in rights if r.active], ended=[r for r in rights if not r.active],
                           events=queries.timeline(item), drawing=drawing,
                           can_edit=may(current_user, "registry.edit", item.division))


@bp.get("/households/<code>")
@login_required
def household(code: str):
    item = queries.one_or_404(Household, code=code)
    require("registry.view", item.division, "household", code)
    rights = queries.household_rights(item)
    return render_template("registry/household.html", household=item, rights=rights,
                           active=[r for r in rights if r.active], ended=[r for r in rights if not r.active])


@bp.get("/villages/<code>")
@login_required
def village(code: str):
    division = queries.one_or_404(Division, code=code)
    require("registry.view", division, "division", code)
    land_class = request.args.get("land_class") or None
    if land_class and land_class not in LandClass.__members__:
        land_class = None
    parcels = queries.parcels_in(division, land_class)
    shapes = [Shape(p.geometry, f"{p.code} {p.name} {to_mu(p.area_m2)}亩", url_for("registry.parcel", code=p.code),
                    f"parcel {p.land_class.value}") for p in parcels]
    assets = db.session.scalars(select(CollectiveAsset).join(Division, CollectiveAsset.division_id == Division.id)
                                .where(Division.code.startswith(division.code)).order_by(CollectiveAsset.code)).all()
    return render_template("registry/village.html", division=division, parcels=parcels, assets=assets,
                           drawing=svg_map(shapes, title=division.full_name), land_class=land_class,
                           land_classes=list(LandClass))


@bp.get("/search")
@login_required
def search():
    q = request.args.get("q", "")
    within = current_user.division if current_user.role.is_staff else None
    if not may(current_user, "registry.view"):
        require("registry.view")
    results = queries.search(q, within)
    return render_template("registry/search.html", q=q, results=results)


def _find_transferee(code: str):
    code = code.strip().upper()
    if len(code) == 18 and code.isdigit():
        found = db.session.scalar(select(Household).where(Household.code == code))
    else:
        found = db.session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if found is None:
        raise DomainError("TRANSFEREE-UNKNOWN",
                          f"找不到受让方 {code}：请填写已登记组织的统一社会信用代码（18 位）或农户的承包方编码（18 位数字）。",
                          f"No transferee {code}: give a registered organisation's credit code (18 characters) "
                          "or a household's 承包方编码 (18 digits).", field="transferee")
    return found


@bp.route("/rights/<number>/transfer", methods=["GET", "POST"])
@login_required
def transfer(number: str):
    """Split a management right off a contract right (or re-transfer a management right)."""
    right = queries.right_or_404(number)
    require("registry.edit", right.division, "right", number)
    form = ManagementTransferForm()
    errors: list[dict] = []
    if request.method == "GET" and right.parcel is not None:
        form.parcel.data = f"{right.parcel.name}，{right.parcel.code}，{right.parcel.area_m2} 平方米（{to_mu(right.parcel.area_m2)} 亩）"
    if form.validate_on_submit():
        try:
            if right.right_type not in (RightType.contract, RightType.management):
                raise DomainError("RIGHT-TYPE", "只能从承包权分离或再流转土地经营权。",
                                  "A management right comes from a contract right or another management right.",
                                  field="right")
            transferee = _find_transferee(form.transferee.data)
            contract = {name: getattr(form, name).data for name in form.ART40}
            new = operations.transfer_management_right(
                right, transferee, form.start_date.data, form.end_date.data, mode=form.mode.data,
                permitted_use=form.permitted_use.data, contract=contract, price=form.price.data,
                consents={"filed_with_collective": form.filed_with_collective.data,
                          "contracting_household": form.contracting_household.data,
                          "pledgee": form.pledgee.data},
                applicant=right.holders[0].holder, county_review=form.county_review.data or None)
        except DomainError as error:
            db.session.rollback()
            errors = error.details or [{"code": error.code, "message_zh": error.message_zh,
                                        "message_en": error.message_en, "field": error.field}]
        else:
            from exchange.certificates.models import CertificateKind
            from exchange.certificates.operations import issue_certificate

            certificate = issue_certificate(CertificateKind.transaction, new)
            audit.record("registry.transfer_management", "right", new.number,
                         detail={"from": right.number, "ledger_index": new.ledger_index,
                                 "certificate": certificate.number})
            db.session.commit()
            flash(_("已登记土地经营权 %(number)s（账本条目 %(index)s），交易鉴证书 %(certificate)s。",
                    number=new.number, index=new.ledger_index, certificate=certificate.number), "success")
            return redirect(url_for("registry.parcel", code=new.parcel.code))
    status = 422 if request.method == "POST" else 200
    return render_template("registry/transfer.html", right=right, form=form, errors=errors,
                           locale=_locale()), status


from flask_babel import lazy_gettext as _l  # noqa: E402  (labels below are module constants)

RIGHT_LABELS = {
    RightType.ownership: _l("所有权"), RightType.contract: _l("土地承包权"), RightType.management: _l("土地经营权"),
    RightType.qualification: _l("宅基地资格权"), RightType.homestead_use: _l("宅基地使用权"),
    RightType.construction_use: _l("集体经营性建设用地使用权"), RightType.lease: _l("租赁经营权"),
    RightType.shares: _l("集体资产股份"),
}
END_REASONS = {"transferred": _l("已转让"), "expired": _l("已到期"), "corrected": _l("已更正"), "surrendered": _l("已退出")}
ACTION_LABELS = {
    "register_asset": _l("确权登记"), "grant_contract_right": _l("发包（承包权登记）"),
    "transfer_management": _l("土地经营权流转"), "allocate_homestead": _l("宅基地分配"), "lease_use": _l("使用权出租"),
    "grant_construction_use": _l("建设用地使用权出让/出租"), "lease_asset": _l("集体资产出租"), "pledge": _l("抵押登记"),
    "release_pledge": _l("解除抵押"), "freeze": _l("查封"), "unfreeze": _l("解封"), "expire": _l("到期终止"),
    "correct": _l("更正登记"),
}
LAND_CLASS_LABELS = {"arable": _l("耕地"), "garden": _l("园地"), "forest": _l("林地"), "grassland": _l("草地"),
                     "water": _l("养殖水面")}


@bp.app_context_processor
def registry_labels():
    return {"right_labels": RIGHT_LABELS, "end_reasons": END_REASONS, "action_labels": ACTION_LABELS,
            "land_class_labels": LAND_CLASS_LABELS}
