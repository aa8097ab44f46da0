"""The bank's collateral page (its mortgages, statuses, expiring terms, a new application) and the staff's queue."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField
from exchange.web.forms import choices
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exchange.access import may, require
from exchange.audit import operations as audit
from exchange.collateral import disposal as disposals
from exchange.collateral import operations as collateral
from exchange.collateral.models import CollateralApplication, CollateralStep
from exchange.db import db
from exchange.divisions.models import Division
from exchange.errors import DomainError
from exchange.registry.models import Right

bp = Blueprint("collateral", __name__, url_prefix="/collateral")
STEP_LABELS = {CollateralStep.applied: _l("待登记"), CollateralStep.registered: _l("已登记"), CollateralStep.refused: _l("不予登记"),
               CollateralStep.released: _l("已解押"), CollateralStep.disposal_requested: _l("违约处置中"),
               CollateralStep.disposed: _l("已处置清偿")}
RECIPIENT_LABELS = {"bank": _l("抵押权人（银行）"), "holder": _l("权利人（余款）")}


class ApplyForm(FlaskForm):
    right = StringField(_l("抵押权利编号"), validators=[DataRequired(_l("请填写权利编号。")), Length(max=40)])
    loan_amount = DecimalField(_l("贷款金额（元）"), validators=[DataRequired(_l("请填写贷款金额。")), NumberRange(min=0.01)])
    start_date = DateField(_l("起始日期"), validators=[DataRequired(_l("请填写起始日期。"))])
    end_date = DateField(_l("终止日期"), validators=[DataRequired(_l("请填写终止日期。"))])
    method = SelectField(_l("估值方式"), choices=choices([("rent", _l("年租金 × 剩余年限 + 附着物")), ("appraisal", _l("评估价值"))]))
    annual_rent = DecimalField(_l("年租金（元）"), validators=[Optional()])
    attachments = DecimalField(_l("地上附着物价值（元）"), validators=[Optional()])
    appraisal = DecimalField(_l("评估价值（元）"), validators=[Optional()])
    appraiser = StringField(_l("评估机构"), validators=[Optional(), Length(max=200)])
    contract_number = StringField(_l("抵押合同编号"), validators=[DataRequired(_l("请填写抵押合同编号。")), Length(max=40)])
    guarantee = StringField(_l("担保"), validators=[Optional(), Length(max=300)])
    insurance = StringField(_l("保险"), validators=[Optional(), Length(max=300)])
    contracting_household = BooleanField(_l("承包方书面同意（受让方的经营权抵押时）"))
    filed_with_collective = BooleanField(_l("已向发包方备案"))


class StepForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)])
    outstanding = StringField(_l("未偿还金额（元）"), validators=[Optional(), Length(max=20)])


class DisposalListingForm(FlaskForm):
    reserve_price = StringField(_l("处置底价（元，总价）"), validators=[Optional(), Length(max=20)])
    start_date = DateField(_l("流转起始日期"), validators=[DataRequired(_l("请填写起始日期。"))])
    end_date = DateField(_l("流转终止日期"), validators=[DataRequired(_l("请填写终止日期。"))])
    payment_terms = StringField(_l("付款方式"), validators=[Optional(), Length(max=300)])


@bp.app_context_processor
def collateral_labels():
    # step_labels is the old name (the exchange's listing pages define their own step_labels too)
    return {"step_labels": STEP_LABELS, "collateral_step_labels": STEP_LABELS, "recipient_labels": RECIPIENT_LABELS}


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    """Banks: their mortgages and a new application. Township/county staff: applications in their jurisdiction."""
    errors, existing = [], None
    if current_user.role.value == "bank":
        bank = collateral.bank_of(current_user)
        form = ApplyForm()
        if form.validate_on_submit():
            try:
                right = db.session.scalar(select(Right).where(Right.number == form.right.data.strip()))
                if right is None:
                    raise DomainError("RIGHT-UNKNOWN", f"没有编号为 {form.right.data} 的权利。",
                                      f"No right numbered {form.right.data}.", field="right")
                existing = collateral.existing_pledges(right)
                basis = ({"method": "rent", "annual_rent": str(form.annual_rent.data or 0),
                          "attachments": str(form.attachments.data or 0)} if form.method.data == "rent" else
                         {"method": "appraisal", "amount": str(form.appraisal.data or 0), "appraiser": form.appraiser.data})
                application = collateral.apply(
                    bank, right, loan_amount=form.loan_amount.data, start=form.start_date.data, end=form.end_date.data,
                    valuation_basis=basis, contract_number=form.contract_number.data, guarantee=form.guarantee.data,
                    insurance=form.insurance.data,
                    consents={"contracting_household": form.contracting_household.data,
                              "filed_with_collective": form.filed_with_collective.data})
                db.session.flush()
            except DomainError as error:
                db.session.rollback()
                errors = error.details or [{"code": error.code, "message_zh": error.message_zh, "message_en": error.message_en}]
            else:
                audit.record("collateral.apply", "collateral_application", application.id, detail={"right": right.number})
                db.session.commit()
                flash(_("抵押登记申请已提交，估值 %(value)s 元，等待乡镇或县登记。", value=application.valuation), "success")
                return redirect(url_for("collateral.index"))
        applications = db.session.scalars(select(CollateralApplication).where(CollateralApplication.bank_id == bank.id)
                                          .order_by(CollateralApplication.id.desc())).all()
        status = 422 if request.method == "POST" else 200
        return render_template("collateral/bank.html", bank=bank, form=form, applications=applications, errors=errors,
                               existing=existing, soon=date.today() + timedelta(days=90), step_form=StepForm(),
                               disposals={a.id: disposals.summary(a) for a in applications
                                          if a.outstanding is not None},
                               locale=str(get_locale() or "zh_CN")), status
    if current_user.role.value == "village":  # the village sees the disposals it is asked to list
        require("listing.submit", None, "collateral_application", None)
        applications = db.session.scalars(
            select(CollateralApplication).join(Right).join(Division, Right.division_id == Division.id)
            .where(Division.code.startswith(current_user.division.code), CollateralApplication.outstanding.is_not(None))
            .order_by(CollateralApplication.id.desc())).all()
        return render_template("collateral/staff.html", applications=applications, form=StepForm())
    require("collateral.register", None, "collateral_application", None)
    applications = db.session.scalars(
        select(CollateralApplication).join(Right).join(Division, Right.division_id == Division.id)
        .where(Division.code.startswith(current_user.division.code)).order_by(CollateralApplication.id.desc())).all()
    return render_template("collateral/staff.html", applications=applications, form=StepForm())


@bp.post("/<int:application_id>/<action>")
@login_required
def step(application_id: int, action: str):
    application = db.session.get(CollateralApplication, application_id) or abort(404)
    form = StepForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action in ("register", "refuse"):
            require("collateral.register", application.right.division, "collateral_application", application_id)
            if action == "register":
                certificate = collateral.register(application)
                message = _("已办理抵押登记，抵押登记证明 %(number)s。", number=certificate.number)
            else:
                collateral.refuse(application, form.reason.data or "")
                message = _("已决定不予登记。")
        elif action == "release":
            require("collateral.apply", None, "collateral_application", application_id)
            if collateral.bank_of(current_user).id != application.bank_id:
                abort(403)
            collateral.release(application, form.reason.data or "贷款已结清")
            message = _("已解除抵押。")
        elif action == "disposal":
            require("collateral.apply", None, "collateral_application", application_id)
            collateral.request_disposal(current_user, application, form.reason.data or "", form.outstanding.data or "")
            message = _("已申请违约处置并同意挂牌；请权利所在村集体代权利人提交处置挂牌。成交价款优先清偿 %(amount)s 元。",
                        amount=application.outstanding)
        else:
            abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message(str(get_locale() or "zh_CN")), "error")
        return redirect(url_for("collateral.index"))
    audit.record(f"collateral.{action}", "collateral_application", application_id)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("collateral.index"))


def _may_see(application: CollateralApplication) -> None:
    """The pledgee bank; township and county staff over the right; the village that lists it."""
    if current_user.role.value == "bank":
        require("collateral.apply", None, "collateral_application", application.id)
        if collateral.bank_of(current_user).id != application.bank_id:
            abort(403)
    elif not may(current_user, "listing.submit", application.right.division):
        require("collateral.register", application.right.division, "collateral_application", application.id)


@bp.route("/<int:application_id>", methods=["GET", "POST"])
@login_required
def show(application_id: int):
    """One mortgage: its steps, and on default its disposal listing(s), the proceeds as split, and (for the
    village) the form that lists the collateral."""
    application = db.session.get(CollateralApplication, application_id) or abort(404)
    _may_see(application)
    may_list = (application.step == CollateralStep.disposal_requested and disposals.open_listing(application) is None
                and may(current_user, "listing.submit", application.right.division))
    form = DisposalListingForm()
    errors = []
    if request.method == "POST":
        require("listing.submit", application.right.division, "collateral_application", application_id)
        if form.validate_on_submit():
            try:
                disposal = disposals.submit_disposal_listing(
                    current_user, application, reserve_price=(form.reserve_price.data or "").strip() or None,
                    start_date=form.start_date.data, end_date=form.end_date.data,
                    payment_terms=form.payment_terms.data or "")
            except DomainError as error:
                db.session.rollback()
                errors = error.details or [{"code": error.code, "message_zh": error.message_zh,
                                            "message_en": error.message_en}]
            else:
                audit.record("collateral.disposal_listing", "collateral_application", application_id,
                             detail={"listing": disposal.listing.number})
                db.session.commit()
                flash(_("处置挂牌 %(number)s 已提交，等待乡镇审核。", number=disposal.listing.number), "success")
                return redirect(url_for("collateral.show", application_id=application_id))
    elif may_list:
        today = date.today()
        form.start_date.data = date(today.year + 1, 1, 1)
        right_end = application.right.end_date
        lease_limit = date(today.year + 20, 12, 31)  # LEASE-20Y: a contract right is disposed of by a lease
        form.end_date.data = min(right_end, lease_limit) if right_end is not None else date(today.year + 10, 12, 31)
    status = 422 if request.method == "POST" else 200
    return render_template("collateral/application.html", application=application,
                           summary=disposals.summary(application), form=form, may_list=may_list, errors=errors,
                           locale=str(get_locale() or "zh_CN")), status
