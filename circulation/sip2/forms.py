"""Kiosk account forms (branch choices are set by the view)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

_NO_BARS = Regexp(r"^[^|\r\n]*$", message=_l("不能含有 | 或换行"))


class KioskForm(FlaskForm):
    sip_login = StringField(_l("登录名（CN）"), validators=[DataRequired(), Length(max=64), _NO_BARS])
    password = PasswordField(_l("密码（CO）"), validators=[Optional(), Length(min=6, max=64), _NO_BARS],
                             description=_l("至少 6 位；修改时留空表示不改"))
    terminal_password = PasswordField(
        _l("终端密码（AC）"), validators=[Optional(), Length(min=4, max=64), _NO_BARS],
        description=_l("设置后，设备每条请求的 AC 字段都必须是此密码；留空表示不改"))
    clear_terminal_password = BooleanField(_l("取消终端密码"))
    branch_id = SelectField(_l("所在馆"), coerce=int, choices=[])
    charset = SelectField(_l("字符集"), choices=[SelectChoice("utf-8", "UTF-8"),
                                                    SelectChoice("gbk", _l("GBK（较早的国产设备）"))])
    description = StringField(_l("位置说明"), validators=[Optional(), Length(max=200)])
    active = BooleanField(_l("启用"), default=True)
