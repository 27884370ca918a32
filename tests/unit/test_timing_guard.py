"""The time guard itself: it fails when every attempt is slow, and passes when one is quick."""

from __future__ import annotations

import time

import pytest

from tests.timing import time_bound

pytestmark = pytest.mark.no_db


def test_a_block_slow_every_time_fails_after_three_attempts():
    runs = 0
    with pytest.raises(AssertionError, match="3 attempts"):
        for attempt in time_bound(0.01):
            with attempt:
                runs += 1
                time.sleep(0.02)
    assert runs == 3


def test_a_block_slow_once_passes_on_the_next_attempt():
    runs = 0
    for attempt in time_bound(0.05):
        with attempt:
            runs += 1
            time.sleep(0.1 if runs == 1 else 0)
    assert runs == 2


def test_an_error_inside_the_block_is_not_retried():
    runs = 0
    with pytest.raises(ZeroDivisionError):
        for attempt in time_bound(1.0):
            with attempt:
                runs += 1
                1 / 0
    assert runs == 1
