"""Input shapes of the points pages."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError


def _token() -> str:
    return uuid.uuid4().hex


class AdjustForm(FlaskForm):
    """A manual adjustment; ``token`` makes a double submit post once."""

    points = IntegerField(_l("调整分值（正数增加，负数扣减）"), validators=[InputRequired(), NumberRange(-100000, 100000)])
    reason = StringField(_l("原因（必填，将记入审计日志）"), validators=[DataRequired(), Length(max=200)])
    token = HiddenField(default=_token)

    def validate_points(self, field: IntegerField) -> None:
        if field.data == 0:
            raise ValidationError(_l("调整分值不能为 0"))


class ReverseForm(FlaskForm):
    reason = StringField(_l("冲正原因"), validators=[DataRequired(), Length(max=200)])


class RedeemForm(FlaskForm):
    branch_id = SelectField(_l("领取分馆"), coerce=int, validators=[InputRequired()])
    token = HiddenField(default=_token)


class RewardForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    kind = SelectField(_l("类型"), choices=[SelectChoice("goods", _l("实物（到馆领取）")),
                                          SelectChoice("extra_loans", _l("增加借阅册数")),
                                          SelectChoice("penalty_waiver", _l("免除一次逾期扣分"))])
    cost = IntegerField(_l("所需积分"), validators=[InputRequired(), NumberRange(1, 1000000)])
    limit_per_reader = IntegerField(_l("每位读者限兑次数（留空不限）"), validators=[Optional(), NumberRange(1, 1000)])
    extra_loans = IntegerField(_l("增加的借阅册数"), default=0, validators=[Optional(), NumberRange(0, 50)])
    benefit_days = IntegerField(_l("权益有效天数"), default=30, validators=[Optional(), NumberRange(1, 366)])
    active_from = DateField(_l("开始日期"), validators=[Optional()])
    active_until = DateField(_l("截止日期"), validators=[Optional()])
    active = BooleanField(_l("上架"), default=True)
    picture = FileField(_l("图片"), validators=[FileAllowed(["jpg", "jpeg", "png", "webp"], _l("只接受 JPG、PNG 或 WebP 图片"))])

    def validate_active_until(self, field: DateField) -> None:
        if field.data and self.active_from.data and field.data < self.active_from.data:
            raise ValidationError(_l("截止日期不能早于开始日期"))

    def validate_extra_loans(self, field: IntegerField) -> None:
        if self.kind.data == "extra_loans" and not field.data:
            raise ValidationError(_l("请填写增加的借阅册数"))
