"""Time guards for tests: a crafted input must be answered quickly, on a machine that may be busy.

A guard catches a path that is quadratic, exponential or unbounded: such a path is slow every time.
A busy machine (CI running another suite, a garbage collection, the first call warming a cache) is
slow now and then. So the block is timed up to three times and the guard fails only when every
attempt took longer than the bound — the fastest attempt is what the code costs. The block must
be repeatable: the guarded inputs are refused or only read, so nothing is written by a retry.

    for attempt in time_bound(1.0):
        with attempt:
            page = post(...)

An exception inside the block is not retried: it fails the test at once, as it would without a guard.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

ATTEMPTS = 3


def time_bound(seconds: float, attempts: int = ATTEMPTS) -> Iterator:
    took: list[float] = []

    @contextmanager
    def attempt():
        start = time.perf_counter()
        yield
        took.append(time.perf_counter() - start)

    for _ in range(attempts):
        yield attempt()
        if took and took[-1] < seconds:
            return
    assert took, "the guarded block never ran"
    raise AssertionError(f"took {', '.join(f'{t:.2f}' for t in took)} s in {len(took)} attempts; the bound is {seconds} s")
