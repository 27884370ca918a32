"""Benchmark: where a request's time goes, in one process, without HTTP or a load generator.

    .venv/bin/python bench/floor.py [--people 20000] [--stores 400] [--reps 300] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/floor]

`bench/http_bench.py` compares the LMS with a bare Flask endpoint under gunicorn. This script
explains its figures: through Flask's test client, on one database (a SQLite file, or PostgreSQL
with `--database-url`) holding the organisation of bench/notices.py, one notice published to
everyone 30 hours ago and 40 % of them done since, it times, each as the median of `--reps`
requests, in one run:

- the bare Flask endpoint of bench/bare_app.py;
- the LMS app answering a route that does nothing, anonymous (the app's own request hooks:
  security headers, the NUL check, CSRF set-up, the rate limiter);
- the same route behind `login_required` (session cookie, the person's row, the database
  transaction) — the floor under every page a logged-in person opens;
- the five endpoints of the HTTP benchmark, with the SQL statements each one issues, and the start
  of a run, which the HTTP benchmark's turns include (a turn that ends its run is followed by one).

The two no-op routes are added to this script's own app instance only; the product has no such
routes.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_login import current_user, login_required  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from bench.http_bench import (CSRF_RE, EXAM, REPLIES, SCENARIO, analyze_postgres, answer_for,  # noqa: E402
                              prepare_postgres)
from bench.notices import build, login, publish_under_way  # noqa: E402
from lms.extensions import db  # noqa: E402


def _noop_routes(app) -> None:
    app.add_url_rule("/_bench/anonymous", "bench_anonymous", lambda: "ok")

    @login_required
    def logged_in():
        return current_user.emp_no

    app.add_url_rule("/_bench/logged-in", "bench_logged_in", logged_in)


class Starts:
    """Start a run of the scenario, as 开始练习 does (302); the run left before is abandoned. Under
    load one turn in five ends its run and the next turn starts one (bench/http_bench.py)."""

    def __init__(self, client):
        self.client = client
        self.token = CSRF_RE.search(client.get(f"/practice/{SCENARIO}").get_data(as_text=True)).group(1)

    def prepare(self):
        pass

    def __call__(self) -> int:
        """Start a run; its id."""
        r = self.client.post(f"/practice/{SCENARIO}/start", data={"mode": "text", "csrf_token": self.token})
        assert r.status_code == 302, r.status_code
        return int(re.search(r"/runs/(\d+)", r.headers["Location"]).group(1))


class Turns:
    """Post the model answers of a scenario, starting a new run after each ending (not timed)."""

    def __init__(self, client):
        self.start, self.run, self.seq = Starts(client), None, 1
        self.client, self.token = client, self.start.token

    def prepare(self):
        if self.run is None:
            self.run, self.seq = self.start(), 1

    def __call__(self):
        r = self.client.post(f"/runs/{self.run}/turns", data={"csrf_token": self.token, "seq": self.seq,
                                                              "reply": REPLIES[min(self.seq, len(REPLIES)) - 1]})
        assert r.status_code == 302, r.status_code
        if r.headers["Location"].endswith("/debrief"):
            self.run = None
        else:
            self.seq += 1


class Answers:
    """Save answers of a practice exam the way the page's autosave does (204)."""

    def __init__(self, client):
        self.client = client
        page = client.get(f"/exams/{EXAM}").get_data(as_text=True)
        self.token = CSRF_RE.search(page).group(1)
        r = client.post(f"/exams/{EXAM}/start", data={"csrf_token": self.token})
        self.attempt = int(re.search(r"/attempts/(\d+)/1", r.headers["Location"]).group(1))
        self.answers, self.i = [], 0
        for position in range(1, 100):
            page = client.get(f"/attempts/{self.attempt}/{position}")
            if page.status_code == 404:
                break
            self.answers.append((position, answer_for(page.get_data(as_text=True))))

    def prepare(self):
        pass

    def __call__(self):
        position, data = self.answers[self.i % len(self.answers)]
        self.i += 1
        r = self.client.post(f"/attempts/{self.attempt}/{position}",
                             data=MultiDict(data + [("go", "stay"), ("csrf_token", self.token)]))
        assert r.status_code == 204, r.status_code


class Get:
    def __init__(self, client, url):
        self.client, self.url = client, url

    def prepare(self):
        pass

    def __call__(self):
        r = self.client.get(self.url)
        assert r.status_code == 200, (self.url, r.status_code)


def timed(call, reps: int, engine=None) -> tuple[float, int | None]:
    """Median milliseconds per call, and SQL statements of one call (when an engine is given)."""
    for _ in range(10):
        call.prepare()
        call()
    statements = None
    if engine is not None:
        counter = []
        listener = lambda *args, **kwargs: counter.append(1)  # noqa: E731
        call.prepare()
        event.listen(engine, "before_cursor_execute", listener)
        call()
        event.remove(engine, "before_cursor_execute", listener)
        statements = len(counter)
    return statistics.median(samples(call, reps)) * 1000, statements


def samples(call, reps: int) -> list[float]:
    """Seconds of each of `reps` calls."""
    times = []
    for _ in range(reps):
        call.prepare()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def growth(small, big, reps: int, rounds: int = 6) -> tuple[float, float]:
    """Median milliseconds of the same page in the small and the big organisation, timed in
    alternating rounds, so a change in the machine's speed during the run touches both alike."""
    for call in (small, big):
        timed(call, 5)
    times: dict = {small: [], big: []}
    for _ in range(rounds):
        for call in (small, big):
            times[call] += samples(call, max(3, reps // rounds))
    return statistics.median(times[small]) * 1000, statistics.median(times[big]) * 1000


# Targets of issue 16, in one process: (the row the ratio is taken against, the most it may be).
FLOOR = "LMS, a no-op route, logged in"
TARGETS = {
    FLOOR: ("LMS, a no-op route, anonymous", 2.0),  # the cost of being logged in
    "learner home `GET /`": (FLOOR, 3.0),
    "manager home `GET /` (今天)": (FLOOR, 3.0),
}
GROWS = ("manager home `GET /` (今天)", "store page `GET /store/<id>`", "store matrix", "trainer board")
GROWTH_TARGET = 1.5  # the same page at `--people` and at `--small` people: at most this much slower


def organisation(people: int, stores: int, database_url: str | None = None):
    """A fresh database of this size with one notice to everyone; the clients and the calls to time."""
    if database_url:
        prepare_postgres(database_url)
    app, trainer_id, manager_emp, store_id = build(people, stores, database_url)
    _noop_routes(app)
    from lms.accounts.models import Leave, User

    with app.app_context():
        notice_id = publish_under_way(trainer_id)
        learner_emp = db.session.scalar(select(User.emp_no).where(
            User.role == "staff", User.id.not_in(select(Leave.user_id))).order_by(User.id.desc()).limit(1))
        engine = db.engine
    if database_url:
        analyze_postgres(database_url)  # the statistics autovacuum keeps on a production server
    learner, manager, trainer = app.test_client(), app.test_client(), app.test_client()
    login(learner, learner_emp)
    login(manager, manager_emp)
    login(trainer, "BENCHT")
    return app, engine, [
        ("LMS, a no-op route, anonymous", Get(app.test_client(), "/_bench/anonymous")),
        (FLOOR, Get(learner, "/_bench/logged-in")),
        ("learner home `GET /`", Get(learner, "/")),
        ("scenario turn", Turns(learner)),
        ("scenario start", Starts(learner)),
        ("exam answer save", Answers(learner)),
        ("manager home `GET /` (今天)", Get(manager, "/")),
        ("store page `GET /store/<id>`", Get(manager, f"/store/{store_id}")),
        ("store matrix", Get(manager, f"/store/{store_id}/matrix")),
        ("trainer board", Get(trainer, f"/notices/{notice_id}/board")),
    ]


def settle() -> None:
    """Collect, then exempt what exists now (the app, the test database's set-up) from later full
    collections: otherwise a full collection walking the set-up's leftovers lands in some requests'
    times, and the same run varied by up to 60 % from one process to the next. What the requests
    themselves allocate is still collected, inside their times."""
    gc.collect()
    gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--stores", type=int, default=400)
    parser.add_argument("--small", type=int, default=2000, help="the smaller organisation of the growth rows (0: none)")
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--database-url", help="PostgreSQL instead of a SQLite file, e.g. "
                        "postgresql+psycopg://postgres@127.0.0.1:5432/floor (dropped and recreated; the "
                        "smaller organisation's database gets the name with _small)")
    args = parser.parse_args()
    small_url = f"{args.database_url}_small" if args.database_url else None
    database = "PostgreSQL" if args.database_url else "SQLite"

    import flask

    bare = flask.Flask("bare")
    bare.add_url_rule("/", "index", lambda: "ok")

    def reps(label: str) -> int:
        return args.reps if label in (FLOOR, "LMS, a no-op route, anonymous") or "home" in label or "turn" in label \
            or "start" in label or "save" in label else max(20, args.reps // 10)

    app, engine, rows = organisation(args.people, args.stores, args.database_url)
    settle()
    print(f"{args.people} people in {args.stores} stores, {database}, Flask test client, median of {args.reps} "
          f"({max(20, args.reps // 10)} for the store and board pages)")
    print("| request | ms | SQL statements | × bare | ratio to | target |")
    print("|---|---|---|---|---|---|")
    base, _ = timed(Get(bare.test_client(), "/"), args.reps)
    print(f"| bare Flask `GET /` | {base:.2f} |  | 1.0 |  |  |", flush=True)
    figures = {}
    for label, call in rows:
        ms, statements = timed(call, reps(label), engine)
        figures[label] = ms
        against, most = TARGETS.get(label, (None, None))
        if against:
            ratio = ms / figures[against]
            verdict = f"≤ {most:g}× {'met' if ratio <= most else 'missed'}"
            print(f"| {label} | {ms:.2f} | {statements} | {ms / base:.1f} | {ratio:.2f}× {against} | {verdict} |", flush=True)
        else:
            print(f"| {label} | {ms:.2f} | {statements} | {ms / base:.1f} |  |  |", flush=True)
    if args.small:
        small_stores = max(1, args.stores * args.small // args.people)
        small_app, _, small_rows = organisation(args.small, small_stores, small_url)
        settle()
        print(f"\nThe same pages at {args.small} people in {small_stores} stores (a store holds as many people), "
              f"both organisations timed in alternating rounds:")
        print(f"| request | ms at {args.small} | ms at {args.people} | growth | target |")
        print("|---|---|---|---|---|")
        big_calls = dict(rows)
        for label, call in small_rows:
            if label not in GROWS:
                continue
            small_ms, big_ms = growth(call, big_calls[label], 2 * reps(label))
            ratio = big_ms / small_ms
            print(f"| {label} | {small_ms:.2f} | {big_ms:.2f} | {ratio:.2f}× | "
                  f"≤ {GROWTH_TARGET:g}× {'met' if ratio <= GROWTH_TARGET else 'missed'} |", flush=True)
        with small_app.app_context():
            db.engine.dispose()
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
