"""Shapes of user input for the census pages. Choices come from the controlled lists and are
set by the view; the services check the codes again (so the forms do not validate choices)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class AuthorForm(Form):
    dynasty = StringField(_l("朝代"), validators=[Optional(), Length(max=20)])
    name = StringField(_l("著者"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("著作方式"), choices=[], validate_choice=False)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CensusForm(FlaskForm):
    call_number = StringField(_l("索书号"), validators=[Optional(), Length(max=64)])
    bu_code = SelectField(_l("部"), choices=[], validate_choice=False)
    lei_code = SelectField(_l("类"), choices=[], validate_choice=False)
    title = StringField(_l("题名"), validators=[DataRequired(), Length(max=500)])
    juan = StringField(_l("卷数"), validators=[Optional(), Length(max=100)], description=_l("如：十卷、不分卷"))
    authors = FieldList(FormField(AuthorForm), min_entries=3, max_entries=12)
    edition_text = StringField(_l("版本"), validators=[Optional(), Length(max=500)],
                               description=_l("照原样著录，如：清乾隆三十年刻本；版本年代自动换算为公元纪年"))
    edition_type_code = SelectField(_l("版本类型"), choices=[], validate_choice=False)
    annotations = TextAreaField(_l("批校题跋"), validators=[Optional(), Length(max=4000)])
    layout_hangkuan = StringField(_l("行款"), validators=[Optional(), Length(max=200)],
                                  description=_l("如：半叶十行行二十字，小字双行同"))
    layout_bianlan = SelectField(_l("边栏"), choices=[], validate_choice=False)
    layout_banxin = SelectField(_l("版心"), choices=[], validate_choice=False)
    layout_yuwei = SelectField(_l("鱼尾"), choices=[], validate_choice=False)
    binding_code = SelectField(_l("装帧"), choices=[], validate_choice=False)
    series_contents = TextAreaField(_l("丛书子目"), validators=[Optional(), Length(max=8000)])
    volumes = IntegerField(_l("册(件)数"), default=1, validators=[InputRequired(), NumberRange(min=1, max=100000)])
    volume_unit = SelectField(_l("单位"), choices=[SelectChoice("册", "册"), SelectChoice("件", "件")], validate_choice=False)
    extant = StringField(_l("存卷"), validators=[Optional(), Length(max=200)], description=_l("如：存四卷（十六至十九）"))
    missing = StringField(_l("缺卷"), validators=[Optional(), Length(max=200)])
    seals = TextAreaField(_l("钤印"), validators=[Optional(), Length(max=4000)])
    grade_code = SelectField(_l("定级"), choices=[], validate_choice=False)
    grade_class = SelectField(_l("等次"), choices=[], validate_choice=False,
                              description=_l("一至三级（善本）分甲乙丙等；四级（普本）不分等次"))
    damage_level_code = SelectField(_l("破损等级"), choices=[], validate_choice=False)
    damage_types = MultiCheckboxField(_l("破损类型"), choices=[], validate_choice=False)
    damage_share = IntegerField(_l("破损叶数比例(%)"), validators=[Optional(), NumberRange(min=0, max=100)])
    repair_needed = BooleanField(_l("需要修复"))
    damage_notes = TextAreaField(_l("破损说明"), validators=[Optional(), Length(max=4000)])
    location = StringField(_l("存放位置"), validators=[Optional(), Length(max=200)])
    holding_unit = StringField(_l("收藏单位"), validators=[Optional(), Length(max=200)])
    bib_record_id = IntegerField(_l("关联书目记录号（选填）"), validators=[Optional()])


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[Optional(), Length(max=4000)])


class PhotoForm(FlaskForm):
    photo = FileField(_l("书影照片"), validators=[DataRequired()])
    caption = StringField(_l("说明"), validators=[Optional(), Length(max=200)])


class ScanBatchForm(FlaskForm):
    volume_no = IntegerField(_l("册次"), default=1, validators=[InputRequired(), NumberRange(min=1)])
    image_count = IntegerField(_l("图像数"), validators=[InputRequired(), NumberRange(min=0)])
    resolution_ppi = IntegerField(_l("分辨率(ppi)"), default=400, validators=[InputRequired(), NumberRange(min=1)])
    colour = SelectField(_l("色彩"), choices=[SelectChoice("colour", _l("彩色")), SelectChoice("grey", _l("灰度")),
                                                SelectChoice("bitonal", _l("黑白"))])
    file_format = StringField(_l("格式"), default="TIFF", validators=[DataRequired(), Length(max=20)])
    device = StringField(_l("设备"), validators=[Optional(), Length(max=100)])
    files = TextAreaField(_l("母版文件路径"), validators=[Optional()], description=_l("每行一个服务器上的文件路径"))


class TermForm(FlaskForm):
    kind = SelectField(_l("规范表"), choices=[], validate_choice=False)
    code = StringField(_l("代码"), validators=[DataRequired(), Length(max=40)])
    label = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    parent_code = StringField(_l("上级代码"), validators=[Optional(), Length(max=40)],
                              description=_l("“类”填所属“部”的代码，如 jing"))
    description = StringField(_l("说明"), validators=[Optional(), Length(max=400)])
    sort_order = IntegerField(_l("排序"), default=0, validators=[InputRequired()])
    active = BooleanField(_l("启用"), default=True)


class ImportForm(FlaskForm):
    file = FileField(_l("Excel 文件（.xlsx）"), validators=[DataRequired()])
