"""The reply form of a run."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional


class TurnForm(FlaskForm):
    seq = IntegerField(widget=HiddenField.widget, validators=[DataRequired(), NumberRange(min=1)])
    reply = TextAreaField("您的回复", validators=[Optional()])
    option = HiddenField()
    submit = SubmitField("发送")
