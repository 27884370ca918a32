"""The phone rule (pure): 「电话铃响三声之内接听」 (第一章 三、日常礼仪规范 5、电话礼仪; 六、电话服务 (一) 2 b)).

One definition of when a call counts as answered in time, used by the phone drill (lms/speech), by
role-play's `rings` condition (lms/roleplay: a typed phone scenario branches on `rings > 3`) and by
the run page's live ring count. The ring's cadence is the organisation's setting (`RING_CADENCE`,
seconds on and off; China's ringing tone is 1 s on, 4 s off); the limit of three rings is the
rulebook's. Ring 1 begins at 0 s, ring n at (n - 1) × (on + off) s: with 1 s / 4 s, an answer
before 15 s is within three rings and one at 15 s or later came on the fourth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

CADENCE = (1.0, 4.0)  # seconds on, seconds off: the default of RING_CADENCE
LIMIT = 3  # rings within which the phone is answered (the rulebook's 三声)


@dataclass(frozen=True)
class Rings:
    cadence: tuple[float, float] = CADENCE
    limit: int = LIMIT

    @property
    def period(self) -> float:
        return self.cadence[0] + self.cadence[1]

    @property
    def deadline(self) -> float:
        """Seconds from the first ring to the start of the first ring past the limit."""
        return self.limit * self.period

    def started(self, seconds: float) -> int:
        """How many rings had begun `seconds` after the first ring began."""
        return math.floor(max(0.0, seconds) / self.period) + 1

    def in_time(self, seconds: float | None) -> bool:
        """Whether an answer `seconds` after the first ring came within the limit (None: never answered)."""
        return seconds is not None and self.started(seconds) <= self.limit

    def windows(self, until: float) -> list[tuple[float, float]]:
        """The stretches of time the phone is sounding, from the first ring to `until`."""
        on = self.cadence[0]
        return [(start, start + on) for start in (i * self.period for i in range(math.ceil(until / self.period)))]


def from_config(config: Mapping[str, Any]) -> Rings:
    """The organisation's ring cadence (`RING_CADENCE`), with the rulebook's limit."""
    on, off = config.get("RING_CADENCE", CADENCE)
    return Rings((float(on), float(off)))
