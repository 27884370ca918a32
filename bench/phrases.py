"""Benchmark: phrase analysis against a naive `phrase in text` loop, in one run.

    .venv/bin/python bench/phrases.py [--reps 30]

Corpus (deterministic): every labelled reply of tests/unit/phrase_cases.yaml, every example
reply, option and model answer of the shipped scenarios, and generated counter replies built
from the phrasebook's own phrases and everyday filler, padded to exactly 50 characters — at
least 1,000 replies in all. For each reply both functions run `reps` times; the figure is the
median over replies of the mean time per call. The naive loop tests every phrase string the
phrasebook holds (must-say phrases, forbidden-phrase patterns, exception contexts, negators,
discouraged phrases) with `phrase in text`, on the raw text: no normalisation, no exceptions,
no spans. The ratio naive ÷ analyze above 1 means `analyze()` is faster.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lms.roleplay.validate import load_simulations  # noqa: E402

FILLER = ["我帮您看一下", "这边请", "您的套餐是每月一百二十九元", "稍后短信会通知您", "宽带已经开通",
          "办理需要身份证原件", "这个号码很好记", "您可以在网上营业厅查询", "流量包本月有效", "请在这里签字",
          "我们马上为您处理", "系统正在查询", "这是您的发票", "请您核对一下", "号码是一三九"]


def corpus(sims) -> list[str]:
    replies: list[str] = []
    cases = ROOT / "tests" / "unit" / "phrase_cases.yaml"
    if cases.exists():
        replies += [c["reply"] for c in yaml.safe_load(cases.read_text(encoding="utf-8"))]
    for item in sims.scenarios:
        for node in item.scenario.nodes.values():
            replies += [t.reply for t in node.tests if t.reply]
            replies += [o.text for o in node.options]
            if node.expect.model:
                replies.append(node.expect.model)
    book = sims.phrasebook
    phrases = [p for ps in book.must_phrases.values() for p in ps] + [r.phrase for r in book.rules]
    rng = random.Random(20261121)
    while len(replies) < 1200:
        parts = [rng.choice(phrases)] + rng.sample(FILLER, 3) + [rng.choice(phrases)]
        text = "，".join(parts) + "。"
        replies.append((text * 2)[:50])
    return replies


def naive_phrases(book) -> list[str]:
    strings = [p for ps in book.must_phrases.values() for p in ps]
    for rule in book.rules:
        strings += list(rule.match) + list(rule.unless)
    strings += list(book.negators) + list(book.discouraged)
    return strings


def per_call(fn, text: str, reps: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(reps):
        fn(text)
    return (time.perf_counter_ns() - start) / reps / 1000  # µs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    sims = load_simulations(ROOT / "simulations")
    if sims.phrasebook is None:
        raise SystemExit("the phrasebook has problems; run `flask --app wsgi lms check`")
    book = sims.phrasebook
    strings = naive_phrases(book)

    def naive(text: str) -> list[str]:
        return [p for p in strings if p in text]

    replies = corpus(sims)
    for text in replies:  # warm both (the character table fills on first sight)
        book.analyze(text)
        naive(text)
    fast, slow, fast50, slow50 = [], [], [], []
    for text in replies:
        a, n = per_call(book.analyze, text, args.reps), per_call(naive, text, args.reps)
        fast.append(a)
        slow.append(n)
        if len(text) == 50:
            fast50.append(a)
            slow50.append(n)
    med = statistics.median
    print(f"replies: {len(replies)} (of which 50 characters: {len(fast50)}); phrases in the naive loop: {len(strings)}")
    print(f"analyze(): median {med(fast):.1f} µs per reply; 50-character replies: {med(fast50):.1f} µs")
    print(f"naive loop: median {med(slow):.1f} µs per reply; 50-character replies: {med(slow50):.1f} µs")
    print(f"ratio naive / analyze: {med(slow) / med(fast):.2f} (all), {med(slow50) / med(fast50):.2f} (50 characters)")


if __name__ == "__main__":
    main()
