"""Synthetic "speech" for the speech tests: syllables as voiced bursts of known length and gaps.

A syllable is a harmonic tone (a voice's fundamental and its overtones) or a burst of noise with
a smooth 20 ms rise and fall; phrases are syllables with short gaps, and the gaps between phrases
are known, so the voiced time, the pauses and the pace of a recording are known exactly.
"""

from __future__ import annotations

import math
import random

RATE = 16000


def silence(seconds: float) -> list[int]:
    return [0] * round(seconds * RATE)


def noise(seconds: float, level: float = 300.0, seed: int = 7) -> list[int]:
    """Steady background noise (Gaussian; `level` is its RMS in sample units)."""
    rnd = random.Random(seed)
    return [max(-32768, min(32767, round(rnd.gauss(0, level)))) for _ in range(round(seconds * RATE))]


def syllable(seconds: float, pitch: float = 210.0, amplitude: float = 9000.0, kind: str = "tone",
             seed: int = 1) -> list[int]:
    """One voiced burst: a harmonic tone (kind="tone") or noise (kind="noise") with smooth edges."""
    n, edge = round(seconds * RATE), round(0.02 * RATE)
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        env = min(1.0, i / edge, (n - 1 - i) / edge)
        env = 0.5 - 0.5 * math.cos(math.pi * max(0.0, env))
        if kind == "tone":
            t = i / RATE
            v = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in range(1, 7)) / 1.6
        else:
            v = rnd.gauss(0, 0.35)
        out.append(max(-32768, min(32767, round(amplitude * env * v))))
    return out


def phrase(count: int, length: float = 0.22, gap: float = 0.12, kind: str = "tone", seed: int = 0) -> list[int]:
    """`count` syllables of `length` seconds with `gap` seconds between them (pitch varies like speech)."""
    out: list[int] = []
    for k in range(count):
        if k:
            out += silence(gap)
        out += syllable(length, pitch=180.0 + 15.0 * ((k * 7 + seed) % 6), kind=kind, seed=seed * 100 + k)
    return out


def reading(plan: list, lead: float = 0.5, tail: float = 0.5, kind: str = "tone", background: float = 0.0):
    """A recording: `plan` alternates syllable counts (ints) and silent gaps (floats, seconds).

    Returns (samples, facts) with facts = voiced seconds (phrases from first to last syllable),
    syllables, pauses [(start, length)] longer than 1 s, first voice at, total seconds.
    """
    samples = silence(lead)
    voiced, syllables, pauses, t = 0.0, 0, [], lead
    length, gap = 0.22, 0.12
    for seed, item in enumerate(plan):
        if isinstance(item, int):
            dur = item * length + (item - 1) * gap
            samples += phrase(item, length, gap, kind=kind, seed=seed)
            voiced, syllables, t = voiced + dur, syllables + item, t + dur
        else:
            if item > 1.0:
                pauses.append((round(t, 2), round(item, 2)))
            samples += silence(item)
            t += item
    samples += silence(tail)
    if background:
        bg = noise(len(samples) / RATE, background)
        samples = [max(-32768, min(32767, a + b)) for a, b in zip(samples, bg)]
    return samples, {"voiced": voiced, "syllables": syllables, "pauses": pauses, "first": lead,
                     "total": len(samples) / RATE}
