"""Shapes of user input for the cataloguing pages (the MARC editor reads its rows directly)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

BARCODE = Regexp(r"^[\x21-\x7e]{1,32}$", message=_l("条码为 1-32 位字母、数字或符号，不含空格"))


class ItemForm(FlaskForm):
    """A new copy; the branch and item type choices are set by the view."""

    barcode = StringField(_l("条码"), validators=[DataRequired(), BARCODE])
    branch_id = SelectField(_l("所属馆"), coerce=int, choices=[])
    item_type_code = SelectField(_l("文献类型"), choices=[])
    call_number = StringField(_l("索书号"), validators=[Optional(), Length(max=64)])
    shelf_location = StringField(_l("排架位置"), validators=[Optional(), Length(max=100)])
    price = DecimalField(_l("价格（元）"), places=2, validators=[Optional(), NumberRange(min=0)])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class ItemEditForm(FlaskForm):
    item_type_code = SelectField(_l("文献类型"), choices=[])
    call_number = StringField(_l("索书号"), validators=[Optional(), Length(max=64)])
    shelf_location = StringField(_l("排架位置"), validators=[Optional(), Length(max=100)])
    price = DecimalField(_l("价格（元）"), places=2, validators=[Optional(), NumberRange(min=0)])
    status = SelectField(_l("状态"), choices=[])
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class MoveItemForm(FlaskForm):
    branch_id = SelectField(_l("调往"), coerce=int, choices=[])


class WithdrawItemForm(FlaskForm):
    reason = StringField(_l("注销原因"), validators=[DataRequired(), Length(max=200)])


class ImportForm(FlaskForm):
    file = FileField(_l("MARC 文件（ISO 2709 或 MARCXML）"), validators=[FileRequired()])
    branch_id = SelectField(_l("馆藏字段生成的复本放在"), coerce=int, choices=[])
    match = SelectField(_l("与已有书目匹配"), choices=[
        SelectChoice("isbn", _l("按 ISBN（无 ISBN 时按控制号）更新已有书目")),
        SelectChoice("control-number", _l("按控制号（001/003）更新已有书目")),
        SelectChoice("none", _l("不匹配，全部新增")),
    ], default="isbn")
