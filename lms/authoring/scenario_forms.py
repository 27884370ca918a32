"""The scenario editor's forms: what a form shows of the YAML document, and a posted form applied to it.

Lists (the customer's lines, options, key points, branches, test replies, variables) are posted as
rows `<list>-<row>-<field>` with `orig`, the item's index in the document when the form was
drawn: an edited row keeps its item (its comments and every key the form does not show), a new
row adds one, a ticked 删除 or an emptied row drops it. Whatever the forms cannot express (a
complex `when:`, a key point written as a regular expression) is shown read-only and kept.

Problems come from the one validator (`lms.roleplay.validate`) and are placed beside the field
they concern by their line: the document's lines are mapped to field paths (`field_of`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .. import yamlx
from ..forms import whole_number
from ..roleplay.scenario_parse import ScenarioError
from ..roleplay.validate import check_scenario, parse_scenario_text
from . import scenario_doc as sd

ROW = re.compile(r"^(customer|option|kp|branch|test|var)-(\d+)-([a-z_]+)$")


@dataclass(frozen=True)
class Problem:
    line: int | None
    node: str
    message: str
    field: str = ""  # where the form shows it: "title", "branch-1", "s-category", "" (top only)


def _yaml_message(exc: yamlx.YamlError) -> str:
    message = getattr(yamlx, "yaml_error_message", None)
    if message is not None:
        try:
            return str(message(exc))
        except Exception:  # noqa: BLE001 - an older or newer signature: the plain text still says it
            pass
    return str(exc)


def problems_of(slug: str, text: str, book) -> list[Problem]:
    """Everything the validator says about this text, each with the form field it concerns."""
    try:
        spec = parse_scenario_text(text, slug)
    except yamlx.YamlError as exc:
        return [Problem(exc.line, "", _yaml_message(exc), "yaml")]
    except ScenarioError as exc:
        raw = exc.problems
    else:
        raw = check_scenario(spec, book)
    fields = field_index(text)
    return [Problem(line, node, message, field_of(fields, line, node)) for line, node, message in raw]


# ------------------------------------------------------------------ lines → fields


def field_index(text: str) -> list[tuple[int, tuple]]:
    """Every mapping key and list item of the text with its line, as (line, path)."""
    try:
        data = yamlx.load(text)
    except yamlx.YamlError:
        return []
    found: list[tuple[int, tuple]] = []

    def walk(value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                line = value.key_lines.get(key) if hasattr(value, "key_lines") else None
                if line:
                    found.append((line, path + (key,)))
                walk(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if hasattr(item, "line"):
                    found.append((item.line, path + (index,)))
                walk(item, path + (index,))

    walk(data, ())
    return found


def field_of(fields: list[tuple[int, tuple]], line: int | None, node: str) -> str:
    """The form field a problem at this line (of this node) concerns."""
    if node:
        inside = [(ln, path) for ln, path in fields if path[:2] == ("nodes", node)]
        if not line:
            return "node"
        exact = [path for ln, path in inside if ln == line]
        before = [path for ln, path in inside if ln <= line]
        path = max(exact, key=len) if exact else (before[-1] if before else ("nodes", node))
        return _node_field(path[2:])
    if not line:
        return ""
    exact = [path for ln, path in fields if ln == line]
    path = min(exact, key=len) if exact else ()
    if not path:
        return ""
    if path[0] == "nodes":
        return _node_field(path[2:]) if len(path) > 1 else "s-nodes"
    return "s-" + {"source": "source", "persona": "persona", "variables": "variables"}.get(path[0], str(path[0]))


def _node_field(path: tuple) -> str:
    if not path:
        return "node"
    head = path[0]
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else None
    if head == "customer":
        return f"customer-{index}" if index is not None else "customer"
    if head == "options":
        return f"option-{index}" if index is not None else "options"
    if head == "branches":
        return f"branch-{index}" if index is not None else "branches"
    if head == "tests":
        return f"test-{index}" if index is not None else "tests"
    if head == "expect":
        sub = path[1] if len(path) > 1 else "categories"
        if sub == "patterns":
            return f"kp-{path[2]}" if len(path) > 2 and isinstance(path[2], int) else "kps"
        return {"categories": "categories", "weights": "categories", "stage": "stage", "model": "model"}.get(sub, "categories")
    if head in ("title", "mode", "forbid", "cite", "outcome", "debrief", "points"):
        return head
    return "node"


def rows_to_fields(problems: list[Problem], order: Mapping[str, list[int]]) -> list[Problem]:
    """Put problems of list items beside the form rows they came from (rows may have been dropped)."""
    result = []
    for p in problems:
        match = re.match(r"^(customer|option|kp|branch|test)-(\d+)$", p.field)
        if match and match.group(1) in order and int(match.group(2)) < len(order[match.group(1)]):
            p = Problem(p.line, p.node, p.message, f"{match.group(1)}-{order[match.group(1)][int(match.group(2))]}")
        result.append(p)
    return result


# ------------------------------------------------------------------ reading posted rows


def _rows(form) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    for key in form.keys():
        match = ROW.match(key)
        if match:
            kind, index, name = match.group(1), int(match.group(2)), match.group(3)
            grouped[kind].setdefault(index, {"_row": str(index)})[name] = form.get(key, "")
    return {kind: [rows[i] for i in sorted(rows)] for kind, rows in grouped.items()}


def _number(text: str) -> Any:
    """An int or float when the text is one; the text itself otherwise (the validator then says why)."""
    text = (text or "").strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def _original(items: Any, orig: str) -> CommentedMap | None:
    index = whole_number(orig)
    if isinstance(items, list) and index is not None and index < len(items) and isinstance(items[index], dict):
        return items[index]
    return None


def _set(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set a key, or remove it when the value is empty."""
    if value in ("", None, []):
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _flow(items: list) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _keep_existing(spec: CommentedMap, key: str, value: Any) -> None:
    """Write a key, keeping its place in the node when it is already there."""
    if value in ("", None) or (isinstance(value, list) and not value):
        spec.pop(key, None)
    elif key in spec:
        spec[key] = value
    else:
        spec[key] = value


# ------------------------------------------------------------------ node form


def apply_node_form(doc: CommentedMap, node_id: str, form) -> dict[str, list[int]]:
    """Apply a posted node form to the document; return, per list, the form row of each written item."""
    spec = sd.nodes(doc)[node_id]
    rows = _rows(form)
    order: dict[str, list[int]] = {}
    title = form.get("title", "").strip()
    if title and "title" not in spec:
        spec.insert(0, "title", title)  # a node's name comes first, as in the templates
    else:
        _set(spec, "title", title)
    order["customer"] = _apply_customer(spec, rows.get("customer", []))
    if spec.get("end"):
        spec["outcome"] = form.get("outcome", "")
        spec["debrief"] = form.get("debrief", "").strip()
        _set(spec, "cite", form.get("cite", "").strip())
        return order
    spec["mode"] = form.get("mode", "text")
    expect = spec.get("expect") if isinstance(spec.get("expect"), dict) else CommentedMap()
    chosen = form.getlist("categories") if hasattr(form, "getlist") else []
    old = expect.get("categories")
    if isinstance(old, list) and set(old) == set(chosen) and len(old) == len(chosen):
        pass  # the same categories: the file's order stays
    elif chosen:
        kept = [c for c in (old if isinstance(old, list) else []) if c in chosen]
        expect["categories"] = _flow(kept + [c for c in chosen if c not in kept])
    else:
        expect.pop("categories", None)
    if isinstance(expect.get("weights"), dict):
        for cat in list(expect["weights"]):
            if cat not in chosen:
                del expect["weights"][cat]
        if not expect["weights"]:
            del expect["weights"]
    _set(expect, "stage", form.get("stage", "").strip())
    order["kp"] = _apply_keypoints(expect, rows.get("kp", []))
    _set(expect, "model", form.get("model", "").strip())
    if expect:
        spec["expect"] = expect
    else:
        spec.pop("expect", None)
    forbid = _lines(form.get("forbid", ""))
    if isinstance(spec.get("forbid"), list) and list(spec["forbid"]) == forbid:
        pass
    else:
        _keep_existing(spec, "forbid", _flow(forbid) if forbid else None)
    _set(spec, "cite", form.get("cite", "").strip())
    order["option"] = _apply_options(spec, rows.get("option", []))
    order["branch"] = _apply_branches(spec, rows.get("branch", []))
    order["test"] = _apply_tests(spec, rows.get("test", []))
    return order


def _kept(row: Mapping[str, str], *fields: str) -> bool:
    return row.get("delete") != "1" and any((row.get(f) or "").strip() for f in fields)


def _apply_customer(spec: CommentedMap, rows: list[dict]) -> list[int]:
    old = spec.get("customer")
    items, order = [], []
    for row in rows:
        if not _kept(row, "text"):
            continue
        item = _original(old, row.get("orig", "")) or CommentedMap()
        item["text"] = row["text"].strip()
        if row.get("complex") == "1":
            pass  # a condition the form cannot show: kept as written
        elif (row.get("var") or "").strip():
            item["when"] = f"{row['var'].strip()} {row.get('op') or '>='} {(row.get('value') or '').strip()}"
            item.move_to_end("text")
        else:
            item.pop("when", None)
        items.append(item)
        order.append(int(row["_row"]))
    if len(items) == 1 and "when" not in items[0] and len(items[0]) == 1:
        spec["customer"] = items[0]["text"]
    elif items:
        spec["customer"] = CommentedSeq(items)
    else:
        spec["customer"] = ""
    return order


def _apply_options(spec: CommentedMap, rows: list[dict]) -> list[int]:
    old = spec.get("options")
    items, order, used = [], [], set()
    for row in rows:
        if not _kept(row, "text"):
            continue
        item = _original(old, row.get("orig", "")) or CommentedMap()
        option_id = str(item.get("id") or "")
        if not option_id:
            n = len(items) + 1
            while f"o{n}" in used or any(isinstance(o, dict) and o.get("id") == f"o{n}" for o in (old or [])):
                n += 1
            option_id = f"o{n}"
            item.insert(0, "id", option_id)
        used.add(option_id)
        item["text"] = row["text"].strip()
        _set(item, "score", _number(row.get("score", "")))
        items.append(item)
        order.append(int(row["_row"]))
    _keep_existing(spec, "options", CommentedSeq(items) if items else None)
    return order


def _apply_keypoints(expect: CommentedMap, rows: list[dict]) -> list[int]:
    old = expect.get("patterns")
    items, order = [], []
    taken = {str(p.get("id")) for p in (old or []) if isinstance(p, dict)}
    for row in rows:
        if not _kept(row, "label", "phrasings", "regex"):
            continue
        item = _original(old, row.get("orig", ""))
        if item is None:
            item = CommentedMap()
            n = 1
            while f"k{n}" in taken:
                n += 1
            taken.add(f"k{n}")
            item["id"] = f"k{n}"
        item["label"] = row.get("label", "").strip()
        if row.get("regex") != "1":  # a key point still written as a regular expression keeps it
            item.pop("regex", None)
            phrasings = _lines(row.get("phrasings", ""))
            if not (isinstance(item.get("phrasings"), list) and list(item["phrasings"]) == phrasings):
                item["phrasings"] = _flow(phrasings)
        weight = _number(row.get("weight", ""))
        _set(item, "weight", weight if weight != "" else None)
        items.append(item)
        order.append(int(row["_row"]))
    _set(expect, "patterns", CommentedSeq(items) if items else None)
    return order


def _apply_branches(spec: CommentedMap, rows: list[dict]) -> list[int]:
    old = spec.get("branches")
    items, order = [], []
    for row in rows:
        if row.get("delete") == "1" or not (row.get("goto") or "").strip():
            continue
        item = _original(old, row.get("orig", "")) or CommentedMap()
        kind = row.get("kind", "else")
        if kind != "complex":
            when = sd.branch_when(kind, (row.get("var") or "").strip(), (row.get("value") or "").strip())
            item.pop("when", None)
            item.pop("else", None)
            if when is None:
                item.insert(0, "else", True)
            else:
                item.insert(0, "when", when)
        if row.get("effect_fixed") != "1":
            name, amount = (row.get("effect_var") or "").strip(), _number(row.get("effect_value", ""))
            if name and amount not in ("", 0):
                item["add"] = CommentedMap([(name, amount)])
                item["add"].fa.set_flow_style()
            else:
                item.pop("add", None)
        item["goto"] = row["goto"].strip()
        if "goto" in item and list(item).index("goto") != len(item) - 1:
            item.move_to_end("goto")
        items.append(item)
        order.append(int(row["_row"]))
    spec["branches"] = CommentedSeq(items)
    return order


def _apply_tests(spec: CommentedMap, rows: list[dict]) -> list[int]:
    old = spec.get("tests")
    items, order = [], []
    for row in rows:
        item = _original(old, row.get("orig", ""))
        by_option = item is not None and item.get("option") and not item.get("reply")
        if not (by_option and row.get("delete") != "1") and not _kept(row, "reply"):
            continue
        item = item if item is not None else CommentedMap()
        if not by_option:
            item["reply"] = row["reply"].strip()
        _set(item, "next", (row.get("next") or "").strip())
        _set(item, "min_score", _number(row.get("min_score", "")))
        forbidden = row.get("forbidden", "")
        _set(item, "forbidden", {"yes": True, "no": False}.get(forbidden))
        items.append(item)
        order.append(int(row["_row"]))
    _keep_existing(spec, "tests", CommentedSeq(items) if items else None)
    return order


# ------------------------------------------------------------------ scenario form


def apply_scenario_form(doc: CommentedMap, form) -> None:
    """Apply the scenario-level form (title, category, positions, sources, persona, variables, pass score)."""
    doc["title"] = form.get("title", "").strip()
    doc["category"] = form.get("category", "").strip()
    positions = form.getlist("positions")
    if not (isinstance(doc.get("positions"), list) and list(doc["positions"]) == positions):
        _keep_existing(doc, "positions", _flow(positions) if positions else None)
    doc["difficulty"] = _number(form.get("difficulty", "1"))
    sources = _lines(form.get("source", ""))
    if not (isinstance(doc.get("source"), list) and list(doc["source"]) == sources):
        doc["source"] = CommentedSeq(sources)
    doc["summary"] = form.get("summary", "").strip()
    persona = doc.get("persona") if isinstance(doc.get("persona"), dict) else CommentedMap()
    persona["name"] = form.get("persona_name", "").strip()
    _set(persona, "description", form.get("persona_description", "").strip())
    _set(persona, "mood", form.get("persona_mood", "").strip())
    doc["persona"] = persona
    old = doc.get("variables") if isinstance(doc.get("variables"), dict) else CommentedMap()
    variables = CommentedMap()
    for row in _rows(form).get("var", []):
        name = (row.get("name") or "").strip()
        if row.get("delete") == "1" or not name:
            continue
        item = old.get(row.get("orig", "")) if isinstance(old.get(row.get("orig", "")), dict) else CommentedMap()
        for key in ("initial", "min", "max"):
            item[key] = _number(row.get(key, ""))
        item.fa.set_flow_style()
        variables[name] = item
    _set(doc, "variables", variables if variables else None)
    doc["pass_score"] = _number(form.get("pass_score", ""))
    if form.get("require_stages") == "1":
        doc["require_stages"] = True
    else:
        doc.pop("require_stages", None)
    for key in ("start", "nodes"):  # a key added above goes before the nodes, as in every shipped file
        if key in doc:
            doc.move_to_end(key)


# ------------------------------------------------------------------ what the forms show


def node_view(doc: CommentedMap, node_id: str) -> dict:
    """A node's fields as the form shows them."""
    spec = sd.nodes(doc)[node_id]
    raw_customer = spec.get("customer")
    customer = []
    if isinstance(raw_customer, str):
        customer.append({"orig": 0, "text": raw_customer, "var": "", "op": ">=", "value": "", "complex": ""})
    elif isinstance(raw_customer, list):
        for index, item in enumerate(raw_customer):
            if not isinstance(item, dict):
                continue
            when = item.get("when")
            simple = sd.simple_when(when) if when is not None else None
            customer.append({"orig": index, "text": str(item.get("text", "")),
                             "var": simple.name if simple else "", "op": simple.op if simple else ">=",
                             "value": simple.value if simple else "",
                             "complex": str(when) if when is not None and simple is None else ""})
    expect = spec.get("expect") if isinstance(spec.get("expect"), dict) else {}
    keypoints = []
    for index, item in enumerate(expect.get("patterns") or []):
        if isinstance(item, dict):
            keypoints.append({"orig": index, "id": item.get("id", ""), "label": item.get("label", ""),
                              "phrasings": "\n".join(str(p) for p in (item.get("phrasings") or [])),
                              "regex": str(item.get("regex", "")) if item.get("regex") and not item.get("phrasings") else "",
                              "weight": item.get("weight", 1)})
    branches = []
    for index, item in enumerate(spec.get("branches") or []):
        kind, variable, value = sd.branch_kind(item)
        add = item.get("add") if isinstance(item, dict) and isinstance(item.get("add"), dict) else {}
        fixed = isinstance(item, dict) and (len(add) > 1 or "set" in item)
        effect_var, effect_value = (next(iter(add.items())) if len(add) == 1 else ("", ""))
        effects = "；".join(f"{k}{'+' if isinstance(v, int) and v >= 0 else ''}{v}" for k, v in add.items())
        if isinstance(item, dict) and isinstance(item.get("set"), dict):
            effects += "；".join(f"{k}={v}" for k, v in item["set"].items())
        branches.append({"orig": index, "kind": kind, "var": variable, "value": value,
                         "when": str(item.get("when", "")) if isinstance(item, dict) else "",
                         "goto": str(item.get("goto", "")) if isinstance(item, dict) else "",
                         "effect_var": "" if fixed else effect_var, "effect_value": "" if fixed else effect_value,
                         "effect_fixed": effects if fixed else ""})
    tests = []
    for index, item in enumerate(spec.get("tests") or []):
        if isinstance(item, dict):
            forbidden = item.get("forbidden")
            tests.append({"orig": index, "reply": str(item.get("reply") or ""), "next": str(item.get("next") or ""),
                          "min_score": item.get("min_score", ""),
                          "forbidden": "" if forbidden is None else ("yes" if forbidden else "no"),
                          "option": str(item.get("option") or "")})
    options = [{"orig": index, "id": str(item.get("id", "")), "text": str(item.get("text", "")),
                "score": item.get("score", "")}
               for index, item in enumerate(spec.get("options") or []) if isinstance(item, dict)]
    return {
        "id": node_id, "title": str(spec.get("title") or ""), "end": bool(spec.get("end")),
        "outcome": str(spec.get("outcome") or ""), "debrief": str(spec.get("debrief") or ""),
        "customer": customer, "mode": str(spec.get("mode") or "text"),
        "categories": [str(c) for c in (expect.get("categories") or [])], "stage": str(expect.get("stage") or ""),
        "keypoints": keypoints, "model": str(expect.get("model") or ""),
        "forbid": "\n".join(str(f) for f in (spec.get("forbid") or []) if isinstance(spec.get("forbid"), list)),
        "cite": str(spec.get("cite") or ""), "options": options, "branches": branches, "tests": tests,
    }


def scenario_view(doc: CommentedMap) -> dict:
    persona = doc.get("persona") if isinstance(doc.get("persona"), dict) else {}
    variables = doc.get("variables") if isinstance(doc.get("variables"), dict) else {}
    source = doc.get("source")
    return {
        "title": str(doc.get("title") or ""), "category": str(doc.get("category") or ""),
        "positions": [str(p) for p in (doc.get("positions") or [])] if isinstance(doc.get("positions"), list) else [],
        "difficulty": doc.get("difficulty", 1),
        "source": "\n".join(str(s) for s in source) if isinstance(source, list) else str(source or ""),
        "summary": str(doc.get("summary") or ""),
        "persona_name": str(persona.get("name") or ""), "persona_description": str(persona.get("description") or ""),
        "persona_mood": str(persona.get("mood") or ""),
        "variables": [{"name": str(name), **({"initial": v.get("initial", 0), "min": v.get("min", 0), "max": v.get("max", 10)}
                                            if isinstance(v, dict) else {"initial": v, "min": 0, "max": 10})}
                      for name, v in variables.items()],
        "pass_score": doc.get("pass_score", 60), "require_stages": bool(doc.get("require_stages")),
    }


def variable_names(doc: CommentedMap) -> list[str]:
    variables = doc.get("variables")
    return [str(name) for name in variables] if isinstance(variables, dict) else []
