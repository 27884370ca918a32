"""Spoken practice in WebKit, the engine of Safari: Debian's WebKitGTK (MiniBrowser, driven through
WebKitWebDriver on a virtual screen), whose mock microphone plays a tone. The page must open the
microphone, record through Web Audio and its AudioWorklet, upload, and show figures for as long a
recording as the clock says — the rate it reads the samples at is the one they come at.

Skipped, with the reason, where WebKitWebDriver, MiniBrowser or Xvfb is missing
(apt-get install webkit2gtk-driver xvfb). Not an iPhone: WebKitGTK plays and records through
GStreamer, an iPhone through Core Audio.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from lms.accounts.models import User
from lms.extensions import db
from lms.speech.models import SpeechAttempt

pytestmark = pytest.mark.no_db
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
LEARNER = "DX2005"


class WebDriver:
    """The few W3C WebDriver commands these tests need, over HTTP."""

    def __init__(self, url: str):
        self.url, self.session = url, None

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(self.url + path, method=method, headers={"Content-Type": "application/json"},
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            raise AssertionError(f"WebDriver {method} {path}: {error.read()[:500]!r}") from None

    def start(self) -> None:
        self.session = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {
            "binary": str(MINIBROWSER),
            "args": ["--automation", "--enable-media-stream=true", "--enable-mock-capture-devices=true",
                     "--enable-webaudio=true"]}}}})["sessionId"]
        self.call("POST", f"/session/{self.session}/window/rect", {"width": 375, "height": 812})

    def run(self, script: str):
        return self.call("POST", f"/session/{self.session}/execute/sync", {"script": script, "args": []})

    def go(self, url: str) -> None:
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def element(self, css: str) -> str:
        found = self.call("POST", f"/session/{self.session}/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def click(self, css: str) -> None:
        self.call("POST", f"/session/{self.session}/element/{self.element(css)}/click", {})

    def type(self, css: str, text: str) -> None:
        self.call("POST", f"/session/{self.session}/element/{self.element(css)}/value", {"text": text})

    def wait(self, script: str, seconds: float):
        """The script's result once it is truthy, polled until `seconds` have passed."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            value = self.run(script)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"still not true after {seconds} s: {script}")

    def quit(self) -> None:
        if self.session:
            self.call("DELETE", f"/session/{self.session}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webkit():
    missing = [name for name, found in (("WebKitWebDriver", shutil.which("WebKitWebDriver")), ("Xvfb", shutil.which("Xvfb")),
                                        ("MiniBrowser", MINIBROWSER.exists() or None)) if not found]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found (apt-get install webkit2gtk-driver xvfb)")
    screen = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = f":{screen.stdout.readline().strip()}"
    port = _free_port()
    driver_process = subprocess.Popen(["WebKitWebDriver", f"--port={port}"], env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = WebDriver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                driver.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        driver.start()
        yield driver
    finally:
        try:
            driver.quit()
        finally:
            driver_process.terminate()
            screen.terminate()
            driver_process.wait(10)
            screen.wait(10)


# The page's own clock, from the moment the stop button comes on (the recording has begun) to the
# stop button's click. Timed here instead, the span also held WebDriver's round trips, which took up
# to a second on a busy machine.
PAGE_CLOCK = """
var stop = document.querySelector('.speech-stop');
new MutationObserver(function () {
  if (!stop.disabled && window.heldFrom === undefined) { window.heldFrom = performance.now(); }
}).observe(stop, { attributes: true, attributeFilter: ['disabled'] });
document.addEventListener('click', function (event) {
  if (event.target.closest('.speech-stop') && window.heldTo === undefined) { window.heldTo = performance.now(); }
}, true);
"""


def test_reading_in_webkit_records_as_long_as_the_clock_says(live_app, webkit):
    app, base, accounts = live_app
    webkit.go(f"{base}/login")
    webkit.type("#emp_no", LEARNER)
    webkit.type("#password", accounts[LEARNER])
    webkit.click("#submit")
    webkit.wait("return location.pathname !== '/login'", 10)
    try:
        webkit.go(f"{base}/speech/read/book-service")
        assert webkit.run("return [!!navigator.mediaDevices, typeof AudioWorkletNode, window.isSecureContext]") == [
            True, "function", True]
        webkit.run(PAGE_CLOCK)
        webkit.click(".speech-start")
        webkit.wait("return !document.querySelector('.speech-stop').disabled", 15)  # recording
        time.sleep(4)
        webkit.click(".speech-stop")
        result = webkit.wait("var r = document.querySelector('.speech-result'); "
                             "return r.querySelector('.speech-figures') && r.innerText", 30)
        recorded = float(re.search(r"录音共([\d.]+)秒", result).group(1))
        began, stopped = webkit.run("return [window.heldFrom, window.heldTo]")
        held = (stopped - began) / 1000
        assert held >= 3.9, held  # the page's clock agrees with this one's
        assert abs(recorded - held) <= 0.6, (recorded, held, result)  # read at the rate the samples came at
        assert "再练一次" in webkit.run("return document.querySelector('.speech-status').textContent")
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
            kept = db.session.scalars(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)).all()
            assert len(kept) == 1 and abs(kept[0].total_seconds - recorded) < 0.1
    finally:
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
            db.session.execute(delete(SpeechAttempt).where(SpeechAttempt.user_id == user_id))
            db.session.commit()


def test_leaving_the_page_in_webkit_drops_the_recording(live_app, webkit):
    """Safari's engine, like Chromium's (test_speech_e2e.py): leaving the page mid-recording stops it,
    uploads nothing and says why."""
    app, base, accounts = live_app
    webkit.go(f"{base}/speech/read/book-service")
    if webkit.run("return location.pathname") == "/login":  # this module's browser logs in once
        webkit.type("#emp_no", LEARNER)
        webkit.type("#password", accounts[LEARNER])
        webkit.click("#submit")
        webkit.wait("return location.pathname !== '/login'", 10)
        webkit.go(f"{base}/speech/read/book-service")
    webkit.click(".speech-start")
    webkit.wait("return !document.querySelector('.speech-stop').disabled", 15)
    time.sleep(1)
    webkit.run('Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true }); '
               'document.dispatchEvent(new Event("visibilitychange"));')
    status = webkit.wait("var t = document.querySelector('.speech-status').textContent; "
                         "return t.indexOf('录音被打断了') >= 0 && t", 5)
    assert "这次不算" in status
    assert webkit.run("return [document.querySelector('.speech-start').disabled, "
                      "document.querySelector('.speech-stop').disabled, "
                      "document.querySelector('.speech-result').innerHTML]") == [False, True, ""]
    time.sleep(1)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.emp_no == LEARNER))
        assert db.session.scalar(select(SpeechAttempt).where(SpeechAttempt.user_id == user_id)) is None
