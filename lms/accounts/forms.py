"""Forms for log-in, own password, people, stores, regions, leave and roster import."""

from __future__ import annotations

from flask import current_app
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from ..forms import LmsForm

from .constants import POSITIONS, ROLE_LABELS, STORE_ROLES
from .passwords import MAX_LENGTH, POLICY_HINT
from .roster import EMP_NO_RE
from .webhooks import extra_origins, webhook_problem


def choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(LmsForm):
    emp_no = StringField("工号", validators=[DataRequired("请输入工号"), Length(max=32)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])
    remember = BooleanField("在这台设备上保持登录")
    submit = SubmitField("登录")


class PasswordForm(LmsForm):
    """One's own new password; the policy (lms/accounts/passwords.py) is checked by the service."""

    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=MAX_LENGTH)])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码")], description=POLICY_HINT)
    confirm = PasswordField("再输一次新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])
    submit = SubmitField("修改密码")


class PersonForm(LmsForm):
    emp_no = StringField("工号", validators=[DataRequired("请输入工号"), Regexp(EMP_NO_RE, message="工号为2～32位字母、数字、「-」或「_」")])
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50)])
    role = SelectField("角色", choices=choices(ROLE_LABELS.items()), default="staff")
    position = SelectField("岗位", choices=choices([("", "（无）")] + [(p, p) for p in POSITIONS]), default="")
    store_id = SelectField("营业厅", coerce=lambda v: int(v) if v not in (None, "", "None") else None, choices=[])
    hire_date = DateField("入职日期", validators=[Optional()])
    email = StringField("电子邮箱（可选，用于培训提醒）", validators=[
        Optional(), Length(max=200), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="邮箱格式不对")])
    submit = SubmitField("保存")

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then that store staff have a store, a position and a hire date."""
        ok = super().validate(extra_validators)
        if self.role.data in STORE_ROLES:
            for field, message in ((self.store_id, "员工和营业厅经理必须属于一个营业厅"),
                                   (self.position, "员工和营业厅经理必须有岗位"),
                                   (self.hire_date, "请填写入职日期")):
                if not field.data and not field.errors:
                    field.errors = [*field.errors, message]
                    ok = False
        return ok


class StoreForm(LmsForm):
    code = StringField("营业厅编码", validators=[DataRequired("请输入编码"), Regexp(r"^[A-Za-z0-9_-]{2,32}$", message="编码为2～32位字母、数字、「-」或「_」")])
    name = StringField("营业厅名称", validators=[DataRequired("请输入名称"), Length(max=100)])
    region_id = SelectField("地市公司", coerce=int, choices=[])
    address = StringField("地址", validators=[Optional(), Length(max=200)])
    webhook_url = StringField("群机器人地址（企业微信/钉钉，可选）", validators=[Optional()])
    submit = SubmitField("保存")

    def validate_webhook_url(self, field) -> None:
        """Only the known robot hosts over https, or what the operator allowed (accounts/webhooks.py)."""
        problem = webhook_problem(field.data or "", extra_origins(current_app.config))
        if problem:
            raise ValidationError(problem)


class RegionForm(LmsForm):
    code = StringField("地市编码", validators=[DataRequired("请输入编码"), Regexp(r"^[A-Za-z0-9_-]{2,32}$", message="编码为2～32位字母、数字、「-」或「_」")])
    name = StringField("地市公司名称", validators=[DataRequired("请输入名称"), Length(max=100)])
    submit = SubmitField("新增地市公司")


class LeaveForm(LmsForm):
    start_date = DateField("开始日期", validators=[DataRequired("请选择开始日期")])
    end_date = DateField("结束日期", validators=[DataRequired("请选择结束日期")])
    reason = StringField("事由", validators=[Optional(), Length(max=100)])
    submit = SubmitField("登记假期")


class RosterUploadForm(LmsForm):
    file = FileField("花名册文件（「.csv」或「.xlsx」）", validators=[
        FileRequired("请选择文件"), FileAllowed(["csv", "xlsx"], "只支持「.csv」或「.xlsx」文件")])
    submit = SubmitField("上传并预览")


class RosterConfirmForm(LmsForm):
    payload = HiddenField(validators=[DataRequired()])
    submit = SubmitField("确认导入")


class ConfirmForm(LmsForm):
    """An empty form: a POST button with a CSRF token."""

    submit = SubmitField("确定")
