"""Benchmark: how exact the spoken-practice pace is, and what measuring an upload costs.

    .venv/bin/python bench/speech.py

Recordings of known content are made here (tests/data/speech_signals.py: syllables as voiced
bursts of a harmonic tone or of noise, with known lengths and gaps, optionally over steady
background noise), at several paces, and measured by the product's own code
(`lms/speech/measure.py`). For each one the script prints the true pace (syllables over the time
actually voiced, one character a syllable), the measured one and the error, the syllables
estimated against the true count, and the pauses found against those made. Then the browser
test's fixture files (tests/e2e/data), and the time `measure()` takes on recordings of 10 s to
120 s (median of 5). Synthetic signals are not a human voice; they are what can be known exactly.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lms.speech.measure import measure, pace, wav_bytes  # noqa: E402
from tests.data.speech_signals import RATE, noise, phrase, silence  # noqa: E402

BAND = (120, 160)
PHRASES = (10, 14, 8, 12)  # syllables per phrase; between them 0.6 s (a breath) and 1.5 s (a pause)
GAPS = (0.6, 1.5, 0.6)


def recording(length: float, gap: float, kind: str, background: float) -> tuple[list[int], dict]:
    """Four phrases of syllables `length` s long, `gap` s apart; what they hold."""
    samples, voiced, t, pauses = silence(0.8), 0.0, 0.8, 0
    for n, count in enumerate(PHRASES):
        if n:
            samples += silence(GAPS[n - 1])
            t += GAPS[n - 1]
            pauses += GAPS[n - 1] > 1.0
        samples += phrase(count, length, gap, kind=kind, seed=n)
        voiced += count * length + (count - 1) * gap
    samples += silence(0.8)
    if background:
        samples = [max(-32768, min(32767, a + b)) for a, b in zip(samples, noise(len(samples) / RATE, background))]
    return samples, {"voiced": voiced, "syllables": sum(PHRASES), "pauses": pauses}


def main() -> None:
    print("| signal | background (RMS) | true pace 字/分 | measured | error | syllables est./true | pauses found/made |")
    print("|---|---|---|---|---|---|---|")
    errors = []
    for kind in ("tone", "noise"):
        for background in (0.0, 300.0, 1000.0):
            for length, gap in ((0.30, 0.16), (0.24, 0.12), (0.20, 0.09), (0.16, 0.07)):
                samples, known = recording(length, gap, kind, background)
                m = measure(wav_bytes(samples))
                text = "您" * known["syllables"]
                true_rate = known["syllables"] / (known["voiced"] / 60)
                measured = pace(m, text, BAND).rate
                error = (measured - true_rate) / true_rate * 100
                errors.append(abs(error))
                print(f"| {kind} | {background:.0f} | {true_rate:.0f} | {measured:.0f} | {error:+.1f} % | "
                      f"{m.syllables}/{known['syllables']} | {len(m.pauses)}/{known['pauses']} |", flush=True)
    print(f"\nLargest error {max(errors):.1f} %, median {statistics.median(errors):.1f} % "
          f"(target: within 5 %).\n")

    data = ROOT / "tests" / "e2e" / "data"
    facts = json.loads((data / "speech_wavs.json").read_text(encoding="utf-8"))
    print("| browser test fixture (8 kHz file, measured here at 16 kHz) | voiced s true/measured | first voice s true/measured |")
    print("|---|---|---|")
    for name, known in facts.items():
        raw = read_wav_8k(data / name)
        m = measure(wav_bytes(raw))
        print(f"| {name} | {known['voiced_seconds']:.2f}/{m.voiced_seconds:.2f} | "
              f"{known['first_voice_at']:.2f}/{m.first_voice_at:.2f} |")

    print("\n| recording | measure() ms (median of 5) | ms per second of audio |")
    print("|---|---|---|")
    for seconds in (10, 30, 60, 120):
        samples, _ = recording(0.22, 0.12, "noise", 200.0)
        samples = (samples * (seconds * RATE // len(samples) + 1))[:seconds * RATE]
        blob = wav_bytes(samples)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            measure(blob, max_seconds=150)
            times.append(time.perf_counter() - start)
        ms = statistics.median(times) * 1000
        print(f"| {seconds} s | {ms:.0f} | {ms / seconds:.1f} |", flush=True)


def read_wav_8k(path: Path) -> list[int]:
    """The fixture's 8 kHz samples, each repeated once: 16 kHz as the browser would upload (roughly)."""
    import wave

    with wave.open(str(path), "rb") as w:
        frames = w.readframes(w.getnframes())
    samples = [int.from_bytes(frames[i:i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    return [s for s in samples for _ in (0, 1)]


if __name__ == "__main__":
    main()
