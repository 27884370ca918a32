"""Forms of the new-business notice pages."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.constants import POSITIONS
from ..accounts.forms import choices
from ..forms import LmsForm


class NoticeForm(LmsForm):
    """A notice: its text, what to study, the scope and the issue time.

    The scope is picked with checkboxes. 「全选」 (or every box ticked) means every store or every
    position, as ticking none does: the notice then also reaches people who come into scope later,
    in a store or position that did not exist when it was published.
    """

    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200, message="标题最多200字")])
    body = TextAreaField("通知内容", validators=[DataRequired("请填写通知内容")])
    module_id = SelectField("关联章节（可选，需学完）", choices=[], default="",
                            invalid_choice_message="所选章节已下线，请另选")
    check_category = SelectField("小测题目（可选，须通过）", choices=[], default="",
                                 invalid_choice_message="所选题目类别不能出小测，请另选")
    all_stores = BooleanField("全选")
    stores = SelectMultipleField("营业厅", choices=[], coerce=int, validators=[Optional()],
                                 invalid_choice_message="所选营业厅已停用或不存在，请重新勾选")
    all_positions = BooleanField("全选")
    positions = SelectMultipleField("岗位", choices=choices((p, p) for p in POSITIONS), validators=[Optional()],
                                    invalid_choice_message="请在列出的岗位中勾选")
    issued_at = DateTimeLocalField("发布时间（北京时间，默认现在）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    submit = SubmitField("发布并通知到人")

    def scope(self) -> tuple[list[int], list[str]]:
        """The chosen stores and positions; an empty list for 「全部」 (全选, every box, or none)."""
        def chosen(everything: bool, picked: list, field) -> list:
            offered = {c.value for c in field.choices}
            return [] if everything or offered <= set(picked or []) else list(picked or [])

        return (chosen(self.all_stores.data, self.stores.data, self.stores),
                chosen(self.all_positions.data, self.positions.data, self.positions))
