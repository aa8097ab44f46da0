"""Pages of a collective's books: overview, roll as of a date, meetings and votes, asset ledger, distributions."""
from __future__ import annotations

import csv
import importlib
import io
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from exchange.web.forms import choices
from wtforms.validators import DataRequired, Length, NumberRange

from exchange.access import may, require
from exchange.audit import operations as audit
from exchange.collectives import documents
from exchange.collectives import operations as books
from exchange.collectives import queries
from exchange.collectives.models import MeetingKind, Motion, MotionKind
from exchange.db import db
from exchange.errors import DomainError

bp = Blueprint("collectives", __name__, url_prefix="/collectives")

STATUS_LABELS = {"member": _l("成员"), "candidate": _l("待确认"), "former": _l("已丧失"), "none": "—"}
MOTION_LABELS = {
    MotionKind.membership: _l("成员身份确认"), MotionKind.asset_lease: _l("集体资产出租、发包"),
    MotionKind.asset_disposal: _l("集体资产处分"), MotionKind.construction_land: _l("经营性建设用地出让、出租"),
    MotionKind.outsider_contract: _l("发包给本集体以外"), MotionKind.share_plan: _l("股份量化方案"),
    MotionKind.share_exit: _l("股权有偿退出"), MotionKind.distribution: _l("收益分配方案"), MotionKind.other: _l("其他事项"),
}
EVENT_LABELS = {
    "initial_roll": _l("列入初始名册"), "application": _l("申请"), "confirmation": _l("确认"), "birth": _l("出生"),
    "marriage_in": _l("婚入"), "marriage_out": _l("婚出"), "death": _l("死亡"), "moved_to_town": _l("进城落户（保留权益）"),
    "voluntary_exit": _l("自愿有偿退出"), "loss_by_resolution": _l("经决议丧失"),
}


@bp.app_context_processor
def collective_labels():
    return {"status_labels": STATUS_LABELS, "motion_labels": MOTION_LABELS, "event_labels": EVENT_LABELS}


class VoteForm(FlaskForm):
    kind = SelectField(_l("会议类型"), choices=choices([("representatives", _l("成员代表会议")), ("assembly", _l("成员大会"))]))
    held_on = DateField(_l("会议日期"), validators=[DataRequired(_l("请填写会议日期。"))])
    place = StringField(_l("会议地点"), validators=[DataRequired(_l("请填写会议地点。")), Length(max=200)])
    eligible = IntegerField(_l("应到人数（成员或代表）"), validators=[DataRequired(_l("请填写应到人数。")), NumberRange(min=1)])
    attendees = IntegerField(_l("实到人数"), validators=[NumberRange(min=0)])
    motion_kind = SelectField(_l("议题类型"), choices=choices([(k.value, label) for k, label in MOTION_LABELS.items()]))
    title = StringField(_l("议题"), validators=[DataRequired(_l("请填写议题。")), Length(max=300)])
    votes_for = IntegerField(_l("同意"), validators=[NumberRange(min=0)])
    votes_against = IntegerField(_l("反对"), validators=[NumberRange(min=0)])
    abstentions = IntegerField(_l("弃权"), validators=[NumberRange(min=0)])


def _as_of() -> date:
    try:
        return date.fromisoformat(request.args.get("as_of", ""))
    except ValueError:
        return date.today()


def _view(code: str):
    collective = queries.collective_or_404(code)
    require("collective.view", collective.division, "collective", collective.credit_code)
    return collective


@bp.get("/<code>")
@login_required
def show(code: str):
    collective = _view(code)
    today = date.today()
    plan = queries.share_plan(collective)
    return render_template("collectives/show.html", collective=collective, members=len(books.members_on(collective, today)),
                           meetings=queries.meetings(collective), plan=plan,
                           balances=books.share_balances(plan) if plan else {},
                           distributions=queries.distributions(collective),
                           can_manage=may(current_user, "collective.manage", collective.division))


@bp.get("/<code>/roll")
@login_required
def roll(code: str):
    collective = _view(code)
    as_of = _as_of()
    rows = books.roll(collective, as_of)
    if request.args.get("format") == "csv":
        return _csv(f"roll-{code}-{as_of}.csv", ["household", "name", "relation", "id_masked", "status", "since"],
                    [[p.household.code if p.household else "", p.name, p.relation, p.id_number_masked, status,
                      events[-1].effective_on.isoformat()] for p, status, events in rows])
    return render_template("collectives/roll.html", collective=collective, rows=rows, as_of=as_of)


@bp.get("/<code>/asset-ledger")
@login_required
def asset_ledger(code: str):
    collective = _view(code)
    as_of = _as_of()
    rows = books.asset_ledger(collective, as_of)
    columns = ["code", "name", "class", "category", "area_m2", "book_value", "appraised_value", "status", "source",
               "location", "inventory"]
    if request.args.get("format") == "csv":
        return _csv(f"asset-ledger-{code}-{as_of}.csv", columns, [[r[c] if r[c] is not None else "" for c in columns] for r in rows])
    if request.args.get("format") == "xlsx":
        return _xlsx(f"asset-ledger-{code}-{as_of}.xlsx", columns, [[r[c] for c in columns] for r in rows])
    if request.args.get("format") == "pdf":
        return _pdf(documents.asset_ledger_pdf(collective, as_of), f"asset-ledger-{code}-{as_of}.pdf")
    return render_template("collectives/asset_ledger.html", collective=collective, rows=rows, as_of=as_of)


@bp.get("/<code>/distributions/<int:year>")
@login_required
def distribution(code: str, year: int):
    collective = _view(code)
    item = queries.distribution_or_404(collective, year)
    if request.args.get("format") == "csv":
        return _csv(f"payouts-{code}-{year}.csv", ["household", "head", "shares", "amount"],
                    [[p.household.code if p.household else "collective", p.household.head_name if p.household else
                      collective.name, str(p.shares), str(p.amount)] for p in item.payouts])
    return render_template("collectives/distribution.html", collective=collective, item=item)


@bp.get("/<code>/distributions/<int:year>/households/<household_code>")
@login_required
def statement(code: str, year: int, household_code: str):
    """A member household's statement: its own shares and dividend only, no other member's identifiers."""
    collective = _view(code)
    item = queries.distribution_or_404(collective, year)
    payout = next((p for p in item.payouts if p.household and p.household.code == household_code), None)
    if payout is None:
        return render_template("error.html", title=_("没有该户的分配记录"), message=""), 404
    return render_template("collectives/statement.html", collective=collective, item=item, payout=payout)


@bp.route("/<code>/votes", methods=["GET", "POST"])
@login_required
def vote(code: str):
    """Record a meeting and one motion's vote; a motion that lacks quorum or its majority is not declared passed."""
    collective = queries.collective_or_404(code)
    require("collective.manage", collective.division, "collective", collective.credit_code)
    form = VoteForm()
    errors = []
    if form.validate_on_submit():
        try:
            meeting = books.hold_meeting(collective, MeetingKind(form.kind.data), form.held_on.data, form.place.data,
                                         form.eligible.data, form.attendees.data)
            motion = books.add_motion(meeting, MotionKind(form.motion_kind.data), form.title.data)
            books.record_votes(motion, form.votes_for.data, form.votes_against.data, form.abstentions.data)
        except DomainError as error:
            db.session.rollback()
            errors = error.details or [{"code": error.code, "message_zh": error.message_zh,
                                        "message_en": error.message_en}]
        else:
            audit.record("collective.vote", "motion", motion.id, detail={"resolution": motion.resolution_number})
            db.session.commit()
            flash(_("决议 %(number)s 已通过并记入账本（条目 %(index)s）。", number=motion.resolution_number,
                    index=motion.ledger_index), "success")
            return redirect(url_for("collectives.show", code=code))
    status = 422 if request.method == "POST" else 200
    return render_template("collectives/vote.html", collective=collective, form=form, errors=errors,
                           locale=str(get_locale() or "zh_CN")), status


# --- documents (PDF) and share certificates ------------------------------------------------------------------


def _pdf(data: bytes, filename: str) -> Response:
    db.session.commit()  # rendering may have signed the checkpoint that covers the entry
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/<code>/resolutions/<int:motion_id>.pdf")
@login_required
def resolution_pdf(code: str, motion_id: int):
    """决议 with its vote counts, signed: what the listing of a collective asset attaches."""
    collective = _view(code)
    motion = db.session.get(Motion, motion_id)
    if motion is None:
        abort(404)
    return _pdf(documents.resolution_pdf(collective, motion), f"resolution-{code}-{motion_id}.pdf")


@bp.get("/<code>/distributions/<int:year>.pdf")
@login_required
def payout_list_pdf(code: str, year: int):
    collective = _view(code)
    return _pdf(documents.payout_list_pdf(queries.distribution_or_404(collective, year)), f"payouts-{code}-{year}.pdf")


@bp.get("/<code>/distributions/<int:year>/households/<household_code>.pdf")
@login_required
def statement_pdf(code: str, year: int, household_code: str):
    collective = _view(code)
    item = queries.distribution_or_404(collective, year)
    return _pdf(documents.statement_pdf(item, household_code), f"statement-{household_code}-{year}.pdf")


@bp.get("/<code>/shares")
@login_required
def shares(code: str):
    """Every household's shares (股权登记) and its share certificate, current or out of date."""
    collective = _view(code)
    plan = queries.share_plan(collective)
    if plan is None:
        return render_template("error.html", title=_("本集体尚无股份量化方案"), message=""), 404
    balances, register = books.share_balances(plan), documents.share_register(plan)
    rows = []
    for household in queries.plan_households(plan):
        item = register.get(household.id, {"issued": False, "current": None})
        rows.append({"household": household, "shares": balances.get(household.id),
                     "certificate": documents.share_certificate_number(item["current"]) if item["current"] else None,
                     "issued_before": item["issued"]})
    return render_template("collectives/shares.html", collective=collective, plan=plan, rows=rows,
                           collective_shares=balances.get(None),
                           can_manage=may(current_user, "collective.manage", collective.division))


@bp.post("/<code>/shares/<household_code>/certificate")
@login_required
def issue_share_certificate(code: str, household_code: str):
    collective = queries.collective_or_404(code)
    require("collective.manage", collective.division, "collective", collective.credit_code)
    plan = queries.share_plan(collective)
    household = queries.household_or_404(collective, household_code)
    if plan is None:
        abort(404)
    try:
        movement = documents.issue_share_certificate(plan, household)
    except DomainError as error:
        db.session.rollback()
        flash(f"{error.code}：{error.message(str(get_locale() or 'zh_CN'))}", "error")
        return redirect(url_for("collectives.shares", code=code))
    number = documents.share_certificate_number(movement)
    audit.record("collective.share_certificate", "household", household.code, detail={"certificate": number})
    db.session.commit()
    flash(_("股权证 %(number)s 已出具并记入账本（条目 %(index)s）。", number=number, index=movement.ledger_index), "success")
    return redirect(url_for("collectives.shares", code=code))


@bp.get("/<code>/shares/<household_code>/certificate.pdf")
@login_required
def share_certificate_pdf(code: str, household_code: str):
    collective = _view(code)
    plan = queries.share_plan(collective)
    household = queries.household_or_404(collective, household_code)
    certificate = documents.current_share_certificate(plan, household) if plan else None
    if certificate is None:
        return render_template("error.html", title=_("该户没有现行有效的股权证"), message=""), 404
    return _pdf(documents.share_certificate_pdf(certificate), f"{documents.share_certificate_number(certificate)}.pdf")


def _csv(filename: str, header: list[str], rows: list[list]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # BOM so that Excel reads UTF-8 Chinese
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def _xlsx(filename: str, header: list[str], rows: list[list]) -> Response:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([float(v) if hasattr(v, "as_tuple") else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# the share pledges' pages are routes on this blueprint (exchange.collectives.share_pledge_views)
importlib.import_module("exchange.collectives.share_pledge_views")
