from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from exchange.web.forms import choices
from wtforms.validators import DataRequired, Length, Optional


class ManagementTransferForm(FlaskForm):
    """Split a management right off a contract right (or re-transfer one): every field of Art 40."""

    transferee = StringField(_l("受让方（统一社会信用代码或承包方编码）"), validators=[DataRequired(_l("请填写受让方。")), Length(max=18)])
    mode = SelectField(_l("流转方式"), choices=choices([("出租", _l("出租")), ("转包", _l("转包")), ("入股", _l("入股")),
                                             ("转让", _l("转让（仅限再流转）")), ("其他", _l("其他"))]))
    permitted_use = SelectField(_l("土地用途"), choices=choices([("1", _l("1 种植业")), ("2", _l("2 林业")), ("3", _l("3 畜牧业")),
                                                      ("4", _l("4 渔业")), ("5", _l("5 非农业用途"))]))
    start_date = DateField(_l("起始日期"), validators=[DataRequired(_l("请填写起始日期。"))])
    end_date = DateField(_l("终止日期"), validators=[DataRequired(_l("请填写终止日期。"))])
    price = StringField(_l("流转价款"), validators=[DataRequired(_l("请填写流转价款。")), Length(max=100)])
    parties = TextAreaField(_l("双方当事人的姓名、住所"), validators=[Optional(), Length(max=500)])
    parcel = TextAreaField(_l("流转土地的名称、坐落、面积、质量等级"), validators=[Optional(), Length(max=500)])
    term = StringField(_l("流转期限和起止日期"), validators=[Optional(), Length(max=200)])
    use = StringField(_l("流转土地的用途"), validators=[Optional(), Length(max=200)])
    rights_duties = TextAreaField(_l("双方当事人的权利和义务"), validators=[Optional(), Length(max=1000)])
    price_payment = TextAreaField(_l("流转价款及支付方式"), validators=[Optional(), Length(max=500)])
    expropriation = TextAreaField(_l("征收、征用、占用时补偿费的归属"), validators=[Optional(), Length(max=500)])
    liability = TextAreaField(_l("违约责任"), validators=[Optional(), Length(max=500)])
    filed_with_collective = BooleanField(_l("已向发包方备案"))
    contracting_household = BooleanField(_l("承包方书面同意（再流转时）"))
    pledgee = BooleanField(_l("抵押权人同意（已抵押时）"))
    county_review = StringField(_l("县级资格审查文号（工商资本超过规定面积时）"), validators=[Optional(), Length(max=100)])

    ART40 = ("parties", "parcel", "term", "use", "rights_duties", "price_payment", "expropriation", "liability")
