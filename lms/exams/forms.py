"""Forms of the trainer's question bank and exam pages."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DecimalField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from ..forms import LmsForm


class QuestionForm(LmsForm):
    """One question as GIFT text."""

    gift = TextAreaField("题目（GIFT格式）", validators=[DataRequired("请填写题目")])
    submit = SubmitField("保存为新版本")


class QuestionMetaForm(LmsForm):
    """The question form's protection; its fields differ by type and are read by question_form.py."""


class ExamMetaForm(LmsForm):
    """The exam form's protection; its fields (and draw rows) are read by exam_form.py."""


class ImportForm(LmsForm):
    """A GIFT file and the course whose bank receives it."""

    course = SelectField("导入到课程", choices=[])
    file = FileField("GIFT文件（「.gift」或「.txt」，UTF-8）", validators=[FileRequired("请选择文件"),
                                                                 FileAllowed(["gift", "txt"], "只支持「.gift」或「.txt」")])
    valid_only = BooleanField("文件有错误时，只导入格式正确的题目")
    submit = SubmitField("导入")


class ExamForm(LmsForm):
    """An exam definition as YAML."""

    yaml_text = TextAreaField("考试定义（YAML）", validators=[DataRequired("请填写考试定义")])
    submit = SubmitField("保存")


class EssayGradeForm(LmsForm):
    """A trainer's grade and comment for an essay answer."""

    score = DecimalField("得分（0～100）", places=None, validators=[InputRequired("请填写得分"), NumberRange(0, 100, "得分应在0～100之间")])
    comment = TextAreaField("评语", validators=[Optional()])
    submit = SubmitField("提交评分")
