"""Benchmark: the logged-in floor of `bench/floor.py` taken apart.

    .venv/bin/python bench/floor_parts.py [--people 2000] [--stores 40] [--reps 2000] [--rounds 5] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/parts]

Issue 16 asks that a logged-in request cost at most 2× an anonymous one in-process. This script
measures what each part of being logged in costs, by answering the same no-op route with the
person's loading (`lms.accounts.routes.person_for_request`) replaced, in this process only, by
less and less of it:

1. **the product**: the person's row and the content stamp in one Core statement on the request's
   session, the row made the session's `User` (lms/accounts/service.py);
2. **the row through the driver**: the same compiled SELECT run on the driver's cursor of the
   session's connection, its values converted by the columns' own types, then the same `User` — the
   least SQLAlchemy lets a read cost while the row still comes from the request's transaction;
3. **a transaction, no statement**: the request's session opens its connection and transaction
   (on SQLite: BEGIN, and ROLLBACK at the end) and reads nothing; the person comes from memory;
4. **no database**: the person comes from memory; what is left is the signed session cookie and
   Flask-Login.

Variants 2–4 are measurements, not designs: 3 and 4 check no password change or log-out elsewhere
(the issue wants revocation to stay immediate), and 2 skips the statement events. Each variant is
timed against the anonymous no-op route in alternating rounds (`--rounds`), and the medians are
printed with each round's spread, so a change in the machine's speed during the run shows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floor import FLOOR, organisation, settle  # noqa: E402
from lms.extensions import db, loaded  # noqa: E402

ANONYMOUS = "LMS, a no-op route, anonymous"


def _samples(call, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def variants(engine, product):
    """(label, the replacement for person_for_request, or None for `product`, the product's own)."""
    from lms.accounts import service
    from lms.accounts.models import User

    remembered: dict[int, User] = {}

    def from_memory(user_id: int, token: str):
        """The person the product loads for this id, loaded once (a warm-up request) and kept
        detached: the same person, with no database."""
        person = remembered.get(user_id)
        if person is None:
            person = remembered[user_id] = product(user_id, token)
            db.session.expunge(person)
        return person

    statement = service._PERSON_BY_ID
    compiled = statement.compile(dialect=engine.dialect)
    processors = [(i, p) for i, p in enumerate(
        column.type.dialect_impl(engine.dialect).result_processor(engine.dialect, None)
        for column in statement.selected_columns) if p is not None]
    token_at = list(statement.selected_columns.keys()).index("auth_token")

    def through_driver(user_id: int, token: str):
        params = compiled.construct_params({"user_id": user_id})
        if compiled.positiontup:
            params = tuple(params[name] for name in compiled.positiontup)
        cursor = db.session().connection().connection.driver_connection.cursor()
        cursor.execute(compiled.string, params)
        row = cursor.fetchone()
        cursor.close()
        if row is None:
            return None
        row = list(row)
        for i, process in processors:
            row[i] = process(row[i])
        return loaded(User, row) if row[token_at] == token else None

    def transaction_only(user_id: int, token: str):
        db.session().connection()
        return from_memory(user_id, token)

    return [("the product", None), ("the row through the driver", through_driver),
            ("a transaction, no statement", transaction_only), ("no database", from_memory)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--reps", type=int, default=2000, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL instead of a SQLite file (dropped and recreated)")
    args = parser.parse_args()

    from lms.accounts import routes

    _, engine, rows = organisation(args.people, args.stores, args.database_url)
    calls = dict(rows)
    anonymous, logged_in = calls[ANONYMOUS], calls[FLOOR]
    product = routes.person_for_request
    table = variants(engine, product)
    settle()
    for call in (anonymous, logged_in):
        _samples(call, 200)
    times: dict[str, list[list[float]]] = {label: [] for label, _ in table}
    anonymous_times: list[list[float]] = []
    for _ in range(args.rounds):
        anonymous_times.append(_samples(anonymous, args.reps))
        for label, replacement in table:
            routes.person_for_request = replacement or product
            try:
                _samples(logged_in, 50)  # warm the variant's path
                times[label].append(_samples(logged_in, args.reps))
            finally:
                routes.person_for_request = product
    database = "PostgreSQL" if args.database_url else "SQLite"

    def median_ms(rounds: list[list[float]]) -> float:
        return statistics.median(t for r in rounds for t in r) * 1000

    def spread(rounds: list[list[float]]) -> str:
        per_round = [statistics.median(r) * 1000 for r in rounds]
        return f"{min(per_round):.3f}–{max(per_round):.3f}"

    base = median_ms(anonymous_times)
    print(f"{args.people} people, {database}, median of {args.rounds} alternating rounds of {args.reps} requests")
    print("| the logged-in no-op route, with | ms | per-round medians, ms | × anonymous (target ≤ 2×) |")
    print("|---|---|---|---|")
    print(f"| (the anonymous no-op route) | {base:.3f} | {spread(anonymous_times)} | 1.00 |")
    for label, _ in table:
        ms = median_ms(times[label])
        print(f"| {label} | {ms:.3f} | {spread(times[label])} | {ms / base:.2f} |")


if __name__ == "__main__":
    main()
