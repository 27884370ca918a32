"""Forms of the new-business notice pages."""

from __future__ import annotations

from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.constants import POSITIONS
from ..accounts.forms import choices
from ..forms import LmsForm


class NoticeForm(LmsForm):
    """A notice: its text, what to study, the scope and the issue time."""

    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    body = TextAreaField("通知内容（Markdown，是学习材料的一部分）", validators=[DataRequired("请填写通知内容")])
    module_id = SelectField("关联章节（可选，需学完）", choices=[], default="")
    check_category = SelectField("小测题目类别（可选）", choices=[], default="")
    stores = SelectMultipleField("范围：营业厅（不选表示全部）", choices=[], coerce=int, validators=[Optional()])
    positions = SelectMultipleField("范围：岗位（不选表示全部）", choices=choices((p, p) for p in POSITIONS),
                                    validators=[Optional()])
    issued_at = DateTimeLocalField("发布时间（北京时间，默认现在）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    submit = SubmitField("发布并通知到人")
