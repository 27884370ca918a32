"""Browser journeys: the real app on a local port, driven by Playwright in Debian's Chromium.

Skipped, with the reason, where Chromium or Playwright is missing. Screenshots go to
test-artifacts/e2e/.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lms.extensions import db
from tests.conftest import make_app

pytestmark = pytest.mark.no_db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    # One server serves every journey, and the journeys log the same 工号 in from the same address
    # far more often than a person would: the log-in limits (tested in tests/web/test_auth.py) are
    # raised here so that a fast run does not trip them halfway through a journey.
    app = make_app(tmp, DATABASE_URL=f"sqlite:///{tmp / 'e2e.sqlite3'}", TESTING=False,
                   RATELIMIT_STORAGE_URI="memory://", LOGIN_RATE_LIMIT="1000 per minute",
                   LOGIN_RATE_LIMIT_PER_ADDRESS="1000 per minute")
    result = app.test_cli_runner().invoke(args=["lms", "init"])
    assert result.exit_code == 0, result.output
    accounts = {}
    for line in (Path(app.instance_path) / "demo-accounts.txt").read_text(encoding="utf-8").splitlines():
        if "\t" in line and not line.startswith(("#", "工号")):
            emp_no, password, *_ = line.split("\t")
            accounts[emp_no] = password
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", accounts
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shoot(request):
    """Save a screenshot as a test artefact: shoot(page, 'name')."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def log_in(browser, base: str, emp_no: str, password: str, width=375, height=812, script: str | None = None):
    """A new page logged in as this person; `script` runs first in every page of its context."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    if script:
        context.add_init_script(script)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#emp_no", emp_no)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_load_state()
    return page
