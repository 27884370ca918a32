"""Phrasebook suggestions (短语库改进建议): learners' typed replies the analyser found wanting, grouped.

The *window* is the last `WINDOW` replies learners typed in role-play (no option picked, no
trainer test-play). Each is analysed again with the current phrasebook: a reply *missed* when an
expected must-say category of its node is not found, and is *flagged* when a 服务忌语 is found
(the node's own `forbid` phrases are not the phrasebook's and are left out). Replies that read the
same after normalisation form one *group*. A *proposal* adds one entry to one list of the
phrasebook (lms/roleplay/phrasebook_edit.py); its preview lists the distinct replies of the window
whose analysis would change. Nothing here touches a run or a score: saving is an ordinary new
phrasebook version (service.save_phrasebook_text), which checks every scenario's node tests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..versioning import changing_content
from ..yamlx import YamlError, at_line, yaml_error_message
from .models import Run, Scenario, ScenarioVersion, Turn
from .normalize import normalize
from .phrasebook import Analysis, Phrasebook
from .phrasebook_load import PhrasebookError
from .phrasebook_edit import Target, add_entry, entries
from .service import current_phrasebook_version, phrasebook_of, save_phrasebook_text, scenario_of
from .validate import parse_phrasebook

WINDOW = 5000  # the last this many typed replies are read
PAGE = 30  # groups per page
MAX_ENTRY = 40  # characters; a phrase or an exception context is a few words, not a reply
KINDS = ("missed", "flagged")


@dataclass(frozen=True)
class Place:
    """Where a reply was typed: a scenario's node, with what that node expected and did not find."""

    slug: str
    title: str
    node: str
    missing: tuple[str, ...]


@dataclass
class Group:
    """Replies that read the same after normalisation, with how often and where they were typed."""

    normalized: str
    reply: str  # the latest original wording
    analysis: Analysis
    count: int = 0
    places: Counter = field(default_factory=Counter)  # Place → turns
    latest: int = 0  # turn id, to break ties in favour of the recent

    @property
    def missing(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for place in self.places:
            seen.update(dict.fromkeys(place.missing))
        return tuple(seen)


@dataclass(frozen=True)
class Change:
    """How one distinct reply of the window would be analysed differently."""

    normalized: str
    reply: str
    count: int
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    forbidden_added: tuple[str, ...]
    forbidden_removed: tuple[str, ...]
    scores: bool  # whether an expected category or a 服务忌语 changed where it was typed


@dataclass(frozen=True)
class Proposal:
    """A candidate phrasebook: the current text with one entry added, and what it would change."""

    target: Target
    entry: str
    base_version: int
    text: str
    problems: tuple[str, ...]
    changes: tuple[Change, ...]
    replies: int  # distinct replies compared
    window: int  # turns they came from


@dataclass(frozen=True)
class _Typed:
    turn_id: int
    reply: str
    place_key: tuple[int, str]  # (scenario version id, node)
    slug: str
    title: str


def _window(limit: int = WINDOW) -> list[_Typed]:
    """The last `limit` replies learners typed in role-play, newest first."""
    rows = db.session.execute(
        select(Turn.id, Turn.reply, Turn.node, Run.scenario_version_id, Scenario.slug, Scenario.title)
        .join(Run, Run.id == Turn.run_id).join(Scenario, Scenario.id == Run.scenario_id)
        .where(Run.is_training, Turn.option_id.is_(None))
        .order_by(Turn.id.desc()).limit(limit)).all()
    return [_Typed(tid, reply, (version_id, node), slug, title) for tid, reply, node, version_id, slug, title in rows]


def _expected(keys: set[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, ...]]:
    """The must-say categories each (scenario version, node) expects (parsed versions are cached)."""
    out = {}
    versions = {vid: db.session.get(ScenarioVersion, vid) for vid in {vid for vid, _ in keys}}
    for vid, node in keys:
        spec = scenario_of(versions[vid])
        found = spec.nodes.get(node)
        out[(vid, node)] = tuple(found.expect.categories) if found is not None else ()
    return out


def current_book() -> tuple[int, str, Phrasebook]:
    """The newest phrasebook version: its number, its YAML text and the compiled book."""
    version = current_phrasebook_version()
    if version is None:
        raise DomainError("短语库尚未加载。")
    return version.version, version.yaml_text, phrasebook_of(version)


def suggestion_groups(book: Phrasebook, scenario: str | None = None, kind: str | None = None,
                      limit: int = WINDOW) -> tuple[list[Group], int]:
    """Groups of window replies that missed an expected category or hold a 服务忌语, most frequent
    first; also returns how many replies the window held."""
    typed = _window(limit)
    expected = _expected({t.place_key for t in typed})
    analyses: dict[str, Analysis] = {}
    groups: dict[str, Group] = {}
    for t in typed:
        if scenario and t.slug != scenario:
            continue
        analysis = analyses.get(t.reply)
        if analysis is None:
            analysis = analyses[t.reply] = book.analyze(t.reply)
        missing = tuple(c for c in expected[t.place_key] if not analysis.has(c))
        flagged = bool(analysis.forbidden)
        if not (missing or flagged) or (kind == "missed" and not missing) or (kind == "flagged" and not flagged):
            continue
        group = groups.get(analysis.normalized)
        if group is None:  # newest first: the first seen is the latest wording
            group = groups[analysis.normalized] = Group(analysis.normalized, t.reply, analysis, latest=t.turn_id)
        group.count += 1
        group.places[Place(t.slug, t.title, t.place_key[1], missing)] += 1
    ordered = sorted(groups.values(), key=lambda g: (-g.count, -g.latest))
    return ordered, len(typed)


def rule_number(book: Phrasebook, category: str, phrase: str) -> int | None:
    """The position of a forbidden rule among its category's `rules` (as in the YAML), by its phrase."""
    n = 0
    for rule in book.rules:
        if rule.category == category:
            if rule.phrase == phrase:
                return n
            n += 1
    return None


def default_target(book: Phrasebook, group: Group) -> Target | None:
    """What a group most likely calls for: an exception to the rule it was flagged by, else a new
    phrasing of the first category it missed."""
    for hit in group.analysis.forbidden:
        number = rule_number(book, hit.category, hit.phrase)
        if number is not None:
            return Target(hit.category, "unless", number)
    return Target(group.missing[0], "phrases") if group.missing else None


def target_choices(book: Phrasebook) -> list[tuple[str, str]]:
    """Every list a proposal can go to, as (target key, label) for a select box."""
    choices = []
    for category in book.must_categories:
        choices.append((Target(category.id, "phrases").key, f"新说法：{category.label}"))
    for category in book.must_categories:
        choices.append((Target(category.id, "unless").key, f"例外语境：{category.label}"))
    numbers: Counter = Counter()
    for rule in book.rules:
        label = book.categories[rule.category].label
        choices.append((Target(rule.category, "unless", numbers[rule.category]).key,
                        f"例外语境：忌语「{rule.phrase}」（{label}）"))
        numbers[rule.category] += 1
    return choices


def _checked(book: Phrasebook, key: str, entry: str) -> tuple[Target, str]:
    try:
        target = Target.parse(key)
    except ValueError:
        raise DomainError("请选择要加到哪一类。") from None
    if key not in dict(target_choices(book)):
        raise DomainError("短语库里没有这一类，请重新选择。")
    entry = " ".join((entry or "").split())
    if not normalize(entry).text:
        raise DomainError("请填写要加入的说法（去掉标点后不能为空）。")
    if len(entry) > MAX_ENTRY:
        raise DomainError(f"要加入的说法太长（{len(entry)}字），请只保留关键部分，{MAX_ENTRY}字以内。")
    return target, entry


def _candidate(text: str, book: Phrasebook, key: str, entry: str) -> tuple[Target, str, str]:
    """The checked target and entry, and the phrasebook text with the entry added (DomainError if not)."""
    target, entry = _checked(book, key, entry)
    if entry in entries(text, target):
        raise DomainError(f"「{entry}」已在这一类里。")
    try:
        return target, entry, add_entry(text, target, entry)
    except ValueError as exc:  # a layout the editor cannot keep: edit the YAML by hand
        raise DomainError(f"无法自动加入这一条（{exc}），请在短语库编辑页手工修改。") from None


def propose(key: str, entry: str, limit: int = WINDOW) -> Proposal:
    """Build the candidate phrasebook and compare it with the current one on the window's replies;
    writes nothing."""
    version, text, book = current_book()
    target, entry, candidate_text = _candidate(text, book, key, entry)
    try:
        candidate = parse_phrasebook(candidate_text)
    except YamlError as exc:
        return Proposal(target, entry, version, candidate_text, (yaml_error_message(exc),), (), 0, 0)
    except PhrasebookError as exc:
        problems = tuple(at_line(line) + message for line, message in exc.problems)
        return Proposal(target, entry, version, candidate_text, problems, (), 0, 0)
    changes, replies, window = _changes(book, candidate, limit)
    return Proposal(target, entry, version, candidate_text, (), tuple(changes), replies, window)


def _forbidden(analysis: Analysis) -> Counter:
    return Counter(f"「{f.phrase}」（{f.matched}）" for f in analysis.forbidden)


def _changes(book: Phrasebook, candidate: Phrasebook, limit: int) -> tuple[list[Change], int, int]:
    """The distinct replies of the window whose analysis differs between the two books; also how
    many distinct replies and turns were compared."""
    typed = _window(limit)
    expected = _expected({t.place_key for t in typed})
    by_reply: dict[str, list[_Typed]] = {}
    for t in typed:
        by_reply.setdefault(t.reply, []).append(t)
    merged: dict[str, Change] = {}
    for reply, turns in by_reply.items():
        before, after = book.analyze(reply), candidate.analyze(reply)
        old, new = set(before.categories), set(after.categories)
        old_f, new_f = _forbidden(before), _forbidden(after)
        if old == new and old_f == new_f:
            continue
        gained, lost = tuple(sorted(new - old)), tuple(sorted(old - new))
        wanted = {c for t in turns for c in expected[t.place_key]}
        scores = bool(wanted & (old ^ new)) or old_f != new_f
        change = Change(before.normalized, reply, len(turns), gained, lost,
                        tuple((new_f - old_f).elements()), tuple((old_f - new_f).elements()), scores)
        seen = merged.get(change.normalized)
        if seen is not None:  # another wording of the same reply (punctuation, width): one row
            change = Change(seen.normalized, seen.reply, seen.count + change.count,
                            tuple(sorted(set(seen.gained) | set(gained))), tuple(sorted(set(seen.lost) | set(lost))),
                            seen.forbidden_added or change.forbidden_added,
                            seen.forbidden_removed or change.forbidden_removed, seen.scores or scores)
        merged[change.normalized] = change
    return sorted(merged.values(), key=lambda c: (-c.count, c.normalized)), len(by_reply), len(typed)


def save_proposal(key: str, entry: str, base_version: int, actor_id: int) -> list[str]:
    """Save the current phrasebook with the entry added as a new version; return the problems that
    refused it (empty: saved). Refuses if the phrasebook changed since the preview."""
    changing_content()  # another proposal saved at the same moment is then seen here, not lost
    version, text, book = current_book()
    if version != base_version:
        raise DomainError(f"短语库在预览之后已更新为第{version}版，请重新预览再保存。")
    _, _, candidate_text = _candidate(text, book, key, entry)
    return save_phrasebook_text(candidate_text, actor_id)
