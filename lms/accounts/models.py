"""Accounts: regions (地市公司), stores (营业厅), people and their leave."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
import secrets

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..dbtypes import UTCDateTime
from ..errors import DomainError
from ..extensions import db
from .constants import POSITIONS, ROLE_LABELS, ROLES
from .passwords import ONE_TIME_METHOD, Verdict, hash_password, password_problem, verify


class Region(db.Model):
    """A city company (地市公司) that owns stores."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    stores: Mapped[list["Store"]] = relationship(back_populates="region", order_by="Store.code")


class Store(db.Model):
    """A store (营业厅); every staff member belongs to one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    webhook_url: Mapped[str] = mapped_column(String(500), default="")  # WeCom/DingTalk group robot
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    region: Mapped[Region] = relationship(back_populates="stores")
    users: Mapped[list["User"]] = relationship(back_populates="store")


class User(UserMixin, db.Model):
    """A person who logs in: 工号 (emp_no) is the log-in name."""

    __tablename__ = "users"  # "user" is reserved in PostgreSQL

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
        CheckConstraint(
            f"position IS NULL OR position IN ({', '.join(repr(p) for p in POSITIONS)})",
            name="position",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    emp_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    # Part of the session id: changing it (new password, reset, deactivation) logs out every device.
    auth_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    role: Mapped[str] = mapped_column(String(16), default="staff")
    position: Mapped[str | None] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"), index=True)
    hire_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    store: Mapped[Store | None] = relationship(back_populates="users")
    leaves: Mapped[list["Leave"]] = relationship(
        back_populates="user", order_by="Leave.start_date.desc()", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated person cannot log in
        return self.active

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def set_password(self, password: str, generated: bool = False) -> None:
        """Store a salted hash of a password that meets the policy, never the password; end every session.

        A generated password must be changed at the first log-in; it is hashed with a fast method
        (a log-in still costs the configured method's time: lms/accounts/passwords.py).
        """
        problem = password_problem(password, self.emp_no)
        if problem:
            raise DomainError(problem)
        self.password_hash = hash_password(password, ONE_TIME_METHOD if generated else password_method())
        self.must_change_password = generated
        self.end_sessions()

    def end_sessions(self) -> None:
        """Log the person out on every device: the session and 「保持登录」 cookies name the old token."""
        self.auth_token = secrets.token_hex(8)

    def get_id(self) -> str:  # Flask-Login: the session remembers the id and the token
        return f"{self.id}:{self.auth_token}"

    def check_password(self, password: str) -> Verdict:
        """Tell whether the password matches (truthy) and whether its hash should be remade (`rehash`)."""
        return verify(self.password_hash, password, password_method())

    def rehash_password(self, password: str) -> None:
        """Remake the stored hash with the configured method (the password, its flag and the sessions stay)."""
        self.password_hash = hash_password(password, password_method())

    def on_leave(self, day: date) -> "Leave | None":
        """Return the leave that covers the day, if any."""
        return next((lv for lv in self.leaves if lv.start_date <= day <= lv.end_date), None)

    def __repr__(self) -> str:
        return f"<User {self.emp_no} {self.role}>"


def password_method() -> str:
    """The configured password hashing method (werkzeug method string)."""
    return current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"


# 工号 are case-insensitive: one index both enforces that and serves the log-in look-up.
Index("uq_users_emp_no_upper", func.upper(User.emp_no), unique=True)


class Leave(db.Model):
    """A period (inclusive dates) when a person is away from the store."""

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(100), default="")

    user: Mapped[User] = relationship(back_populates="leaves")

