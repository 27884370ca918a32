"""Account use cases: people, stores, leave, roster import. Each flushes; the route commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, url_for
from sqlalchemy import bindparam, func, select

from .. import audit, events
from ..catalog import note_stamp, stamp_column
from ..clock import now
from ..errors import AlreadyDone, DomainError
from ..extensions import core_rows, db, loaded
from ..locks import ORGANISATION, advisory_lock, lock_row
from .models import Leave, Region, Store, User, password_method
from .passwords import generate_password, password_problem, verify
from .roster import RosterCheck
from .webhooks import extra_origins, webhook_problem

FIELD_LABELS = {"emp_no": "工号", "name": "姓名", "role": "角色", "position": "岗位", "store_id": "营业厅",
                "hire_date": "入职日期", "email": "邮箱"}


_PERSON = User.__table__
# with the content stamp, which nearly every page asks for next (lms/catalog.py): one statement, not two
_PERSON_BY_ID = select(*_PERSON.c, stamp_column()).where(_PERSON.c.id == bindparam("user_id"))


def person_for_request(user_id: int, token: str) -> User | None:
    """The logged-in person, checked against their session token on every request (a new password
    or a log-out elsewhere changes the token: the next request is logged out).

    This runs before every page, so it is one Core statement on the session's connection (a cached
    compiled SELECT, the row as a tuple) instead of the ORM's `session.get` (about 0.1 ms less per
    request, bench/floor.py); the row then becomes an ordinary persistent `User` of the session, as
    the ORM would have made it, so relationships and changes work as usual. The same statement reads
    the content stamp, which the page's catalogue would otherwise read next (lms/catalog.py)."""
    session = db.session()
    known = session.identity_map.get(session.identity_key(User, user_id))
    if known is not None:
        return known if known.auth_token == token else None
    row = session.connection().execute(_PERSON_BY_ID, {"user_id": user_id}).first()
    if row is None or row.auth_token != token:
        return None
    note_stamp(row.content_stamp)
    return loaded(User, row)


# A store's (`store_id`) name without loading the store, as a column for a page's one statement of
# small facts (lms/home.py: the line under the person's name).
STORE_NAME = select(Store.name).where(Store.id == bindparam("store_id")).scalar_subquery().label("store_name")


def find_by_emp_no(emp_no: str) -> User | None:
    """Find a person by 工号, ignoring case."""
    return db.session.scalar(select(User).where(func.upper(User.emp_no) == emp_no.strip().upper()))


def authenticate(emp_no: str, password: str) -> User | None:
    """Return the active person with this 工号 and password, or None.

    Every try costs the configured hash method's time, whether the 工号 is unknown, the account
    still has a generated password or not (lms/accounts/passwords.py: timing tells nothing); a
    hash made with another method is remade with the configured one on a successful log-in.
    """
    user = find_by_emp_no(emp_no)
    verdict = verify(user.password_hash if user is not None else None, password, password_method())
    if user is None or not verdict.ok or not user.active:
        return None
    if verdict.rehash:
        user.rehash_password(password)
    return user


@dataclass(frozen=True)
class PersonData:
    """The editable fields of a person."""

    emp_no: str
    name: str
    role: str
    position: str | None
    store_id: int | None
    hire_date: date | None
    email: str = ""


def _one_at_a_time(*rows) -> None:
    """Changes to the organisation take turns (locks.ORGANISATION), each on `rows` as they stand now:
    each checks something before it writes (a unique 工号 or store, the last admin, a store's people,
    overlapping leave), and two at the same moment would each check the state before the other's write."""
    advisory_lock(ORGANISATION)
    for row in rows:
        lock_row(type(row), row.id)  # read again (changes of this transaction not yet written are written first)


def _check_store(store_id: int | None, before: int | None = None, refusal: str = "不能调入人员") -> None:
    """Refuse to place a person in a closed store (staying in the one they are in is no move)."""
    if store_id is None or store_id == before:
        return
    store = db.session.execute(select(Store.name, Store.active).where(Store.id == store_id)).one_or_none()
    if store is None:
        raise FieldRefused("没有这个营业厅", "store_id")
    if not store.active:
        raise FieldRefused(f"营业厅「{store.name}」已关闭，{refusal}", "store_id")


def create_person(data: PersonData, actor: User, password: str | None = None) -> tuple[User, str]:
    """Create a person; return them and their initial password (shown once)."""
    _one_at_a_time()
    if find_by_emp_no(data.emp_no) is not None:
        raise DomainError(f"工号「{data.emp_no}」已存在")
    _check_store(data.store_id, refusal="请选择在用的营业厅")
    generated = password is None
    password = password or generate_password(data.emp_no)
    user = User(emp_no=data.emp_no.strip(), active=True)
    _apply(user, data)
    user.set_password(password, generated=generated)
    db.session.add(user)
    db.session.flush()
    audit.record("person.created", actor_id=actor.id, subject_id=user.id, object_type="user", object_id=user.id,
                 role=user.role, store_id=user.store_id, position=user.position)
    _reconcile(user)
    return user, password


def update_person(user: User, data: PersonData, actor: User) -> list[str]:
    """Change a person's fields; return the names of the fields that changed."""
    _one_at_a_time(user)
    other = find_by_emp_no(data.emp_no)
    if other is not None and other.id != user.id:
        raise DomainError(f"工号「{data.emp_no}」已被{other.name}使用")
    if user.role == "admin" and data.role != "admin":
        if user.id == actor.id:
            raise DomainError("不能取消自己的管理员角色")
        if _last_admin(user):
            raise DomainError("这是最后一个在用的管理员账号，不能改成其他角色")
    _check_store(data.store_id, user.store_id)
    before = _snapshot(user)
    user.emp_no = data.emp_no.strip()
    _apply(user, data)
    changed = [k for k, v in _snapshot(user).items() if before[k] != v]
    if changed:
        audit.record("person.updated", actor_id=actor.id, subject_id=user.id, object_type="user",
                     object_id=user.id, changed={k: [str(before[k]), str(_snapshot(user)[k])] for k in changed})
    db.session.flush()
    if {"store_id", "position", "role", "hire_date"} & set(changed):
        _reconcile(user)
    return changed


def _reconcile(*users: User) -> None:
    """Tell the areas above that these people changed (the 48-hour rule keeps their assignments in step)."""
    events.person_changed.send(None, users=list(users))


def _last_admin(user: User) -> bool:
    """Tell whether the person is the only active admin."""
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    return not others


def _apply(user: User, data: PersonData) -> None:
    user.name, user.role, user.position = data.name.strip(), data.role, data.position or None
    user.store_id, user.hire_date = data.store_id, data.hire_date
    if data.email is not None:
        user.email = data.email.strip()


def _snapshot(user: User) -> dict:
    return {"emp_no": user.emp_no, "name": user.name, "role": user.role, "position": user.position,
            "store_id": user.store_id, "hire_date": user.hire_date, "email": user.email}


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivate or reactivate a person; their history is kept either way."""
    if user.id == actor.id and not active:
        raise DomainError("不能停用自己的账号")
    _one_at_a_time(user)
    if user.active == active:
        return
    if not active and user.role == "admin" and _last_admin(user):
        raise DomainError("这是最后一个在用的管理员账号，不能停用")
    if active:
        _check_store(user.store_id, refusal="请先把此人调到在用的营业厅，再启用")
    user.active = active
    user.deactivated_at = None if active else now()
    if not active:
        user.end_sessions()
    audit.record("person.reactivated" if active else "person.deactivated", actor_id=actor.id,
                 subject_id=user.id, object_type="user", object_id=user.id)
    db.session.flush()
    _reconcile(user)


def reset_password(user: User, actor: User) -> str:
    """Give the person a new random password and return it (shown once)."""
    password = generate_password(user.emp_no)
    user.set_password(password, generated=True)
    audit.record("person.password_reset", actor_id=actor.id, subject_id=user.id, object_type="user",
                 object_id=user.id)
    db.session.flush()
    return password


class FieldRefused(DomainError):
    """A change refused, with the form field it is about (where the form shows the message)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class PasswordRefused(FieldRefused):
    """A password change refused (field `current` or `new`)."""


def change_own_password(user: User, current: str, new: str) -> None:
    """Change one's own password after checking the current one; the new one meets the policy and differs."""
    if not user.check_password(current):
        raise PasswordRefused("当前密码不正确", "current")
    if new == current:
        raise PasswordRefused("新密码不能与当前密码相同", "new")
    problem = password_problem(new, user.emp_no)
    if problem:
        raise PasswordRefused(problem, "new")
    user.set_password(new)
    audit.record("person.password_changed", actor_id=user.id, object_type="user", object_id=user.id)
    db.session.flush()


def log_out(user: User) -> None:
    """End the person's sessions on the server: their session and 「保持登录」 cookies stop working."""
    user.end_sessions()
    db.session.flush()


def add_leave(user: User, start: date, end: date, reason: str, actor: User) -> Leave:
    """Record a leave period; overlapping periods are refused."""
    if end < start:
        raise DomainError("结束日期不能早于开始日期")
    _one_at_a_time(user)
    other = db.session.scalar(select(Leave).where(Leave.user_id == user.id, Leave.start_date <= end,
                                                  Leave.end_date >= start).order_by(Leave.start_date).limit(1))
    if other is not None:
        raise DomainError(f"与已有假期{other.start_date}～{other.end_date}重叠")
    leave = Leave(user=user, start_date=start, end_date=end, reason=reason.strip())
    db.session.add(leave)
    db.session.flush()
    audit.record("leave.added", actor_id=actor.id, subject_id=user.id, object_type="leave", object_id=leave.id,
                 start=start.isoformat(), end=end.isoformat())
    db.session.refresh(user)
    _reconcile(user)
    return leave


def remove_leave(leave: Leave, actor: User) -> None:
    """Delete a leave period entered by mistake (audited); one already deleted (a second click) stays so."""
    _one_at_a_time()
    if lock_row(Leave, leave.id) is None:
        db.session.expunge(leave)
        return
    audit.record("leave.removed", actor_id=actor.id, subject_id=leave.user_id, object_type="leave",
                 object_id=leave.id, start=leave.start_date.isoformat(), end=leave.end_date.isoformat())
    user = leave.user
    db.session.delete(leave)
    db.session.flush()
    db.session.refresh(user)
    _reconcile(user)


def save_store(store: Store | None, code: str, name: str, region_id: int, address: str, actor: User,
               webhook_url: str = "") -> Store:
    """Create a store (store=None) or change one; codes and names stay unique."""
    code, name = code.strip().upper(), name.strip()
    _one_at_a_time()
    clash = db.session.scalar(select(Store).where((func.upper(Store.code) == code) | (Store.name == name)))
    if clash is not None and (store is None or clash.id != store.id):
        raise DomainError(f"营业厅编码或名称已被「{clash.name}」使用")
    webhook_url = (webhook_url or "").strip()
    problem = webhook_problem(webhook_url, extra_origins(current_app.config))
    if problem:
        raise DomainError(problem)
    if store is None:
        store = Store()
        db.session.add(store)
    store.code, store.name, store.region_id, store.address = code, name, region_id, address.strip()
    store.webhook_url = webhook_url
    db.session.flush()
    audit.record("store.saved", actor_id=actor.id, subject_id=None, object_type="store", object_id=store.id,
                 code=code, name=name)
    return store


def set_store_active(store: Store, active: bool, actor: User) -> None:
    """Close or reopen a store; a store with active people cannot be closed."""
    _one_at_a_time(store)
    if not active:
        staff = db.session.scalar(select(func.count()).select_from(User).where(
            User.store_id == store.id, User.active.is_(True)))
        if staff:
            raise DomainError(f"该营业厅还有{staff}名在岗人员，请先调出或停用")
    store.active = active
    audit.record("store.reopened" if active else "store.closed", actor_id=actor.id, subject_id=None,
                 object_type="store", object_id=store.id)
    db.session.flush()


def save_region(code: str, name: str, actor: User) -> Region:
    """Create a region (地市公司)."""
    code, name = code.strip().upper(), name.strip()
    _one_at_a_time()
    if db.session.scalar(select(Region).where(func.upper(Region.code) == code)) is not None:
        raise DomainError(f"地市编码「{code}」已存在")
    region = Region(code=code, name=name)
    db.session.add(region)
    db.session.flush()
    audit.record("region.created", actor_id=actor.id, subject_id=None, object_type="region",
                 object_id=region.id, code=code, name=name)
    return region


@dataclass
class RosterPlan:
    """What importing a checked roster would do, row by row."""

    new: list = None  # type: ignore[assignment]
    changed: list = None  # type: ignore[assignment]
    unchanged: list = None  # type: ignore[assignment]

    def __post_init__(self):
        self.new, self.changed, self.unchanged = [], [], []


def plan_roster(check: RosterCheck) -> RosterPlan:
    """Sort valid rows into new people, changed people and unchanged people (two queries)."""
    plan = RosterPlan()
    stores = {s.code: s for s in db.session.scalars(select(Store))}
    keys = [row.emp_no.upper() for row in check.rows]
    users = {}
    for start in range(0, len(keys), 500):  # stay under the databases' parameter limits
        chunk = keys[start:start + 500]
        users.update({u.emp_no.upper(): u for u in db.session.scalars(
            select(User).where(func.upper(User.emp_no).in_(chunk)))})
    for row in check.rows:
        user = users.get(row.emp_no.upper())
        data = _row_data(row, stores, user)
        if user is None:
            plan.new.append((row, None))
            continue
        before = _snapshot(user)
        after = {**before, "name": data.name, "role": data.role, "position": data.position,
                 "store_id": data.store_id, "hire_date": data.hire_date}
        changed = [FIELD_LABELS[k] for k in before if before[k] != after[k]]
        if changed or not user.active:
            plan.changed.append((row, user, changed + ([] if user.active else ["重新启用"])))
        else:
            plan.unchanged.append((row, user))
    return plan


def _row_data(row, stores: dict[str, Store], user: User | None = None) -> PersonData:
    store = stores.get(row.store_key)
    role = row.role or (user.role if user is not None else "staff")
    return PersonData(row.emp_no, row.name, role, row.position or None, store.id if store else None, row.hire_date,
                      user.email if user is not None else "")


def roster_already_imported(nonce: str) -> bool:
    """Tell whether the roster preview with this one-time code was imported already."""
    return db.session.scalar(select(audit.AuditEvent.id).where(
        audit.AuditEvent.verb == "roster.imported", audit.AuditEvent.object_id == nonce)) is not None


def apply_roster(check: RosterCheck, actor: User, nonce: str = "") -> tuple[RosterPlan, list[tuple[User, str]]]:
    """Write a fully valid roster; return the plan and the new people with their passwords.

    The check was made before the organisation's lock: what may have changed since (the same
    preview imported by a second click, a store closed) is asked again after it."""
    if not check.ok:
        raise DomainError("名单有错误，未写入任何数据")
    _one_at_a_time()
    if nonce and roster_already_imported(nonce):
        raise AlreadyDone("这份名单已经导入过了（可能是重复点击或后退后重新提交）。", url_for("admin.people"))
    plan = plan_roster(check)
    stores = {s.code: s for s in db.session.scalars(select(Store))}
    for row, *_ in (*plan.new, *plan.changed):
        store = stores.get(row.store_key)
        if store is not None and not store.active:
            raise DomainError(f"名单中的营业厅「{store.name}」刚刚已关闭，未写入任何数据。")
    created: list[tuple[User, str]] = []
    for row, _ in plan.new:  # the plan checked that none of these exists: add them all, flush once
        password = generate_password(row.emp_no)
        user = User(emp_no=row.emp_no.strip(), active=True)
        _apply(user, _row_data(row, stores))
        user.set_password(password, generated=True)
        db.session.add(user)
        created.append((user, password))
    db.session.flush()
    for user, _ in created:
        audit.record("person.created", actor_id=actor.id, subject_id=user.id, object_type="user", object_id=user.id,
                     role=user.role, store_id=user.store_id, position=user.position, via="roster")
    _reconcile(*(user for user, _ in created))
    for row, user, _ in plan.changed:
        update_person(user, _row_data(row, stores, user), actor)
        if not user.active:
            set_active(user, True, actor)
    audit.record("roster.imported", actor_id=actor.id, subject_id=None, object_type="roster", object_id=nonce,
                 new=len(plan.new), changed=len(plan.changed), unchanged=len(plan.unchanged))
    return plan, created
