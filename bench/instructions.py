"""Benchmark: machine instructions per request, counted by valgrind's callgrind — the same count
whatever else the machine is doing, so two versions of the code can be compared on a noisy machine.

    .venv/bin/python bench/instructions.py [--people 2000] [--stores 40] [--reps 20] [--against DIR] \
        [--only TEXT ...]

`bench/floor.py` times the same requests in milliseconds; on this 2-core VM those times moved by
up to 2.6× for unchanged code between runs minutes apart (the bare endpoint took 0.18–0.47 ms), so
a change worth 10 % could not be seen in them. Instructions are not time: a request that waits on
the disk or misses the CPU's caches costs more time than its count says, so the targets of issue 16
stay the timed ratios of bench/floor.py and bench/http_bench.py; this script tells whether a change
made the code do less, and by how much.

It runs itself under `valgrind --tool=callgrind --instr-atstart=no`: the organisation of
bench/notices.py is built with counting off, then for each request of bench/floor.py (and the bare
Flask endpoint) counting is switched on for `--reps` requests after five unmeasured ones, and off
while a scenario run is started (floor.py does not time that either). `--against DIR` counts a second
checkout of the project too (e.g. a `git worktree` of an earlier commit) and prints both, with the
ratio. Under valgrind Python runs about 30× slower: the default size takes a few minutes; `--only`
counts the rows named (and builds the same organisation), for a quicker look at one page.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = "LMS_BENCH_INSTRUCTIONS_CHILD"


def child(people: int, stores: int, reps: int, only: Sequence[str]) -> None:
    """Inside valgrind: build the organisation, then count each request (switching counting on and off
    with callgrind_control, which talks to this very process)."""
    sys.path.insert(0, os.environ["LMS_BENCH_ROOT"])
    import flask

    from bench.floor import Get, organisation, settle

    bare = flask.Flask("bare")
    bare.add_url_rule("/", "index", lambda: "ok")
    _, _, rows = organisation(people, stores)
    settle()
    pid = str(os.getpid())

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)

    rows = [("bare Flask `GET /`", Get(bare.test_client(), "/")), *rows]
    for number, (label, call) in enumerate(row for row in rows if not only or any(word in row[0] for word in only)):
        for _ in range(5):
            call.prepare()
            call()
        call.prepare()
        control("--zero")
        control("-i", "on")
        for _ in range(reps):
            call()
            if getattr(call, "run", 0) is None:  # the scenario ended: start a new run, uncounted
                control("-i", "off")
                call.prepare()
                control("-i", "on")
        control("-i", "off")
        control(f"--dump=row{number}")  # a plain word: callgrind_control passes it through a shell
        print(f"row{number}\t{label}", flush=True)


def count(root: Path, people: int, stores: int, reps: int, keep: Path | None = None,
          only: Sequence[str] = ()) -> dict[str, float]:
    """Instructions per request of each row, for the checkout at `root` (callgrind's files kept in
    `keep`, for callgrind_annotate, when given)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = keep or scratch
        Path(out).mkdir(parents=True, exist_ok=True)
        run = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
             sys.executable, str(Path(__file__).resolve()), "--people", str(people), "--stores", str(stores),
             "--reps", str(reps), *(f"--only={word}" for word in only)],
            env={**os.environ, CHILD: "1", "LMS_BENCH_ROOT": str(root), "PYTHONHASHSEED": "0"},
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = run.communicate()
        labels = dict(line.split("\t", 1) for line in stdout.splitlines() if line.startswith("row"))
        if run.returncode != 0 or not labels:
            sys.exit(f"valgrind run failed ({run.returncode}):\n{stderr[-3000:]}")
        figures = {}
        for dump in Path(out).glob(f"cg.{run.pid}.*"):  # valgrind runs the program as its own process
            text = dump.read_text(encoding="utf-8", errors="replace")
            trigger = re.search(r"^desc: Trigger: dump (row\d+)$", text, re.M)
            if trigger:
                figures[labels[trigger.group(1)]] = int(re.search(r"^totals: (\d+)", text, re.M).group(1)) / reps
        return {label: figures[label] for label in labels.values()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--against", type=Path, help="another checkout of the project, counted too")
    parser.add_argument("--keep", type=Path, help="keep callgrind's files (of this checkout) in this folder")
    parser.add_argument("--only", action="append", default=[],
                        help="count only the rows whose label holds this text (repeatable), e.g. --only 今天")
    args = parser.parse_args()
    if os.environ.get(CHILD):
        child(args.people, args.stores, args.reps, args.only)
        return
    from bench.floor import TARGETS  # the parent: only the table's targets

    now = count(ROOT, args.people, args.stores, args.reps, args.keep, args.only)
    before = (count(args.against.resolve(), args.people, args.stores, args.reps, only=args.only)
              if args.against else None)
    print(f"{args.people} people in {args.stores} stores, SQLite, instructions per request (callgrind), "
          f"mean of {args.reps}")
    counts = [f"M instructions in {args.against}", "M instructions here", "here ÷ there"] if before \
        else ["M instructions"]
    columns = ["request", *counts, "× bare", "ratio to", "target"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    bare = now.get("bare Flask `GET /`")
    for label, value in now.items():
        cells = [f"{before[label] / 1e6:.2f}", f"{value / 1e6:.2f}", f"{value / before[label]:.2f}"] if before \
            else [f"{value / 1e6:.2f}"]
        against, most = TARGETS.get(label, (None, None))
        against = against if against in now else None  # not counted (--only)
        ratio = f"{value / now[against]:.2f}× {against}" if against else ""
        target = f"≤ {most:g}× in time ({'met' if value / now[against] <= most else 'missed'} in instructions)" \
            if against else ""
        times_bare = f"{value / bare:.1f}" if bare else ""
        print(f"| {label} | {' | '.join(cells)} | {times_bare} | {ratio} | {target} |", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
