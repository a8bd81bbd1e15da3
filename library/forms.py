"""Shapes of user input for the core pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp


class StaffLoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


class ReaderLoginForm(FlaskForm):
    card_number = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])
    pin = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=8)],
                        render_kw={"inputmode": "numeric", "autocomplete": "current-password"})


# --- administration ------------------------------------------------------------------------------

class BranchForm(FlaskForm):
    """A branch of the network; choices for kind/parent/township/village are set by the view."""

    code = StringField(_l("馆代码"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=150)])
    kind = SelectField(_l("类型"), choices=[])
    parent_id = SelectField(_l("上级馆"), choices=[], coerce=int)
    township_id = SelectField(_l("服务乡镇（街道）"), choices=[], coerce=int)
    village_id = SelectField(_l("服务村（社区）"), choices=[], coerce=int)
    address = StringField(_l("地址"), validators=[Optional(), Length(max=255)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=40)])
    floating = BooleanField(_l("浮动馆藏（在本馆归还的图书留在本馆）"))
    active = BooleanField(_l("启用"), default=True)


class ClosedDaysForm(FlaskForm):
    days = TextAreaField(_l("日期"), validators=[DataRequired()],
                         description=_l("每行或用逗号分隔一个日期，如 2027-02-06；连续日期写作 2027-10-01..2027-10-07"))
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=100)])


class TownshipForm(FlaskForm):
    code = StringField(_l("区划代码"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(_l("类型"), choices=[SelectChoice("township", _l("乡镇")), SelectChoice("street", _l("街道")),
                                            SelectChoice("park", _l("园区"))])
    population = IntegerField(_l("人口"), default=0, validators=[InputRequired(), NumberRange(min=0)])


class VillageForm(FlaskForm):
    name = StringField(_l("村（社区）名称"), validators=[DataRequired(), Length(max=100)])
    population = IntegerField(_l("人口"), default=0, validators=[InputRequired(), NumberRange(min=0)])


class StaffCreateForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64),
                                                  Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("只能用英文字母、数字和 _ . -"))])
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=100)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(min=8, max=200)])


class StaffPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=200)])


class ReaderCategoryForm(FlaskForm):
    code = StringField(_l("代码"), validators=[DataRequired(), Length(max=20),
                                             Regexp(r"^[A-Za-z0-9_]+$", message=_l("只能用英文字母、数字和下划线"))])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=50)])
    sort_order = IntegerField(_l("排序"), default=0, validators=[InputRequired()])


class ApiTokenForm(FlaskForm):
    name = StringField(_l("用途"), validators=[DataRequired(), Length(max=100)],
                       description=_l("例如：自助借还机对账脚本"))


# --- readers ---------------------------------------------------------------------------------------

class ReaderForm(FlaskForm):
    """Registering or editing a reader; category and branch choices are set by the view."""

    card_number = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    category_code = SelectField(_l("读者类型"), choices=[])
    home_branch_id = SelectField(_l("所属馆"), choices=[], coerce=int)
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=40)],
                        render_kw={"type": "tel", "inputmode": "tel"})
    email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=200), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("电子邮箱格式有误"))])
    card_expires_on = DateField(_l("有效期至"), validators=[DataRequired()])
    national_id = StringField(_l("身份证号（选填）"), validators=[Optional(), Length(min=15, max=18)],
                              description=_l("只保存加密摘要和后四位，用于查找读者"))
    pin = PasswordField(_l("初始密码"), validators=[Optional(), Regexp(r"^\d{4,8}$", message=_l("密码须为 4 到 8 位数字"))],
                        render_kw={"inputmode": "numeric", "autocomplete": "new-password"})
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class ReaderEditForm(ReaderForm):
    status = SelectField(_l("状态"), choices=[SelectChoice("active", _l("正常")), SelectChoice("expired", _l("已过期")),
                                              SelectChoice("blocked", _l("已停用"))])


class PinResetForm(FlaskForm):
    pin = PasswordField(_l("新密码"), validators=[DataRequired(), Regexp(r"^\d{4,8}$",
                                                                       message=_l("密码须为 4 到 8 位数字"))])


class ReplaceCardForm(FlaskForm):
    new_card_number = StringField(_l("新读者证号"), validators=[Optional(), Length(max=32)],
                                  description=_l("留空则自动生成"))


class ChangePinForm(FlaskForm):
    current_pin = PasswordField(_l("当前密码"), validators=[DataRequired()])
    new_pin = PasswordField(_l("新密码"), validators=[DataRequired(), Regexp(r"^\d{4,8}$",
                                                                       message=_l("密码须为 4 到 8 位数字"))])
    confirm_pin = PasswordField(_l("再次输入新密码"), validators=[DataRequired(), EqualTo("new_pin",
                                                                                   message=_l("两次输入的密码不一致"))])


class PrivacyForm(FlaskForm):
    keep_history = BooleanField(_l("保留我的借阅历史"))
    show_on_leaderboards = BooleanField(_l("在阅读排行榜上显示我"))


class OwnPasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired()])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm_password = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("两次输入的密码不一致"))])
