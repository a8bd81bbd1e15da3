"""Shapes of user input for the circulation pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class CardForm(FlaskForm):
    card = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])


class CheckoutForm(FlaskForm):
    card = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])
    barcode = StringField(_l("图书条码"), validators=[DataRequired(), Length(max=32)])
    override_reason = StringField(_l("越过限制的原因"), validators=[Optional(), Length(max=300)])


class BarcodeForm(FlaskForm):
    barcode = StringField(_l("图书条码"), validators=[DataRequired(), Length(max=32)])


class DamageForm(FlaskForm):
    barcode = StringField(_l("图书条码"), validators=[DataRequired(), Length(max=32)])
    amount = DecimalField(_l("赔偿金额（元）"), places=2, validators=[InputRequired(), NumberRange(min=0, max=10000)])
    note = StringField(_l("损坏情况"), validators=[DataRequired(), Length(max=200)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=300)])


class PickupForm(FlaskForm):
    pickup_branch = SelectField(_l("取书馆点"), choices=[], coerce=int)


class RuleForm(FlaskForm):
    """A row of the rules matrix; empty scope choices (0 / "") mean "any"."""

    branch_id = SelectField(_l("馆点"), choices=[], coerce=int)
    reader_category_code = SelectField(_l("读者类型"), choices=[])
    item_type_code = SelectField(_l("文献类型"), choices=[])
    loan_days = IntegerField(_l("借期（天）"), validators=[InputRequired(), NumberRange(min=1, max=365)])
    renewals = IntegerField(_l("可续借次数"), validators=[InputRequired(), NumberRange(min=0, max=20)])
    max_items = IntegerField(_l("最多可借（册）"), validators=[InputRequired(), NumberRange(min=0, max=500)])
    max_holds = IntegerField(_l("最多可预约（册）"), validators=[InputRequired(), NumberRange(min=0, max=100)])
    grace_days = IntegerField(_l("宽限天数"), validators=[InputRequired(), NumberRange(min=0, max=60)])
    consequence = SelectField(_l("逾期处理"), choices=[SelectChoice("suspension", _l("停借（以停代金）")), SelectChoice("fine", _l("滞纳金"))])
    fine_per_day = DecimalField(_l("每册每天滞纳金（元）"), places=2,
                                validators=[InputRequired(), NumberRange(min=0, max=100)])
    fine_cap = DecimalField(_l("每册滞纳金上限（元）"), places=2, validators=[InputRequired(), NumberRange(min=0, max=10000)])
    suspension_factor = DecimalField(_l("停借倍数（逾期一天停借几天）"), places=2,
                                     validators=[InputRequired(), NumberRange(min=0, max=10)])
    max_suspension_days = IntegerField(_l("最长停借天数"), validators=[InputRequired(), NumberRange(min=0, max=3650)])
    hold_shelf_days = IntegerField(_l("预约保留天数"), validators=[InputRequired(), NumberRange(min=1, max=60)])
    charge_limit = DecimalField(_l("欠费上限（元）"), places=2, validators=[InputRequired(), NumberRange(min=0, max=10000)])
    note = StringField(_l("说明"), validators=[Optional(), Length(max=200)])


class RuleTestForm(FlaskForm):
    class Meta:
        csrf = False

    branch_id = SelectField(_l("馆点"), choices=[], coerce=int)
    reader_category_code = SelectField(_l("读者类型"), choices=[])
    item_type_code = SelectField(_l("文献类型"), choices=[])
