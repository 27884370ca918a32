"""Forms of the manager's pages."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import LmsForm


class SessionForm(LmsForm):
    """An in-person training session and who attended."""

    trainer_name = StringField("培训人", validators=[DataRequired("请填写培训人"), Length(max=50)])
    held_at = DateTimeLocalField("培训时间（北京时间）", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写培训时间")])
    place = StringField("地点", validators=[DataRequired("请填写地点"), Length(max=100)])
    content = TextAreaField("培训内容", validators=[DataRequired("请填写培训内容")])
    assessment = TextAreaField("考核结果", validators=[Optional()])
    # the service checks attendees (active people of this store) and says so in Chinese
    attendees = SelectMultipleField("参加人员", coerce=int, validate_choice=False,
                                    validators=[DataRequired("请选择参加人员")])
    submit = SubmitField("登记培训")
