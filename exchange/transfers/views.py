"""Pages for the people who move a listing: the village submits, the township reviews, qualifies bidders, records
deposits, reviews contracts, settles and registers; bidders register, bid, match and sign; the county keeps the
holiday table. Every form carries the listing's version; a stale one is refused (409) and nothing changes."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exchange.access import may, require
from exchange.audit import operations as audit
from exchange.collectives.models import Motion
from exchange.db import db
from exchange.divisions.models import Division
from exchange.errors import DomainError
from exchange.registry.models import Right
from exchange.transfers import contracting
from exchange.transfers import operations as ops
from exchange.transfers.models import (
    BidderProfile, Contract, Holiday, Interest, Listing, ListingState, ResultObjection, ScheduleItem,
)
from exchange.web.forms import choices

bp = Blueprint("transfers", __name__, url_prefix="/exchange")

KIND_LABELS = {"land_management_transfer": _l("土地经营权流转"), "homestead_lease": _l("宅基地使用权及农房出租"),
               "construction_grant": _l("集体经营性建设用地使用权出让"), "construction_lease": _l("集体经营性建设用地使用权出租"),
               "asset_lease": _l("集体资产出租")}
STATE_LABELS = {ListingState.submitted: _l("已提交"), ListingState.accepted: _l("已受理"), ListingState.listed: _l("公示中"),
                ListingState.auction: _l("竞价中"), ListingState.awarded: _l("成交公示"),
                ListingState.contracting: _l("合同签订中"), ListingState.signed: _l("已签约"),
                ListingState.settled: _l("已结算"), ListingState.registered: _l("已登记"),
                ListingState.rejected: _l("已驳回"), ListingState.withdrawn: _l("已撤回"), ListingState.failed: _l("流拍"),
                ListingState.annulled: _l("已撤销")}
DEADLINE_NOTES = {"registration_closed": _l("公示期已结束，报名已截止，系统将转入竞价或流拍。"),
                  "auction_closed": _l("竞价时间已到，系统将确定成交结果。"),
                  "publicity_closed": _l("成交公示期已结束，系统将生成合同。")}


class SubmitForm(FlaskForm):
    right = StringField(_l("挂牌权利编号"), validators=[DataRequired(_l("请填写权利编号。")), Length(max=40)])
    kind = SelectField(_l("交易品种"), choices=choices(list(KIND_LABELS.items())))
    mode = SelectField(_l("流转方式"), choices=choices([(m, m) for m in ("出租", "转包", "入股", "转让", "合作", "出让")]))
    reserve_price = DecimalField(_l("底价（元）"), places=2, validators=[DataRequired(_l("请填写底价。"))])
    price_unit = SelectField(_l("价格单位"), choices=choices([("per_year", _l("元/年（租金）")), ("lump_sum", _l("元（总价）"))]))
    start_date = DateField(_l("起始日期"), validators=[DataRequired(_l("请填写起始日期。"))])
    end_date = DateField(_l("终止日期"), validators=[DataRequired(_l("请填写终止日期。"))])
    permitted_use = StringField(_l("用途（土地：1 种植业 2 林业 3 畜牧业 4 渔业）"), validators=[DataRequired(_l("请填写用途。")), Length(max=100)])
    payment_terms = StringField(_l("付款方式"), validators=[DataRequired(_l("请填写付款方式。")), Length(max=300)])
    bidder_conditions = TextAreaField(_l("竞买人条件"), validators=[Optional(), Length(max=1000)])
    household_consent = StringField(_l("承包户书面委托（编号或日期）"), validators=[Optional(), Length(max=100)])
    contracting_household_consent = BooleanField(_l("再流转：承包方书面同意"))
    pledgee_consent = BooleanField(_l("已抵押：抵押权人书面同意"))
    resolution = StringField(_l("集体决议编号（集体资产、建设用地）"), validators=[Optional(), Length(max=60)])
    deposit = DecimalField(_l("保证金（元，留空按底价的比例）"), places=2, validators=[Optional()])
    increment = DecimalField(_l("加价幅度（元，留空自动）"), places=2, validators=[Optional()])


class StepForm(FlaskForm):
    version = StringField(validators=[DataRequired()])
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)])
    amount = StringField(_l("金额（元）"), validators=[Optional(), Length(max=20)])
    reference = StringField(_l("凭证号"), validators=[Optional(), Length(max=60)])
    interest = StringField(validators=[Optional()])
    objection = StringField(validators=[Optional()])
    county_review = StringField(_l("县级审核文号"), validators=[Optional(), Length(max=60)])
    plan = StringField(_l("经营计划"), validators=[Optional(), Length(max=500)])
    raised_by = StringField(_l("异议人"), validators=[Optional(), Length(max=100)])
    text = StringField(_l("异议内容"), validators=[Optional(), Length(max=1000)])
    party = StringField(validators=[Optional()])
    digest = StringField(validators=[Optional()])


class ProfileForm(FlaskForm):
    party_kind = SelectField(_l("竞买人类型"), choices=choices([("organisation", _l("单位（公司、合作社、家庭农场）")),
                                                           ("household", _l("农户"))]))
    credit_code = StringField(_l("统一社会信用代码（单位）"), validators=[Optional(), Length(max=18)])
    household_code = StringField(_l("承包方编码（农户）"), validators=[Optional(), Length(max=18)])
    farming_capacity = TextAreaField(_l("农业经营能力"), validators=[Optional(), Length(max=1000)])
    contact = StringField(_l("联系电话"), validators=[Optional(), Length(max=100)])
    address = StringField(_l("住所（农户可留空，按登记簿）"), validators=[Optional(), Length(max=300)])
    town_resident = BooleanField(_l("城镇居民"))


class HolidayForm(FlaskForm):
    day = DateField(_l("日期"), validators=[DataRequired(_l("请填写日期。"))])
    is_workday = SelectField(_l("类型"), choices=choices([("0", _l("法定节假日（休息）")), ("1", _l("调休上班日"))]))
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=60)])


CONTRACT_STATE_LABELS = {"draft": _l("待审查"), "reviewed": _l("已审查，待签订"), "signed": _l("已签订")}
QUALIFICATION_LABELS = {"pending": _l("待资格审查"), "county_review": _l("待县级审核"), "qualified": _l("资格通过"),
                        "refused": _l("资格未通过")}
DEPOSIT_LABELS = {"due": _l("待缴"), "held": _l("已到账"), "applied": _l("已抵作价款"), "refunded": _l("已退还")}
STEP_LABELS = {"submitted": _l("提交挂牌申请"), "accepted": _l("乡镇受理"), "approved": _l("审核通过，发布公示"),
               "rejected": _l("驳回"), "withdrawn": _l("撤回挂牌"), "interest": _l("竞买报名"),
               "qualification": _l("资格审查"), "deposit": _l("保证金到账"), "auction_opened": _l("报名截止，进入竞价"),
               "bid": _l("出价"), "offer": _l("单一竞买人报价"), "priority_window": _l("成员优先权期"),
               "priority_match": _l("成员行使优先权"), "awarded": _l("成交"), "failed": _l("流拍"),
               "objection": _l("异议"), "objection_decided": _l("异议处理"), "annulled": _l("撤销成交"),
               "publicity_closed": _l("成交公示期满"), "contract_drafted": _l("生成合同"),
               "contract_reviewed": _l("乡镇审查合同"), "contract_accepted": _l("一方确认签订"),
               "contract_signed": _l("合同签订完成"), "settled": _l("结算"), "registered": _l("权属登记，出具鉴证书"),
               "relisted": _l("重新挂牌")}
PARTY_LABELS = {"transferor": _l("出让方"), "transferee": _l("受让方")}


@bp.app_context_processor
def labels():
    return {"kind_labels": KIND_LABELS, "listing_state_labels": STATE_LABELS,
            "contract_state_labels": CONTRACT_STATE_LABELS, "qualification_labels": QUALIFICATION_LABELS,
            "deposit_labels": DEPOSIT_LABELS, "party_labels": PARTY_LABELS, "step_labels": STEP_LABELS}


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _errors(error: DomainError) -> list[dict]:
    return error.details or [{"code": error.code, "message_zh": error.message_zh, "message_en": error.message_en,
                              "field": error.field}]


def listing_or_404(number: str) -> Listing:
    listing = db.session.scalar(select(Listing).where(Listing.number == number))
    if listing is None:
        abort(404)
    return listing


@bp.route("/listings/new", methods=["GET", "POST"])
@login_required
def submit():
    require("listing.submit", None, "listing", None)
    form, errors = SubmitForm(), []
    if form.validate_on_submit():
        try:
            right = db.session.scalar(select(Right).where(Right.number == form.right.data.strip()))
            if right is None:
                raise DomainError("RIGHT-UNKNOWN", f"没有编号为 {form.right.data} 的权利。", f"No right numbered {form.right.data}.",
                                  field="right")
            require("listing.submit", right.division, "right", right.number)
            motion = None
            if (form.resolution.data or "").strip():
                motion = db.session.scalar(select(Motion).where(Motion.resolution_number == form.resolution.data.strip()))
                if motion is None:
                    raise DomainError("RESOLUTION-UNKNOWN", f"没有编号为 {form.resolution.data} 的决议。",
                                      f"No resolution numbered {form.resolution.data}.", field="resolution")
            documents = {"household_consent": (form.household_consent.data or "").strip(),
                         "contracting_household_consent": form.contracting_household_consent.data,
                         "pledgee_consent": form.pledgee_consent.data, "filed_with_collective": True}
            listing = ops.submit_listing(
                current_user, right=right, kind=form.kind.data, mode=form.mode.data,
                reserve_price=form.reserve_price.data, price_unit=form.price_unit.data, start_date=form.start_date.data,
                end_date=form.end_date.data, permitted_use=form.permitted_use.data, payment_terms=form.payment_terms.data,
                bidder_conditions=form.bidder_conditions.data or "", documents=documents, resolution=motion,
                deposit=form.deposit.data, increment=form.increment.data)
        except DomainError as error:
            db.session.rollback()
            errors = _errors(error)
        else:
            audit.record("listing.submit", "listing", listing.number, detail={"right": right.number})
            db.session.commit()
            flash(_("挂牌申请 %(number)s 已提交，等待乡镇受理。", number=listing.number), "success")
            return redirect(url_for("transfers.show", number=listing.number))
    status = 422 if request.method == "POST" else 200
    return render_template("exchange/submit.html", form=form, errors=errors, locale=_locale()), status


def _actions(listing: Listing) -> dict[str, bool]:
    """What the signed-in account may do on this listing now (the page shows only these forms)."""
    user, division, state = current_user, listing.division, listing.state
    interest = next((i for i in listing.interests if i.account_id == user.id), None)
    staff = may(user, "listing.review", division)
    contract = listing.contract
    return {
        "accept": staff and state == ListingState.submitted,
        "approve": staff and state == ListingState.accepted,
        "reject": staff and state in (ListingState.submitted, ListingState.accepted),
        "withdraw": may(user, "listing.submit", division) and state in ops.BEFORE_AWARD,
        "relist": may(user, "listing.submit", division) and state == ListingState.failed,
        "qualify": staff and state == ListingState.listed,
        "interest": may(user, "bid") and state == ListingState.listed and interest is None,
        "bid": may(user, "bid") and state == ListingState.auction and interest is not None and interest.may_bid
        and listing.priority_ends_at is None,
        "match": may(user, "bid") and state == ListingState.auction and listing.priority_ends_at is not None
        and interest is not None and interest.is_member and interest.may_bid,
        "objection": state == ListingState.awarded,
        "decide": staff and state == ListingState.awarded,
        "annul": staff and state in (ListingState.awarded, ListingState.contracting, ListingState.signed),
        "review_contract": staff and state == ListingState.contracting and contract is not None,
        "sign": contract is not None and state == ListingState.contracting and any(
            contracting.may_sign(user, contract, p) for p in contracting.PARTIES),
        "settle": staff and state == ListingState.signed,
        "register": staff and state == ListingState.settled,
    }


def _viewer_may_see(listing: Listing) -> bool:
    if may(current_user, "listing.review", listing.division) or may(current_user, "listing.submit", listing.division):
        return True
    if may(current_user, "exchange.run", listing.division):
        return True
    return any(i.account_id == current_user.id for i in listing.interests) or (
        may(current_user, "bid") and listing.state in (ListingState.listed, ListingState.auction))


def disposal_of(listing: Listing):
    from exchange.collateral.disposal import disposal_of

    return disposal_of(listing)


@bp.get("/listings/<number>")
@login_required
def show(number: str):
    listing = listing_or_404(number)
    if not _viewer_may_see(listing):
        require("listing.review", listing.division, "listing", number)
    _state, deadline = ops.effective_state(listing)
    mine = next((i for i in listing.interests if i.account_id == current_user.id), None)
    pending = ops.pending_objections(listing)
    note = DEADLINE_NOTES.get(deadline)
    if deadline == "publicity_closed" and pending:
        note = _("成交公示期已结束，尚有异议待处理；异议处理完毕后生成合同。")
    elif deadline == "publicity_closed":
        held = ops.contract_held_back_by(listing)
        if held:
            english = _locale() == "en"
            note = _("成交公示期已结束，但合同暂不能生成：%(reasons)s",
                     reasons=("; " if english else "；").join(f"{v.code} {v.message_en if english else v.message_zh}"
                                                            for v in held))
    return render_template("exchange/listing.html", listing=listing, actions=_actions(listing), form=StepForm(formdata=None),
                           best=ops.best_bid(listing), minimum=ops.minimum_bid(listing), mine=mine,
                           deadline_note=note, pending_objections=pending, locale=_locale(),
                           disposal=disposal_of(listing))


def _interest(listing: Listing, form: StepForm) -> Interest:
    interest = db.session.get(Interest, int(form.interest.data or 0))
    if interest is None or interest.listing_id != listing.id:
        abort(404)
    return interest


@bp.post("/listings/<number>/<action>")
@login_required
def step(number: str, action: str):
    listing = listing_or_404(number)
    form = StepForm()
    if not form.validate_on_submit():
        abort(400)
    version, user = form.version.data, current_user
    try:
        if action in ("accept", "approve", "reject", "qualify", "deposit", "decide", "annul", "settle", "register",
                      "review_contract"):
            require("listing.review", listing.division, "listing", number)
        if action in ("withdraw", "relist"):
            require("listing.submit", listing.division, "listing", number)
        if action in ("interest", "bid", "match"):
            require("bid", None, "listing", number)
        if action == "accept":
            ops.accept(user, listing, version)
            message = _("已受理。")
        elif action == "approve":
            ops.approve(user, listing, version)
            message = _("审核通过，已发布挂牌公示，公示至 %(day)s。", day=listing.notice_ends_on)
        elif action == "reject":
            ops.reject(user, listing, version, form.reason.data)
            message = _("已驳回。")
        elif action == "withdraw":
            ops.withdraw(user, listing, version, form.reason.data)
            message = _("已撤回挂牌。")
        elif action == "relist":
            fresh = ops.relist(user, listing, version, reserve_price=form.amount.data or None)
            message = _("已重新挂牌为 %(number)s。", number=fresh.number)
        elif action == "interest":
            ops.register_interest(user, listing, version, form.plan.data or "")
            message = _("报名成功，等待资格审查；请按公告缴纳保证金。")
        elif action == "qualify":
            verdict = form.reason.data != "refuse"
            interest = _interest(listing, form)
            ops.qualify(user, interest, version, qualified=verdict, note=form.text.data or "",
                        county_review=form.county_review.data or None)
            message = _("资格审查结果已记录。")
        elif action == "deposit":
            ops.record_deposit(user, _interest(listing, form), version, form.reference.data or "")
            message = _("保证金已登记到账。")
        elif action == "bid":
            bid = ops.place_bid(user, listing, version, form.amount.data)
            message = _("出价 %(amount)s 元已受理。", amount=bid.amount)
        elif action == "match":
            ops.match(user, listing, version)
            message = _("已按同等条件行使优先权。")
        elif action == "objection":
            ops.raise_objection(user, listing, form.raised_by.data or "", form.text.data or "")
            message = _("异议已登记，由乡镇处理。")
        elif action == "decide":
            objection = db.session.get(ResultObjection, int(form.objection.data or 0))
            if objection is None or objection.listing_id != listing.id:
                abort(404)
            ops.decide_objection(user, objection, version, upheld=form.reason.data == "upheld", outcome=form.text.data or "")
            message = _("异议处理结果已记录。")
        elif action == "annul":
            ops.annul(user, listing, version, form.reason.data)
            message = _("已撤销成交。")
        elif action == "review_contract":
            contracting.review_contract(user, listing.contract, version)
            message = _("合同已审查，等待双方签订。")
        elif action == "sign":
            contracting.sign_contract(user, listing.contract, version, form.party.data or "", form.digest.data or "")
            message = _("已确认签订合同。")
        elif action == "settle":
            ops.settle(user, listing, version, reference=form.reference.data or "")
            message = _("结算已登记，未成交竞买人的保证金已退还。")
        elif action == "register":
            _right, certificate = ops.register_transfer(user, listing, version)
            message = _("已完成权属登记并出具交易鉴证书 %(number)s。", number=certificate.number)
        else:
            abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(f"{error.code}：{error.message(_locale())}", "error")
        return redirect(url_for("transfers.show", number=number)), 303
    audit.record(f"listing.{action}", "listing", number)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("transfers.show", number=number))


@bp.get("/todo")
@login_required
def todo():
    """What awaits me: per role, the listings I must act on."""
    role = current_user.role.value
    statement = select(Listing).order_by(Listing.id.desc()).limit(200)
    if current_user.division is not None:
        statement = statement.join(Division, Listing.division_id == Division.id).where(
            Division.code.startswith(current_user.division.code))
    if role in ("township", "county"):
        wanted = [ListingState.submitted, ListingState.accepted, ListingState.listed, ListingState.awarded,
                  ListingState.contracting, ListingState.signed, ListingState.settled]
    elif role == "village":
        wanted = [s for s in ListingState]
    elif role == "bidder":
        statement = select(Listing).join(Interest, Interest.listing_id == Listing.id).where(
            Interest.account_id == current_user.id).order_by(Listing.id.desc())
        wanted = [s for s in ListingState]
    else:
        abort(403)
    listings = db.session.scalars(statement.where(Listing.state.in_(wanted))).unique().all()
    due = ops.payments_due(_division_ids(), 30) if role in ("village", "township", "county") else []
    expiring = ops.contracts_expiring(_division_ids(), 90) if role in ("village", "township", "county") else []
    return render_template("exchange/todo.html", listings=listings, due=due, expiring=expiring)


def _division_ids() -> list[int] | None:
    if current_user.division is None:
        return None
    return list(db.session.scalars(select(Division.id).where(Division.code.startswith(current_user.division.code))))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    require("bid", None, "bidder_profile", current_user.id)
    existing = db.session.scalar(select(BidderProfile).where(BidderProfile.account_id == current_user.id))
    form, errors = ProfileForm(obj=existing), []
    if form.validate_on_submit():
        try:
            ops.save_profile(current_user, party_kind=form.party_kind.data, credit_code=form.credit_code.data,
                             household_code=form.household_code.data, farming_capacity=form.farming_capacity.data or "",
                             contact=form.contact.data or "", town_resident=form.town_resident.data,
                             address=form.address.data or "")
        except DomainError as error:
            db.session.rollback()
            errors = _errors(error)
        else:
            audit.record("bidder.profile", "bidder_profile", current_user.id)
            db.session.commit()
            flash(_("竞买人资料已保存。"), "success")
            return redirect(url_for("transfers.profile"))
    return render_template("exchange/profile.html", form=form, profile=existing, errors=errors,
                           locale=_locale()), 422 if errors else 200


@bp.get("/contracts/<number>")
@login_required
def contract(number: str):
    item = db.session.scalar(select(Contract).where(Contract.number == number)) or abort(404)
    if not (_viewer_may_see(item.listing) or any(contracting.may_sign(current_user, item, p) for p in contracting.PARTIES)):
        require("listing.review", item.division, "contract", number)
    return render_template("exchange/contract.html", contract=item, listing=item.listing,
                           form=StepForm(formdata=None), today=date.today(), soon=date.today() + timedelta(days=30))


@bp.get("/contracts/<number>.pdf")
@login_required
def contract_pdf(number: str):
    item = db.session.scalar(select(Contract).where(Contract.number == number)) or abort(404)
    if not (_viewer_may_see(item.listing) or any(contracting.may_sign(current_user, item, p) for p in contracting.PARTIES)):
        require("listing.review", item.division, "contract", number)
    return Response(contracting.contract_pdf(item), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


@bp.post("/contracts/<number>/payments/<int:item_number>")
@login_required
def payment(number: str, item_number: int):
    item = db.session.scalar(select(ScheduleItem).join(Contract).where(Contract.number == number,
                                                                       ScheduleItem.number == item_number)) or abort(404)
    require("listing.submit" if current_user.role.value == "village" else "listing.review", item.contract.division,
            "contract", number)
    try:
        ops.record_payment(current_user, item, request.form.get("amount", ""), date.fromisoformat(
            request.form.get("paid_on") or date.today().isoformat()), request.form.get("reference", ""))
    except (DomainError, ValueError) as error:
        db.session.rollback()
        flash(f"{error.code}：{error.message(_locale())}" if isinstance(error, DomainError) else
              _("付款日期格式应为 YYYY-MM-DD。"), "error")
        return redirect(url_for("transfers.contract", number=number)), 303
    audit.record("contract.payment", "contract", number, detail={"instalment": item_number})
    db.session.commit()
    flash(_("付款已登记。"), "success")
    return redirect(url_for("transfers.contract", number=number))


@bp.route("/holidays", methods=["GET", "POST"])
@login_required
def holidays():
    require("exchange.run", None, "holiday", None)
    form = HolidayForm()
    if form.validate_on_submit():
        existing = db.session.get(Holiday, form.day.data)
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        db.session.add(Holiday(day=form.day.data, is_workday=form.is_workday.data == "1", name=form.name.data.strip(),
                               recorded_by=current_user.username))
        audit.record("exchange.holiday", "holiday", form.day.data.isoformat())
        db.session.commit()
        flash(_("已保存。"), "success")
        return redirect(url_for("transfers.holidays"))
    from exchange.transfers.workdays import covered_years

    rows = db.session.scalars(select(Holiday).order_by(Holiday.day)).all()
    return render_template("exchange/holidays.html", form=form, rows=rows, covered=covered_years())
