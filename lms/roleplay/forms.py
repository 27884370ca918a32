"""The reply form of a run."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from ..forms import LmsForm


class TurnForm(LmsForm):
    seq = IntegerField(widget=HiddenField.widget, validators=[DataRequired(), NumberRange(min=1)])
    reply = TextAreaField("您的回复", validators=[Optional()])
    option = HiddenField()
    submit = SubmitField("发送")
