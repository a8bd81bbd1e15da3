"""Shapes of organiser and reader input for campaigns and events. Choices are set by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

KIND_LABELS = {
    "world_book_day": _l("世界读书日"),
    "service_week": _l("图书馆服务宣传周"),
    "reading_month": _l("读书月"),
    "summer_reading": _l("暑期阅读"),
    "custom": _l("其他"),
}
STATUS_LABELS = {
    "draft": _l("草稿"),
    "published": _l("已发布"),
    "active": _l("进行中"),
    "ended": _l("已结束"),
}
AUDIENCE_LABELS = {
    "children": _l("少儿"),
    "teens": _l("青少年"),
    "adults": _l("成人"),
    "seniors": _l("老年人"),
    "families": _l("亲子家庭"),
}
CHALLENGE_LABELS = {
    "either": _l("借阅或登记均可"),
    "borrow": _l("仅借阅"),
    "log": _l("仅阅读登记"),
}
REGISTRATION_LABELS = {
    "registered": _l("已报名"),
    "waitlisted": _l("候补"),
    "cancelled": _l("已取消"),
}
SOURCE_LABELS = {"opac": _l("网上报名"), "counter": _l("服务台报名"), "walk_in": _l("现场签到")}
RECURRENCE_CHOICES = [
    SelectChoice("", _l("不重复（单场）")),
    SelectChoice("FREQ=WEEKLY;COUNT=4", _l("每周一次，共 4 场")),
    SelectChoice("FREQ=WEEKLY;COUNT=8", _l("每周一次，共 8 场")),
    SelectChoice("FREQ=WEEKLY;INTERVAL=2;COUNT=4", _l("每两周一次，共 4 场")),
    SelectChoice("FREQ=MONTHLY;COUNT=6", _l("每月一次，共 6 场")),
    SelectChoice("FREQ=DAILY;COUNT=5", _l("连续 5 天")),
    SelectChoice("custom", _l("自定义规则（RRULE）")),
]


class CampaignForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()])
    start_date = DateField(_l("开始日期"), validators=[InputRequired()])
    end_date = DateField(_l("结束日期"), validators=[InputRequired()])
    branch_ids = SelectMultipleField(_l("参与分馆（不选为全部分馆）"), coerce=int, choices=[])
    multiplier = DecimalField(_l("积分倍数"), places=2, default=1,
                              validators=[InputRequired(), NumberRange(min=1, max=10)])
    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=5000)])
    challenge_books = IntegerField(_l("阅读挑战：册数（留空为不设挑战）"),
                                   validators=[Optional(), NumberRange(min=1, max=1000)])
    challenge_mode = SelectField(_l("阅读挑战：计数方式"), choices=[SelectChoice(k, v) for k, v in CHALLENGE_LABELS.items()])
    challenge_badge = StringField(_l("阅读挑战：徽章名称"), validators=[Optional(), Length(max=100)])
    challenge_bonus = IntegerField(_l("阅读挑战：奖励积分"), default=0,
                                   validators=[InputRequired(), NumberRange(min=0, max=10000)])
    poster = FileField(_l("海报图片（JPG/PNG/WebP）"),
                       validators=[FileAllowed(["jpg", "jpeg", "png", "webp"], _l("只能上传图片"))])


class EventForm(FlaskForm):
    title = StringField(_l("标题"), validators=[DataRequired(), Length(max=200)])
    campaign_id = SelectField(_l("所属活动季"), coerce=int, choices=[])
    branch_id = SelectField(_l("分馆"), coerce=int, choices=[])
    room = StringField(_l("场地"), validators=[Optional(), Length(max=100)])
    audience = SelectField(_l("对象"), choices=[SelectChoice(k, v) for k, v in AUDIENCE_LABELS.items()])
    capacity = IntegerField(_l("名额"), validators=[InputRequired(), NumberRange(min=1, max=10000)])
    starts_at = DateTimeLocalField(_l("开始时间（首场）"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    duration_minutes = IntegerField(_l("时长（分钟）"), default=60,
                                    validators=[InputRequired(), NumberRange(min=5, max=24 * 60)])
    recurrence = SelectField(_l("重复"), choices=RECURRENCE_CHOICES, default="")
    custom_rule = StringField(_l("自定义重复规则"), validators=[
        Optional(), Length(max=200), Regexp(r"^[A-Za-z0-9=;,:+-]*$", message=_l("规则只能包含 RRULE 字符"))])
    registration_opens_at = DateTimeLocalField(_l("报名开始时间（留空为立即开始）"), format="%Y-%m-%dT%H:%M",
                                               validators=[Optional()])
    registration_closes_hours = IntegerField(_l("开始前多少小时截止报名"), default=0,
                                             validators=[InputRequired(), NumberRange(min=0, max=24 * 30)])
    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=5000)])


class CardForm(FlaskForm):
    card_number = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])


class ReadingLogForm(FlaskForm):
    title = StringField(_l("书名"), validators=[DataRequired(), Length(max=200)])
    author = StringField(_l("作者"), validators=[Optional(), Length(max=100)])


class PlanForm(FlaskForm):
    year = IntegerField(_l("年份"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])


class SettingsForm(FlaskForm):
    world_book_day_days_before = IntegerField(_l("世界读书日：提前天数"), validators=[InputRequired(), NumberRange(0, 30)])
    world_book_day_days_after = IntegerField(_l("世界读书日：延后天数"), validators=[InputRequired(), NumberRange(0, 30)])
    world_book_day_multiplier = DecimalField(_l("世界读书日：积分倍数"), places=2,
                                             validators=[InputRequired(), NumberRange(1, 10)])
    service_week_multiplier = DecimalField(_l("服务宣传周：积分倍数"), places=2,
                                           validators=[InputRequired(), NumberRange(1, 10)])
    reading_month = IntegerField(_l("读书月（月份）"), validators=[InputRequired(), NumberRange(1, 12)])
    reading_month_multiplier = DecimalField(_l("读书月：积分倍数"), places=2,
                                            validators=[InputRequired(), NumberRange(1, 10)])
    summer_start_month = IntegerField(_l("暑期阅读：开始月份"), validators=[InputRequired(), NumberRange(1, 12)])
    summer_end_month = IntegerField(_l("暑期阅读：结束月份"), validators=[InputRequired(), NumberRange(1, 12)])
    summer_multiplier = DecimalField(_l("暑期阅读：积分倍数"), places=2,
                                     validators=[InputRequired(), NumberRange(1, 10)])
    summer_challenge_books = IntegerField(_l("暑期阅读挑战：册数"), validators=[InputRequired(), NumberRange(1, 1000)])
    summer_challenge_bonus = IntegerField(_l("暑期阅读挑战：奖励积分"), validators=[InputRequired(), NumberRange(0, 10000)])
    reminder_lead_hours = IntegerField(_l("活动提醒：提前小时数"), validators=[InputRequired(), NumberRange(0, 24 * 14)])
    no_show_penalty = BooleanField(_l("报名未到扣积分"))
    attendance_points = BooleanField(_l("参加活动得积分"))
    refuse_blocked_readers = BooleanField(_l("读者证受限时不能报名"))


class PopulationForm(FlaskForm):
    """Populations are read from ``population-<township id>`` fields by the view."""
