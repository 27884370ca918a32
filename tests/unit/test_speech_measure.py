"""The measurement core of spoken practice on synthetic recordings of known voiced time and pauses."""

from __future__ import annotations

import io
import wave

import pytest

from lms.rings import Rings
from lms.speech.measure import SpeechError, count_characters, measure, pace, wav_bytes
from tests.data.speech_signals import noise, reading, silence, syllable
from tests.timing import time_bound

pytestmark = pytest.mark.no_db
BAND = (120, 160)


def close(value, expected, share=0.05):
    return abs(value - expected) <= share * expected


@pytest.mark.parametrize("kind", ["tone", "noise"])
@pytest.mark.parametrize("background", [0.0, 300.0])
def test_voiced_time_pauses_and_rate_within_five_percent(kind, background):
    samples, facts = reading([8, 0.6, 10, 1.5, 6, 2.0, 12], kind=kind, background=background)
    m = measure(wav_bytes(samples))
    assert close(m.voiced_seconds, facts["voiced"])
    assert close(m.total_seconds, facts["total"], 0.01)
    assert len(m.pauses) == len(facts["pauses"]) == 2  # the 0.6 s gap is no pause
    for found, (start, length) in zip(m.pauses, facts["pauses"]):
        assert abs(found.start - start) <= 0.05 and close(found.length, length)
    text = "您" * facts["syllables"]  # one character a syllable
    p = pace(m, text, BAND)
    expected = facts["syllables"] / (facts["voiced"] / 60)
    assert close(p.rate, expected)
    assert m.syllables == facts["syllables"] and not p.too_short


def test_gaps_between_syllables_are_neither_pauses_nor_lost_time():
    samples, facts = reading([30])  # one phrase, 30 syllables 0.12 s apart
    m = measure(wav_bytes(samples))
    assert m.pauses == () and len(m.segments) == 1
    assert close(m.voiced_seconds, facts["voiced"])


def test_pace_band_and_characters():
    text = "您好，##电信路营业厅，请问有什么可以帮到您？10000号。"
    assert count_characters(text) == 19 + 2 + 5  # 19 characters, the name said for ##, 5 digits; no punctuation
    assert count_characters("请问，有什么可以帮您？") == 9
    samples, facts = reading([13, 0.5, 13])  # 26 syllables
    p = pace(measure(wav_bytes(samples)), text, BAND)
    assert p.characters == 26 and close(p.rate, 26 / (facts["voiced"] / 60))
    assert p.in_band is (BAND[0] <= p.rate <= BAND[1])
    slow = pace(measure(wav_bytes(reading([6, 0.5, 6, 0.5, 6, 0.5, 5])[0])), text, (20, 100))
    assert slow.in_band is False  # about 170 字/分: faster than 20–100


def test_silence_and_steady_noise_are_not_speech():
    for samples in (silence(5), noise(5, 300), noise(5, 3000)):
        m = measure(wav_bytes(samples))
        assert not m.heard and m.voiced_seconds == 0 and m.first_voice_at is None
        p = pace(m, "您好，欢迎光临", BAND)
        assert p.rate is None and p.in_band is None and p.too_short


def test_a_click_is_not_a_word():
    samples = silence(1) + syllable(0.03) + silence(1)
    assert not measure(wav_bytes(samples)).heard


def test_reading_that_skips_the_text_warns():
    samples, facts = reading([10, 0.5, 10])  # 20 syllables
    m = measure(wav_bytes(samples))
    assert pace(m, "您" * 20, BAND).too_short is False
    assert pace(m, "您" * 26, BAND).too_short is False  # 77 %: still read through
    assert pace(m, "您" * 40, BAND).too_short is True  # half of the text is missing


@pytest.mark.parametrize("lead", [4.0, 18.0])
def test_time_to_first_voice_and_the_three_rings(lead):
    samples, _ = reading([10], lead=lead)
    m = measure(wav_bytes(samples), max_seconds=150)
    assert abs(m.first_voice_at - lead) <= 0.05
    assert Rings().in_time(m.first_voice_at) is (lead < 15)


def test_rings_follow_the_cadence():
    china = Rings()  # 1 s on, 4 s off; three rings
    assert [china.started(t) for t in (0, 4.9, 5.0, 10.5, 14.99, 15.0, 19)] == [1, 1, 2, 3, 3, 4, 4]
    assert china.in_time(14.9) and not china.in_time(15.0) and not china.in_time(None)
    assert china.deadline == 15.0 and china.windows(11) == [(0, 1), (5, 6), (10, 11)]
    quick = Rings((1.0, 2.0), 2)
    assert quick.in_time(5.5) is True and quick.in_time(6.0) is False


def _wav(channels=1, width=2, rate=16000, frames=16000):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * (frames * channels * width // 2))
    return buffer.getvalue()


@pytest.mark.parametrize("data, words", [
    (b"", "空的"),
    (_wav(frames=0), "空的或太短"),
    (_wav(channels=2), "2声道"),
    (_wav(rate=44100), "44100Hz"),
    (_wav(width=1), "8位"),
    (_wav(frames=16000 * 600), "太长（600秒）"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "不是WAV"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00\x01\x00", "已损坏"),  # float format, cut short
    (_wav()[:30], "已损坏"),
])
def test_bad_files_are_refused_with_a_chinese_reason(data, words):
    with pytest.raises(SpeechError) as caught:
        measure(data, max_seconds=150)
    assert words in str(caught.value)


def test_a_minute_is_measured_quickly():
    samples, _ = reading([20, 0.5] * 7 + [20], kind="noise", background=200.0)  # about 60 s
    data = wav_bytes(samples + silence(60 - len(samples) / 16000))
    for attempt in time_bound(3.0):  # about 0.05 s here (bench/speech.py)
        with attempt:
            measure(data)
