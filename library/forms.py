"""Shapes of user input for the core pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class StaffLoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired()])


class ReaderLoginForm(FlaskForm):
    card_number = StringField(_l("读者证号"), validators=[DataRequired(), Length(max=32)])
    pin = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=8)])
