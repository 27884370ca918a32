"""`flask --app wsgi lms …`: init, sync, demo."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from .errors import DomainError
from .extensions import db
from .urls import DEVELOPMENT_URL, PublicUrlMissing, configured, public_base

lms_cli = AppGroup("lms", help="门店培训认证平台的命令。")


def _content_root() -> Path:
    root = Path(current_app.config["CONTENT_DIR"])
    return root if root.is_absolute() else Path(current_app.config["PROJECT_ROOT"]) / root


def _simulations_root() -> Path:
    root = Path(current_app.config["SIMULATIONS_DIR"])
    return root if root.is_absolute() else Path(current_app.config["PROJECT_ROOT"]) / root


PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600  # instance/, the database, its backups: the owner's alone


def ensure_instance() -> Path:
    """Create instance/ readable by its owner only (0700), and tighten an older, looser one."""
    instance = Path(current_app.instance_path)
    instance.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _make_private(instance, PRIVATE_DIR)
    return instance


def _make_private(path: Path, mode: int) -> None:
    """Take away what group and others may do with `path` (a file or folder made by an older version)."""
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, mode)
            click.echo(f"已收紧「{path}」的权限（只有所有者可读写）")
    except OSError as exc:  # not ours: say so, change nothing
        click.echo(f"无法收紧「{path}」的权限：{exc.strerror}", err=True)


def _create_private(path: Path) -> None:
    """Create an empty file that only its owner can read and write; refuse one that exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def ensure_secret_key() -> None:
    """Create instance/secret_key (mode 0600) if there is none, and use it.

    A key set in instance/config.py or LMS_SECRET_KEY (shared by several hosts) is used as it is:
    no file is written, so no host quietly signs with a key of its own.
    """
    if current_app.config.get("SECRET_KEY"):
        return
    instance = ensure_instance()
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        click.echo(f"已生成密钥「{key_file}」")
    if not current_app.config.get("SECRET_KEY"):
        current_app.config["SECRET_KEY"] = key_file.read_text(encoding="ascii").strip()


@dataclass
class Loaded:
    """Everything read from courses/ and simulations/, with every problem found."""

    content: object
    sims: object
    exams: object
    rules: list
    problems: list[str]


def load_everything() -> Loaded:
    """Read and cross-check all content files (nothing is written)."""
    from .accounts.constants import POSITIONS
    from .certification.rules import RuleError, parse_rules
    from .courses.loader import load_courses
    from .exams.loading import load_exam_content
    from .roleplay.validate import load_simulations
    from .yamlx import YamlError, load

    root = _content_root()
    content = load_courses(root)
    sims = load_simulations(_simulations_root())
    exams = load_exam_content(root, [c.slug for c in content.courses])
    problems = [str(e) for e in content.errors] + [str(p) for p in sims.problems] + [str(e) for e in exams.errors]
    problems += _check_problems(content, exams)
    rules = []
    rules_path = root / "certifications.yaml"
    if rules_path.is_file():
        try:
            rules = parse_rules(load(rules_path.read_text(encoding="utf-8")), POSITIONS,
                                [c.slug for c in content.courses], [s.id for s in sims.scenarios],
                                [spec.id for spec, _ in exams.exams])
        except YamlError as exc:
            problems.append(f"{root.name}/certifications.yaml:{exc.line}: {exc}")
        except RuleError as exc:
            problems += [f"{root.name}/certifications.yaml:{line or ''}: {message}" for line, message in exc.problems]
    return Loaded(content, sims, exams, rules, problems)


def _check_problems(content, exams) -> list[str]:
    """Each module's knowledge check must find its categories and enough practice items to draw."""
    from .exams.definitions import check_pool, in_check
    from .exams.service import CHECK_EXCLUDED, CHECK_QUESTIONS

    problems, rules = [], exams.certification_rules()
    for course in content.courses:
        bank = [(0, q.category) for q in exams.banks.get(course.slug, []) if q.qtype not in CHECK_EXCLUDED]
        for module in course.modules:
            for category in module.check:
                if not any(in_check(cat, [category]) for _, cat in bank):
                    problems.append(f"{module.path}: 「check」中的题目类别「{category}」在题库里不存在")
            have = len(check_pool(bank, module.check, rules))
            if bank and have < CHECK_QUESTIONS:  # a check never draws certification items: practice ones only
                problems.append(f"{module.path}: 章节测验只有{have}道练习题可抽（上岗认证考试的题目不进测验），"
                                f"至少需要{CHECK_QUESTIONS}道；请在「{'、'.join(module.check) or course.slug}/练习」下补题")
    return problems


def run_sync() -> bool:
    """Load courses/ and simulations/ into the database in one transaction; print the outcome."""
    from .certification.service import sync_rules
    from .courses.service import sync_content
    from .exams.bank import sync_exam_content
    from .roleplay.service import sync_simulations

    loaded = load_everything()
    if loaded.problems:
        click.echo(f"内容有{len(loaded.problems)}处错误，未做任何改动：", err=True)
        for problem in loaded.problems:
            click.echo(f"  {problem}", err=True)
        return False
    content, sims = loaded.content, loaded.sims
    reports = sync_content(content) + sync_simulations(sims) + sync_exam_content(loaded.exams)
    changed_rules = sync_rules(loaded.rules)
    db.session.commit()
    total = sum(len(q) for q in loaded.exams.banks.values())
    click.echo(f"内容同步完成：{len(content.courses)}门课程，{content.module_count}个章节，{len(sims.scenarios)}个情景，"
               f"{total}道题（文件中），考试{len(loaded.exams.exams)}场，上岗认证{len(loaded.rules)}种"
               f"{'（认证规则有更新）' if changed_rules else ''}。")
    for report in reports:
        for line in report.lines():
            click.echo(f"  {line}")
    return True


def schema_is_current() -> bool:
    """Tell whether the database has every Alembic migration applied."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    return set(MigrationContext.configure(db.session.connection()).get_current_heads()) == heads


@lms_cli.command("sync")
def sync_command() -> None:
    """Load courses/ and simulations/ (idempotent; nothing changes if any file is bad)."""
    if not schema_is_current():
        click.echo("数据库结构不是最新版本，请先运行「flask --app wsgi db upgrade」（或「make run」）。", err=True)
        sys.exit(1)
    if not run_sync():
        sys.exit(1)


@lms_cli.command("export")
def export_command() -> None:
    """Write what was edited or imported in the browser back to courses/ and simulations/."""
    from .courses.service import exporters as course_exporters
    from .exams.bank import exporters as bank_exporters
    from .roleplay.service import exporters as roleplay_exporters
    from .versioning import ExportReport

    report = ExportReport()
    root = _content_root()
    for exporter in course_exporters(root) + bank_exporters(root) + roleplay_exporters(_simulations_root()):
        exporter.run(report)
    db.session.commit()
    click.echo(f"已导出网页上的修改：{report.rows}项，写入{len(report.files)}个文件。")
    for path in report.files:
        click.echo(f"  {path}")


@lms_cli.command("check")
def check_command() -> None:
    """Validate courses, question banks, exams, certifications, the phrasebook and every scenario."""
    from .exams.lint import lint_files

    loaded = load_everything()
    problems = list(loaded.problems)
    if not problems:  # the bank linter reads well-formed banks only
        problems += [f"{f.item.where}: {f.message()}（见{f.other.where}）"
                     for f in lint_files(loaded.exams, loaded.content.courses, _content_root().name)]
    if problems:
        click.echo(f"发现{len(problems)}处问题：", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    sims = loaded.sims
    tests = sum(len(n.tests) for f in sims.scenarios for n in f.scenario.nodes.values())
    questions = sum(len(q) for q in loaded.exams.banks.values())
    click.echo(f"检查通过：短语库{len(sims.phrasebook.rules)}条忌语规则，{len(sims.scenarios)}个情景（{tests}条节点测试全部通过），"
               f"题库{questions}道题，考试{len(loaded.exams.exams)}场，上岗认证{len(loaded.rules)}种。")


phrases_cli = AppGroup("phrases", help="Phrasebook tools.")
lms_cli.add_command(phrases_cli)


@phrases_cli.command("check")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def phrases_check_command(text: str, as_json: bool) -> None:
    """Analyse a reply against simulations/phrasebook.yaml."""
    import json

    from .roleplay.validate import parse_phrasebook

    book = parse_phrasebook((_simulations_root() / "phrasebook.yaml").read_text(encoding="utf-8"))
    analysis = book.analyze(text)
    if as_json:
        click.echo(json.dumps(analysis.to_json(), ensure_ascii=False))
        return
    labels = book.labels
    click.echo(f"规范化：{analysis.normalized}")
    click.echo("命中规范用语：" + ("、".join(f"{labels[c]}({c})" for c in analysis.categories) or "无"))
    for hit in analysis.forbidden:
        click.echo(f"服务忌语：「{hit.phrase}」，原文「{hit.matched}」，位置{hit.start}～{hit.end}，{hit.severity}")
    for note in analysis.notes:
        click.echo(f"提示：「{note.phrase}」，{note.advice}")


gift_cli = AppGroup("gift", help="Import and export question banks in Moodle GIFT format.")
lms_cli.add_command(gift_cli)


@gift_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--course", "course_slug", required=True, help="The course whose bank receives the questions.")
@click.option("--valid-only", is_flag=True, help="Import the valid questions of a file that has errors.")
def gift_import_command(file: str, course_slug: str, valid_only: bool) -> None:
    """Import a GIFT file into a course's question bank."""
    from sqlalchemy import select

    from .courses.models import Course
    from .exams.gift import parse_gift
    from .exams.bank import import_questions
    from .exams.questions import QTYPE_LABELS

    course = db.session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None:
        click.echo(f"没有课程「{course_slug}」。", err=True)
        sys.exit(1)
    result = parse_gift(Path(file).read_text(encoding="utf-8-sig"))
    for error in result.errors:
        click.echo(f"{file}:{error.line}: {error.message}", err=True)
    if result.errors and not valid_only:
        click.echo(f"有{len(result.errors)}处错误，未导入任何题目（加「--valid-only」只导入正确的题）。", err=True)
        sys.exit(1)
    report = import_questions(course, result.questions, None)
    db.session.commit()
    click.echo(f"已导入{len(report.created)}道题：" + "，".join(f"{QTYPE_LABELS[k]}{v}" for k, v in report.counts().items()))
    for old, new in report.renamed:
        click.echo(f"  名称「{old}」已被占用，导入为「{new}」")
    if report.identical:
        click.echo(f"  {len(report.identical)}道与题库中已有的题目完全相同，未重复导入：{'、'.join(report.identical)}")


@gift_cli.command("export")
@click.option("--course", "course_slug", required=True)
def gift_export_command(course_slug: str) -> None:
    """Print a course's question bank as GIFT."""
    from sqlalchemy import select

    from .courses.models import Course
    from .exams.gift import to_gift
    from .exams.models import Question

    course = db.session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None:
        click.echo(f"没有课程「{course_slug}」。", err=True)
        sys.exit(1)
    questions = db.session.scalars(select(Question).where(Question.course_id == course.id, Question.active.is_(True))
                                   .order_by(Question.category, Question.id)).all()
    click.echo(to_gift([q.current.as_spec for q in questions]), nl=False)


def _sqlite_path() -> Path:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        click.echo("「backup」「restore」只用于内置的SQLite数据库；PostgreSQL请用「pg_dump」「pg_restore」（见「docs/deploy.md」）。", err=True)
        sys.exit(1)
    return Path(url.database)


@lms_cli.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False))
def backup_command(target: str | None) -> None:
    """Copy the live SQLite database consistently (SQLite's online backup), while the app runs."""
    import sqlite3
    from datetime import datetime

    source = _sqlite_path()
    if target is None:
        folder = Path(current_app.instance_path) / "backups"
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        _make_private(folder, PRIVATE_DIR)
        target = str(folder / f"lms-{datetime.now():%Y%m%d-%H%M%S}.sqlite3")
    try:
        _create_private(Path(target))  # a copy of the database is as private as the database
    except FileExistsError:
        click.echo(f"「{target}」已存在，不覆盖。", err=True)
        sys.exit(1)
    db.session.remove()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # page by page, consistent even while others write
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        click.echo(f"备份校验失败：{check}", err=True)
        sys.exit(1)
    click.echo(f"已备份到「{target}」")


@lms_cli.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the current database without asking.")
def restore_command(source: str, yes: bool) -> None:
    """Replace the SQLite database with a backup (stop the app first; the current one is kept aside)."""
    import sqlite3
    from datetime import datetime

    target = _sqlite_path()
    with sqlite3.connect(source) as src:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            click.echo("备份文件已损坏，未恢复。", err=True)
            sys.exit(1)
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "alembic_version" not in tables or "users" not in tables:
        click.echo("这不是本系统的数据库备份，未恢复。", err=True)
        sys.exit(1)
    if not yes and not click.confirm(f"用「{source}」替换「{target}」？当前数据库会另存一份"):
        sys.exit(1)
    db.session.remove()
    db.engine.dispose()
    aside = target.with_name(f"{target.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
    _create_private(aside)
    with sqlite3.connect(target) as current, sqlite3.connect(aside) as keep:
        current.backup(keep)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    click.echo(f"已恢复。原数据库另存为「{aside}」。如备份来自旧版本，请再运行「flask --app wsgi db upgrade」。")


xapi_cli = AppGroup("xapi", help="Learning records as xAPI statements.")
lms_cli.add_command(xapi_cli)


@xapi_cli.command("export")
@click.option("--store", "store_code", required=True, help="营业厅编码")
@click.option("--base", default="", help="The LMS's public address (default: PUBLIC_URL).")
def xapi_export_command(store_code: str, base: str) -> None:
    """Print a store's learning records as a JSON array of xAPI statements."""
    import json

    from sqlalchemy import func, select

    from .accounts.models import Store, User
    from .reports.archive import entries
    from .reports.xapi import statements

    store = db.session.scalar(select(Store).where(func.upper(Store.code) == store_code.upper()))
    if store is None:
        click.echo(f"没有编码为「{store_code}」的营业厅。", err=True)
        sys.exit(1)
    people = db.session.scalars(select(User).where(User.store_id == store.id).order_by(User.emp_no)).all()
    try:
        base = base or public_base()
    except PublicUrlMissing as exc:
        click.echo(f"{exc}：请在「instance/config.py」中设置「PUBLIC_URL」，或用「--base」给出地址。", err=True)
        sys.exit(1)
    click.echo(json.dumps(statements(base, [(p.emp_no, p.name, entries(p.id)) for p in people]),
                          ensure_ascii=False, indent=1))


admin_cli = AppGroup("admin", help="Recover administrator access.")
lms_cli.add_command(admin_cli)


@admin_cli.command("create")
@click.argument("emp_no")
@click.argument("name")
def admin_create_command(emp_no: str, name: str) -> None:
    """Create an administrator and print a one-time password (changed at first log-in)."""
    from .accounts.service import PersonData, create_person

    try:
        user, password = create_person(PersonData(emp_no, name, "admin", None, None, None), _system_actor())
    except DomainError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已创建管理员「{user.emp_no}」，初始密码：{password}（首次登录须修改）")


@admin_cli.command("reset-password")
@click.argument("emp_no")
def admin_reset_command(emp_no: str) -> None:
    """Give a person a new one-time password (and reactivate the account)."""
    from .accounts.service import find_by_emp_no, reset_password, set_active

    user = find_by_emp_no(emp_no)
    if user is None:
        click.echo(f"没有工号「{emp_no}」。", err=True)
        sys.exit(1)
    actor = _system_actor()
    password = reset_password(user, actor)
    try:
        set_active(user, True, actor)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"没有重置：{exc.message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{user.name}（{user.emp_no}）的新密码：{password}（首次登录须修改）")


def _system_actor():
    """The actor recorded for command-line changes: nobody logged in."""
    from types import SimpleNamespace

    return SimpleNamespace(id=None)


@lms_cli.command("sweep")
@click.option("--loop", "every", type=int, default=0, help="Run again every this many seconds (0: once).")
def sweep_command(every: int) -> None:
    """Do what is due: hand in expired exam attempts, send 48-hour reminders and escalations, work
    out the kept 上岗证 standings that are missing or stale (lms/certification/standing.py)."""
    import time

    from .certification.standing import refresh_stale
    from .exams.service import expire_due_attempts
    from .notices.reminders import sweep

    while True:
        try:
            expired = expire_due_attempts()
            db.session.commit()
            report = sweep()
            standings = refresh_stale()
            click.echo(f"自动交卷{expired}份超时答卷；新排队提醒{report.queued}条；已发送：站内{report.sent['inapp']}，"
                       f"邮件{report.sent['email']}，群机器人{report.sent['webhook']}；失败待重试{report.failed}"
                       + (f"；重新核算{standings}人的上岗证情况" if standings else "") + "。")
        except Exception:  # a loop keeps going; a single run reports the failure
            db.session.rollback()
            if not every:
                raise
            current_app.logger.exception("sweep failed; trying again in %s s", every)
        if not every:
            return
        db.session.remove()
        time.sleep(every)


notices_cli = AppGroup("notices", help="New-business notices.")
lms_cli.add_command(notices_cli)


@notices_cli.command("report")
@click.argument("notice_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (default: standard output).")
def notices_report_command(notice_id: int, fmt: str, output: str | None) -> None:
    """Print or write the sign-in sheet (参培签到表) of a notice."""
    from .exports import to_csv, to_xlsx
    from .notices.board import sign_in_rows, sign_in_table
    from .notices.models import Notice

    notice = db.session.get(Notice, notice_id)
    if notice is None:
        click.echo(f"没有编号为{notice_id}的通知。", err=True)
        sys.exit(1)
    rows = sign_in_rows(notice)
    table = sign_in_table(notice, rows)
    body = to_csv(table) if fmt == "csv" else to_xlsx(table)
    if output:
        Path(output).write_bytes(body)
        click.echo(f"已写入「{output}」（{len(rows)}人）。")
    elif fmt == "csv":
        click.echo(body.decode("utf-8-sig"), nl=False)
    else:
        click.echo("XLSX请用「--output」指定文件。", err=True)
        sys.exit(1)


@notices_cli.command("recount")
@click.option("--check", is_flag=True, help="Only compare; change nothing (exit 1 when they differ).")
def notices_recount_command(check: bool) -> None:
    """Compare the board's kept counts with the assignments, and recount them (they are kept in step
    with every change; this repairs them after rows were edited outside the app)."""
    from .notices import tally

    problems = tally.differences(db.session)
    if check:
        for problem in problems[:50]:
            click.echo(f"  {problem}", err=True)
        if problems:
            click.echo(f"培训到人统计与名单有{len(problems)}处不一致，请运行「flask --app wsgi lms notices recount」重算。",
                       err=True)
            sys.exit(1)
        click.echo("培训到人统计与名单一致。")
        return
    tally.rebuild(db.session)
    db.session.commit()
    click.echo(f"已按名单重算培训到人统计（修正{len(problems)}处）。" if problems else "已重算，统计原本就与名单一致。")


@lms_cli.command("standings")
@click.option("--check", is_flag=True, help="Only compare; change nothing (exit 1 when they differ).")
def standings_command(check: bool) -> None:
    """Compare the kept 上岗证 standings with a fresh evaluation, and work them all out again (they
    are kept in step with every change; this repairs them after rows were edited outside the app)."""
    from .certification import standing

    problems = standing.differences()
    if check:
        for problem in problems[:50]:
            click.echo(f"  {problem}", err=True)
        if problems:
            click.echo(f"上岗证情况的记录有{len(problems)}处与重新核算的不一致，"
                       "请运行「flask --app wsgi lms standings」重算。", err=True)
            sys.exit(1)
        click.echo("上岗证情况的记录与重新核算的一致。")
        return
    done = standing.rebuild()
    click.echo(f"已重新核算{done}人的上岗证情况（修正{len(problems)}处）。" if problems
               else f"已重新核算{done}人的上岗证情况，记录原本就一致。")


@lms_cli.command("demo")
def demo_command() -> None:
    """Create the demo organisation if the database has no people yet."""
    _create_demo_if_empty()


def _create_demo_if_empty() -> None:
    from .demo import create_demo, database_is_empty, format_accounts

    accounts_file = Path(current_app.instance_path) / "demo-accounts.txt"
    if not database_is_empty():
        if accounts_file.exists():
            click.echo(f"演示账号见「{accounts_file}」")
        return
    accounts = create_demo()
    db.session.commit()
    text = format_accounts(accounts)
    ensure_instance()
    fd = os.open(accounts_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    click.echo("已创建演示组织。演示账号（密码只显示这一次，也已写入「" + str(accounts_file) + "」）：")
    click.echo(text)


def _tighten_sqlite_files() -> None:
    """Make an SQLite database created by an older version (0644) its owner's alone, with its backups."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    database = Path(url.database)
    kept_aside = database.parent.glob(database.name + ".before-restore-*") if database.parent.is_dir() else []
    for path in (database, *(database.with_name(database.name + end) for end in ("-wal", "-shm", "-journal")),
                 *kept_aside):
        _make_private(path, PRIVATE_FILE)
    backups = Path(current_app.instance_path) / "backups"
    if backups.is_dir():
        _make_private(backups, PRIVATE_DIR)
        for path in backups.iterdir():
            _make_private(path, PRIVATE_FILE)


def _warn_without_public_url() -> None:
    """Say that production needs PUBLIC_URL, when it is not set."""
    if not configured(current_app):
        click.echo("注意：未设置「PUBLIC_URL」（网站的公开地址，如「https://lms.example.com」）。开发环境用"
                   f"「{DEVELOPMENT_URL}」；正式环境必须在「instance/config.py」中设置，否则页面会答复503"
                   "（证书二维码、xAPI和邮件里的链接都用这个地址，见「docs/deploy.md」）。", err=True)


@lms_cli.command("init")
@click.option("--no-demo", is_flag=True, help="Do not create the demo organisation.")
def init_command(no_demo: bool) -> None:
    """Set up instance/: secret key, database migrations, course sync, demo data."""
    ensure_instance()
    ensure_secret_key()
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("数据库已升级到最新版本。")
    _tighten_sqlite_files()
    _warn_without_public_url()
    if not run_sync():
        sys.exit(1)
    if not no_demo:
        _create_demo_if_empty()
    click.echo("登录地址：http://127.0.0.1:5000")
