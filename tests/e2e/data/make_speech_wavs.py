"""Write the recordings the speech browser test feeds Chromium's fake microphone with.

Run once from the project root (`.venv/bin/python tests/e2e/data/make_speech_wavs.py`); the WAVs
and `speech_wavs.json` (what each file holds: voiced seconds, syllables, the first word) are
committed beside this script. Syllables are harmonic tone bursts (tests/data/speech_signals.py);
the files are 8 kHz to stay small (the browser resamples whatever it captures; the voice's
overtones used here all lie below 4 kHz).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from lms.speech.measure import wav_bytes  # noqa: E402
from tests.data.speech_signals import reading  # noqa: E402

FILES = {
    # a reading: three phrases, one pause over a second
    "speech-read.wav": dict(plan=[12, 0.6, 14, 1.5, 10], lead=1.0, tail=1.0),
    # the phone drill: the greeting starts 4 s and 18 s after the first ring
    "speech-ring-4s.wav": dict(plan=[8, 0.4, 8], lead=4.0, tail=3.0),
    "speech-ring-18s.wav": dict(plan=[8, 0.4, 8], lead=18.0, tail=3.0),
}


def main() -> None:
    facts = {}
    for name, spec in FILES.items():
        samples, known = reading(spec["plan"], lead=spec["lead"], tail=spec["tail"])
        (HERE / name).write_bytes(wav_bytes(samples[::2], rate=8000))
        facts[name] = {"voiced_seconds": round(known["voiced"], 3), "syllables": known["syllables"],
                       "first_voice_at": known["first"], "total_seconds": round(known["total"], 3),
                       "pauses": known["pauses"]}
    (HERE / "speech_wavs.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
