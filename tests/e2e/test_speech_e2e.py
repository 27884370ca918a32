"""Spoken practice in a real browser: Chromium's fake microphone plays a WAV shipped in
tests/e2e/data (made by make_speech_wavs.py, whose JSON says what each file holds), the page
records it through getUserMedia and Web Audio, builds the 16 kHz WAV itself and uploads it; the
figures shown must match the file's known ones."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from lms.accounts.models import User
from lms.extensions import db
from lms.speech.models import SpeechAttempt
from tests.e2e.conftest import ARGS, CHROMIUM, log_in

pytestmark = pytest.mark.no_db
DATA = Path(__file__).resolve().parent / "data"
KNOWN = json.loads((DATA / "speech_wavs.json").read_text(encoding="utf-8"))
LEARNER = "DX2004"


@pytest.fixture
def microphone(live_app, browser):
    """Start a Chromium whose microphone plays a given WAV once (with the shared browser's Playwright);
    remove the learner's attempts afterwards."""
    launched = []

    def start(name: str):
        launched.append(browser.browser_type.launch(executable_path=CHROMIUM, args=ARGS + [
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={DATA / name}%noloop", "--autoplay-policy=no-user-gesture-required"]))
        return launched[-1]

    yield start
    for one in launched:
        one.close()
    app = live_app[0]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        db.session.execute(delete(SpeechAttempt).where(SpeechAttempt.user_id == user_id))
        db.session.commit()


def _record(page, wait: float | None):
    page.click(".speech-start")
    if wait is not None:
        page.wait_for_selector(".speech-stop:enabled", timeout=10000)
        time.sleep(wait)
        page.click(".speech-stop")
    page.wait_for_selector(".speech-figures", timeout=60000)
    return page.inner_text(".speech-result")


def _read_shows_the_files_figures(page) -> None:
    """Record speech-read.wav on the reading page open in `page`: the rate shown is the file's
    (its characters over its known voiced time) within 10 %, and its one long pause is counted."""
    chars = int(re.search(r"· (\d+)字 ·", page.inner_text("hgroup")).group(1))
    known = KNOWN["speech-read.wav"]
    result = _record(page, known["total_seconds"] + 0.8)
    shown = int(re.search(r"语速\s*(\d+)\s*字/分", result).group(1))
    expected = chars / (known["voiced_seconds"] / 60)
    assert abs(shown - expected) <= 0.10 * expected, (shown, expected)
    assert "超过1秒的停顿1次" in result


@pytest.mark.parametrize("size", [(375, 812), (1280, 800)])
def test_reading_through_the_page_shows_the_files_rate(live_app, microphone, shoot, size):
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], *size)
    page.goto(f"{base}/practice")
    page.click("text=口语练习")
    page.click("a[href$=\"/speech/read/book-service\"]")
    _read_shows_the_files_figures(page)
    shoot(page, f"read-{size[0]}")
    page.goto(f"{base}/speech")
    assert "最近一次" in page.inner_text("main")
    shoot(page, f"index-{size[0]}")


# An audio context whose sampleRate states half the rate its audio runs at (48 kHz audio in a context
# that says 24 kHz, as an older Safari on an iPhone could take the rate of a 24 kHz file it played).
HALF_STATED = """
    const Real = window.AudioContext;
    window.AudioContext = function () {
        const ctx = new Real();
        const stated = ctx.sampleRate / 2;
        Object.defineProperty(ctx, "sampleRate", { get: () => stated });
        return ctx;
    };
"""


def test_a_context_that_states_the_wrong_rate_still_gives_the_files_figures(live_app, microphone):
    """The page counts the samples against the clock: read at the stated rate, the recording would
    last twice as long and the speech rate come out half the file's."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], script=HALF_STATED)
    page.goto(f"{base}/speech/read/book-service")
    assert page.evaluate("new AudioContext().sampleRate") in (22050, 24000)  # the fake is in place
    _read_shows_the_files_figures(page)


@pytest.mark.parametrize("name, in_time", [("speech-ring-4s.wav", True), ("speech-ring-18s.wav", False)])
def test_the_phone_drill_in_the_browser(live_app, microphone, shoot, name, in_time):
    app, base, accounts = live_app
    page = log_in(microphone(name), base, LEARNER, accounts[LEARNER])
    page.goto(f"{base}/speech/ring")
    result = _record(page, None)  # the page stops by itself once the greeting is over
    seconds = float(re.search(r"铃响后\s*([\d.]+)\s*秒开口", result).group(1))
    assert abs(seconds - KNOWN[name]["first_voice_at"]) <= 0.5
    assert ("三声内接听" in result) is in_time and ("超过三声才接听" in result) is not in_time
    shoot(page, name.removesuffix(".wav"))
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        row = db.session.scalar(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id, SpeechAttempt.kind == "ring"))
        assert row.answered_in_time is in_time


def test_a_refused_microphone_says_so_in_chinese(live_app, browser):
    app, base, accounts = live_app
    page = log_in(browser, base, LEARNER, accounts[LEARNER])  # the shared browser: no fake microphone
    page.goto(f"{base}/speech/read/book-service")
    page.click(".speech-start")
    from playwright.sync_api import expect

    expect(page.locator(".speech-status")).to_contain_text("文字练习（情景演练）不受影响", timeout=10000)
    assert "麦克风" in page.inner_text(".speech-status")
    assert page.is_enabled(".speech-start")


@pytest.mark.parametrize("resume", ["Promise.resolve()", "new Promise(() => {})"], ids=["resolves", "never-settles"])
def test_a_microphone_that_gives_no_sound_is_caught_within_seconds(live_app, microphone, resume):
    """A browser that keeps the page's audio suspended (as Safari on an iPhone may when the audio was
    not started by the tap itself) records nothing: the page says so within seconds, stops, and
    uploads nothing — not after the learner has read the whole text. Its resume() may resolve with
    the audio still suspended, or never settle (what the Web Audio spec says of a context the browser
    does not allow to start)."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], script="""
        const Real = window.AudioContext;
        window.AudioContext = function () {
            const ctx = new Real();
            ctx.suspend();
            ctx.resume = () => RESUME;  // the audio stays suspended
            return ctx;
        };
    """.replace("RESUME", resume))
    page.goto(f"{base}/speech/read/book-service")
    uploads = []
    page.on("request", lambda request: uploads.append(request.url) if request.method == "POST" else None)
    page.click(".speech-start")
    from playwright.sync_api import expect

    expect(page.locator(".speech-status")).to_contain_text("没有收到麦克风的声音", timeout=15000)
    assert page.is_enabled(".speech-start") and not page.is_enabled(".speech-stop")
    assert uploads == []
    assert page.evaluate("document.querySelectorAll('button:disabled').length") == 1  # only 停止: the page is usable
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        assert db.session.scalar(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)) is None


# What a phone does to a page that is recording when a call comes in, the screen locks or the learner
# switches apps, as the page's events see it. The init script keeps the page's stream and audio
# context within reach and lets a test set the context's state, which Chromium never makes
# "interrupted" (Safari does).
REACHABLE = """
    window.kept = {};
    const realGet = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (c) => realGet(c).then((stream) => (window.kept.stream = stream));
    const Real = window.AudioContext;
    window.AudioContext = function () {
        const ctx = new Real();
        const real = Object.getOwnPropertyDescriptor(Real.prototype.__proto__, "state").get;
        Object.defineProperty(ctx, "state", { get: () => window.kept.state || real.call(ctx) });
        window.kept.ctx = ctx;
        return ctx;
    };
"""
INTERRUPTIONS = {
    "page-hidden": """Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
                      document.dispatchEvent(new Event("visibilitychange"));""",
    "track-ended": """window.kept.stream.getAudioTracks()[0].dispatchEvent(new Event("ended"));""",
    "context-interrupted": """window.kept.state = "interrupted"; window.kept.ctx.dispatchEvent(new Event("statechange"));""",
}


@pytest.mark.parametrize("how", INTERRUPTIONS)
def test_a_recording_interrupted_by_the_phone_is_dropped_and_said(live_app, microphone, how):
    """A call, the lock screen or another app mid-recording: what was recorded is no longer one
    reading (a phone stops or mutes a hidden page's microphone, and the gap would count as a pause),
    so the page stops, uploads nothing and says why; the learner can start again at once."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], script=REACHABLE)
    page.goto(f"{base}/speech/read/book-service")
    uploads = []
    page.on("request", lambda request: uploads.append(request.url) if request.method == "POST" else None)
    page.click(".speech-start")
    page.wait_for_selector(".speech-stop:enabled", timeout=10000)
    time.sleep(1)
    page.evaluate(INTERRUPTIONS[how])
    from playwright.sync_api import expect

    expect(page.locator(".speech-status")).to_contain_text("录音被打断了", timeout=5000)
    assert "这次不算" in page.inner_text(".speech-status")
    assert page.is_enabled(".speech-start") and not page.is_enabled(".speech-stop")
    assert page.evaluate("window.kept.stream.getAudioTracks()[0].readyState") == "ended"  # the microphone is let go
    time.sleep(1)
    assert uploads == [] and page.inner_text(".speech-result") == ""
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        assert db.session.scalar(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)) is None


def test_an_interruption_over_within_half_a_second_lets_the_recording_go_on(live_app, microphone):
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], script=REACHABLE)
    page.goto(f"{base}/speech/read/book-service")
    page.evaluate("""() => new MutationObserver(() => {  // as soon as the recording runs: a blip
        if (!document.querySelector(".speech-stop").disabled && !window.kept.blipped) {
            window.kept.blipped = true;
            window.kept.state = "interrupted"; window.kept.ctx.dispatchEvent(new Event("statechange"));
            setTimeout(() => { window.kept.state = undefined; }, 200);
        }
    }).observe(document.querySelector(".speech-stop"), { attributes: true })""")
    _read_shows_the_files_figures(page)
    assert page.evaluate("window.kept.blipped") is True


# The Screen Wake Lock API as the page sees it, recording what it is asked.
WAKE_LOCK = """
    window.wake = { asked: [], released: 0 };
    Object.defineProperty(navigator, "wakeLock", { value: { request: (type) => {
        window.wake.asked.push(type);
        return Promise.resolve({ release: () => { window.wake.released += 1; return Promise.resolve(); } });
    } } });
"""


@pytest.mark.parametrize("ending", ["stop", "interrupted"])
def test_the_screen_stays_on_while_recording(live_app, microphone, ending):
    """A phone may lock its screen after 30 s without a touch, which would end a reading: the page
    keeps the screen on from the start of the recording to its end, however it ends."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER], script=REACHABLE + WAKE_LOCK)
    page.goto(f"{base}/speech/read/book-service")
    assert page.evaluate("window.wake.asked") == []
    page.click(".speech-start")
    page.wait_for_selector(".speech-stop:enabled", timeout=10000)
    page.wait_for_function("() => window.wake.asked.length === 1", timeout=2000)
    assert page.evaluate("[window.wake.asked, window.wake.released]") == [["screen"], 0]
    time.sleep(1)
    if ending == "stop":
        page.click(".speech-stop")
        page.wait_for_selector(".speech-figures", timeout=60000)
    else:
        page.evaluate(INTERRUPTIONS["track-ended"])
        page.wait_for_selector(".speech-start:enabled", timeout=5000)
    assert page.evaluate("[window.wake.asked, window.wake.released]") == [["screen"], 1]


@pytest.mark.parametrize("lost", ["request", "answer"])
def test_an_upload_lost_on_the_way_is_sent_again_and_kept_once(live_app, microphone, lost):
    """No signal for a moment as the recording goes up: the page keeps it and offers 重新上传, which
    sends the same recording again — kept once even when the first try had reached the server and
    only its answer was lost."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER])
    page.goto(f"{base}/speech/read/book-service")
    tries = []

    def flaky(route):
        tries.append(route.request.post_data_buffer)
        if len(tries) > 1:
            route.continue_()
        elif lost == "request":
            route.abort("internetdisconnected")
        else:
            route.fetch()  # the server measures and keeps it; its answer never arrives
            route.abort("connectionreset")

    page.route("**/speech/read/book-service/1", flaky)
    page.click(".speech-start")
    page.wait_for_selector(".speech-stop:enabled", timeout=10000)
    time.sleep(KNOWN["speech-read.wav"]["total_seconds"] + 0.8)
    page.click(".speech-stop")
    page.wait_for_selector(".speech-retry:visible", timeout=30000)
    assert "录音还没有上传" in page.inner_text(".speech-status") and page.inner_text(".speech-result") == ""
    page.click(".speech-retry")
    page.wait_for_selector(".speech-figures", timeout=30000)
    assert page.is_hidden(".speech-retry") and len(tries) == 2
    names = [re.search(rb'name="recording"\r\n\r\n([^\r]+)\r\n', body).group(1) for body in tries]
    audio = [body[body.index(b"RIFF"):] for body in tries]
    assert names[0] == names[1] and len(names[0]) == 36 and audio[0][:-60] == audio[1][:-60]  # the same recording
    assert "超过1秒的停顿1次" in page.inner_text(".speech-result")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        assert db.session.scalar(select(func.count()).select_from(SpeechAttempt).where(SpeechAttempt.user_id == user_id)) == 1


def test_a_recording_waiting_to_be_sent_again_waits_while_another_records(live_app, microphone):
    """A page with two recorders (the role-play debrief has one a turn): while one records, the
    other's 录音 and 重新上传 both wait — one microphone, one recording at a time — and come back
    when it is done; 重新上传 then sends its own recording."""
    app, base, accounts = live_app
    page = log_in(microphone("speech-read.wav"), base, LEARNER, accounts[LEARNER])
    page.goto(f"{base}/speech/read/book-service")
    page.evaluate("""() => {  // a second recorder, set up by the script included a second time
        const first = document.querySelector(".speech-recorder"), second = first.cloneNode(true);
        second.removeAttribute("data-ready");
        second.id = "second";
        first.id = "first";
        first.after(second);
        const old = document.querySelector("script[data-worklet]"), again = document.createElement("script");
        again.src = old.src;
        again.setAttribute("data-worklet", old.getAttribute("data-worklet"));
        document.body.append(again);
    }""")
    page.wait_for_selector("#second[data-ready]")
    tries = []

    def first_lost(route):
        tries.append(1)
        route.abort("internetdisconnected") if len(tries) == 1 else route.continue_()

    page.route("**/speech/read/book-service/1", first_lost)
    page.click("#first .speech-start")
    page.wait_for_selector("#first .speech-stop:enabled", timeout=10000)
    assert page.is_disabled("#second .speech-start")
    time.sleep(2)
    page.click("#first .speech-stop")
    page.wait_for_selector("#first .speech-retry:visible", timeout=30000)
    assert page.is_enabled("#second .speech-start") and page.is_enabled("#first .speech-retry")
    page.click("#second .speech-start")
    page.wait_for_selector("#second .speech-stop:enabled", timeout=10000)
    assert page.is_disabled("#first .speech-retry") and page.is_disabled("#first .speech-start")
    time.sleep(1)
    page.click("#second .speech-stop")
    page.wait_for_function("() => !document.querySelector('#second').hasAttribute('data-busy')", timeout=30000)
    assert page.is_enabled("#first .speech-retry") and page.is_enabled("#second .speech-start")
    page.click("#first .speech-retry")
    page.wait_for_selector("#first .speech-figures", timeout=30000)
    assert len(tries) == 3 and page.is_hidden("#first .speech-retry")
