"""Measuring a spoken reading (pure): voiced time, pauses, pace and the time to the first word.

The learner reads a **known** text, so no speech recognition is needed: the pace (语速) is the
text's characters divided by the minutes actually spent speaking, and voice-activity detection
measures those. The input is a WAV file as the browser builds it: 16 kHz, mono, 16-bit PCM.

How a recording is measured, frame by frame (10 ms):

1. WebRTC's voice-activity detector (webrtcvad-wheels, no model to download) says whether the
   frame sounds like speech. It also calls steady noise and the first frames of digital silence
   speech, so a frame counts as **voiced** only when it is also loud: at least `MARGIN_DB` above
   the recording's noise floor (its quietest tenth of frames) and above `FLOOR_DBFS`.
2. Smoothing (hangover): voiced runs closer than `MERGE_GAP` are one stretch of speech, so the
   gaps between syllables are neither pauses nor lost time; a run shorter than `MIN_RUN` on its
   own (a click, a knock) is dropped.
3. Voiced time is the length of the stretches; a gap between two stretches longer than
   `PAUSE_SECONDS` is a pause (停顿) with its start and length; silence before the first word and
   after the last is neither. Pace = characters ÷ voiced minutes.
4. Syllables are estimated from the energy envelope's peaks inside the stretches (one Chinese
   character is one syllable): far fewer peaks than characters (below `SHORT_SHARE`) means the
   text was skipped or cut short, and the result says so.

Bad input is refused with `SpeechError`, whose message is shown as it is; nothing is stored.
"""

from __future__ import annotations

import io
import math
import re
import sys
import wave
from array import array
from dataclasses import dataclass, field

import webrtcvad

SAMPLE_RATE = 16000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
VAD_MODE = 2  # webrtcvad aggressiveness 0–3; 3 rejects clean voiced sounds, 0–1 pass more noise
FLOOR_DBFS = -50.0  # quieter than this is never speech
MARGIN_DB = 10.0  # a voiced frame stands this far above the recording's noise floor
MERGE_GAP = 0.3  # seconds: a shorter gap is between syllables or words, not a stop
MIN_RUN = 0.06  # seconds: a shorter voiced run standing alone is a click, not a word
PAUSE_SECONDS = 1.0  # a longer gap between stretches of speech is a pause (停顿)
SHORT_SHARE = 0.7  # fewer estimated syllables than this share of the characters: text skipped
PEAK_MIN_DISTANCE = 0.12  # seconds between two syllable nuclei at the least (≈ 8 a second)
PEAK_DIP_DB = 3.0  # the envelope falls at least this far between two syllables

# Characters that are read: Chinese characters (CJK unified ideographs and extension A) and digits.
_READ = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff0-9０-９]")
# 「##」 in the rulebook's phrases stands for a name the clerk says in its place (「您好，##电信路营业厅」:
# the store's); it is counted as a name of this many characters, a typical road or district name.
PLACEHOLDER, PLACEHOLDER_CHARACTERS = "##", 2


class SpeechError(ValueError):
    """A recording that cannot be measured; the message (Chinese) says why."""


@dataclass(frozen=True)
class Pause:
    start: float  # seconds from the start of the recording
    length: float


@dataclass(frozen=True)
class Measurement:
    total_seconds: float
    voiced_seconds: float
    first_voice_at: float | None  # seconds to the first voiced frame; None: nothing was said
    pauses: tuple[Pause, ...] = ()
    syllables: int = 0  # estimated from energy peaks
    segments: tuple[tuple[float, float], ...] = field(default=(), repr=False)  # (start, end) of each stretch

    @property
    def heard(self) -> bool:
        """Whether any speech was found."""
        return self.first_voice_at is not None


@dataclass(frozen=True)
class Pace:
    characters: int
    rate: float | None  # 字/分 over voiced time; None when nothing was heard
    in_band: bool | None
    too_short: bool  # the voiced time holds too few syllables for the text


def count_characters(text: str) -> int:
    """Count what is read aloud: Chinese characters and digits, not punctuation, letters or spaces;
    each 「##」 is the name said in its place (PLACEHOLDER_CHARACTERS)."""
    text = text or ""
    return len(_READ.findall(text)) + text.count(PLACEHOLDER) * PLACEHOLDER_CHARACTERS


def read_wav(data: bytes, max_seconds: float) -> array:
    """Return the samples of a 16 kHz mono 16-bit PCM WAV; refuse anything else with a Chinese reason."""
    if not data:
        raise SpeechError("录音是空的：没有收到声音，请重新录音。")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("上传的不是WAV录音文件，请在本页用「录音」按钮录制。")
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
            if (channels, width, rate) != (1, 2, SAMPLE_RATE):
                raise SpeechError(f"录音格式不对：需要16kHz、单声道、16位PCM，收到的是{rate}Hz、{channels}声道、"
                                  f"{width * 8}位。请在本页用「录音」按钮录制。")
            if frames / SAMPLE_RATE > max_seconds:
                raise SpeechError(f"录音太长（{frames / SAMPLE_RATE:.0f}秒）：每次最长{max_seconds:g}秒。")
            raw = wav.readframes(frames)
    except SpeechError:
        raise
    except (wave.Error, EOFError, ValueError) as exc:
        raise SpeechError("录音文件已损坏或不是PCM格式的WAV，无法读取，请重新录音。") from exc
    samples = array("h")
    samples.frombytes(raw[: len(raw) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if len(samples) < FRAME_SAMPLES * 10:
        raise SpeechError("录音是空的或太短（不到0.1秒），请重新录音。")
    return samples


def _frame_levels(samples: array) -> list[float]:
    """The level of each 10 ms frame in dBFS (digital silence: -120)."""
    levels = []
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = samples[i:i + FRAME_SAMPLES]
        energy = sum(x * x for x in frame) / FRAME_SAMPLES
        levels.append(10 * math.log10(energy / (32768.0 ** 2)) if energy > 0 else -120.0)
    return levels


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """The runs of True as (first frame, frame after the last)."""
    runs, start = [], None
    for i, flag in enumerate(flags + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _smooth(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join runs closer than MERGE_GAP, then drop stretches shorter than MIN_RUN."""
    merge, shortest = round(MERGE_GAP * 1000 / FRAME_MS), round(MIN_RUN * 1000 / FRAME_MS)
    joined: list[list[int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] <= merge:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return [(s, e) for s, e in joined if e - s >= shortest]


def _syllables(levels: list[float], stretches: list[tuple[int, int]], floor: float) -> int:
    """Count the energy envelope's peaks in the stretches: one peak a syllable nucleus.

    The envelope is the 50 ms moving average of the frame levels, quiet frames held at the floor;
    a peak counts once the envelope has fallen PEAK_DIP_DB below it and it lies at least
    PEAK_MIN_DISTANCE after the peak before (hysteresis, so a wobble is not a syllable).
    """
    distance, pad = round(PEAK_MIN_DISTANCE * 1000 / FRAME_MS), 10
    quiet = floor + MARGIN_DB
    held = [value if value >= quiet else floor for value in levels]
    count, last = 0, -distance
    for start, end in stretches:
        lo, hi = max(0, start - pad), min(len(held), end + pad)  # a little on each side: the last syllable's fall
        rising, top, top_at, bottom = True, floor, lo, floor
        for i in range(lo, hi):
            window = held[max(lo, i - 2):min(hi, i + 3)]
            value = sum(window) / len(window)
            if rising:
                if value > top:
                    top, top_at = value, i
                elif top - value >= PEAK_DIP_DB:
                    if top_at - last >= distance:
                        count, last = count + 1, top_at
                    rising, bottom = False, value
            elif value < bottom:
                bottom = value
            elif value - bottom >= PEAK_DIP_DB:
                rising, top, top_at = True, value, i
        if rising and top - floor >= PEAK_DIP_DB and top_at - last >= distance:
            count, last = count + 1, top_at
    return count


def measure(data: bytes, max_seconds: float = 120.0) -> Measurement:
    """Measure a WAV recording: voiced time, pauses, time to the first word, estimated syllables."""
    samples = read_wav(data, max_seconds)
    levels = _frame_levels(samples)
    ordered = sorted(levels)
    floor = ordered[len(ordered) // 10]
    threshold = max(FLOOR_DBFS, floor + MARGIN_DB)
    vad = webrtcvad.Vad(VAD_MODE)
    pcm = samples.tobytes() if sys.byteorder == "little" else _little(samples)
    width = FRAME_SAMPLES * 2
    flags = [levels[n] >= threshold and vad.is_speech(pcm[n * width:(n + 1) * width], SAMPLE_RATE)
             for n in range(len(levels))]
    stretches = _smooth(_runs(flags))
    seconds = FRAME_MS / 1000
    total = len(samples) / SAMPLE_RATE
    if not stretches:
        return Measurement(total_seconds=round(total, 2), voiced_seconds=0.0, first_voice_at=None)
    pauses = tuple(Pause(round(a_end * seconds, 2), round((b_start - a_end) * seconds, 2))
                   for (_, a_end), (b_start, _) in zip(stretches, stretches[1:])
                   if (b_start - a_end) * seconds > PAUSE_SECONDS)
    return Measurement(
        total_seconds=round(total, 2),
        voiced_seconds=round(sum(e - s for s, e in stretches) * seconds, 2),
        first_voice_at=round(stretches[0][0] * seconds, 2),
        pauses=pauses,
        syllables=_syllables(levels, stretches, floor),
        segments=tuple((round(s * seconds, 2), round(e * seconds, 2)) for s, e in stretches),
    )


def _little(samples: array) -> bytes:
    copy = array("h", samples)
    copy.byteswap()
    return copy.tobytes()


def pace(measurement: Measurement, text: str, band: tuple[float, float]) -> Pace:
    """The pace of a reading of `text`: characters per voiced minute, whether it is in the band, too short."""
    characters = count_characters(text)
    if not measurement.heard or not characters:
        return Pace(characters, None, None, bool(characters))
    rate = characters / (measurement.voiced_seconds / 60)
    low, high = band
    return Pace(characters, round(rate, 1), low <= rate <= high, measurement.syllables < SHORT_SHARE * characters)


def wav_bytes(samples: list[int] | array, rate: int = SAMPLE_RATE, channels: int = 1, width: int = 2) -> bytes:
    """Build a WAV file from samples (for tests and the fixture script; the browser builds its own)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        data = array("h", samples)
        if sys.byteorder == "big":
            data.byteswap()
        wav.writeframes(data.tobytes() if width == 2 else bytes(len(data) * width))
    return buffer.getvalue()


def first_voice_outside(measurement: Measurement, windows: list[tuple[float, float]], slack: float = 0.15) -> float | None:
    """The start of the first stretch of speech that is not the ring itself heard through the microphone.

    A stretch lying wholly inside a ring (give or take `slack`) is the ring; a stretch that starts
    during a ring and goes on after it is the learner answering over the ring.
    """
    for start, end in measurement.segments:
        if not any(a - slack <= start and end <= b + slack for a, b in windows):
            return start
    return None
