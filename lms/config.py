"""Default configuration; `instance/config.py` and `LMS_*` environment variables override it.

Order of precedence (lowest first): these defaults, `instance/config.py`, `LMS_<KEY>`
environment variables (values parsed as JSON where possible), then the `test_config` mapping
passed to `create_app`.
"""

from __future__ import annotations

from pathlib import Path

from . import rings

# Database: None means the embedded SQLite file instance/lms.sqlite3.
DATABASE_URL: str | None = None

# Secret key: None means "read instance/secret_key" (written by `lms init`).
SECRET_KEY: str | None = None

# Where course content lives; relative paths are taken from the project root.
CONTENT_DIR = "courses"
SIMULATIONS_DIR = "simulations"

# Password hashing (werkzeug method string); tests use a cheap one. Every log-in try costs this
# method's time (lms/accounts/passwords.py), and a hash made otherwise is remade at log-in.
PASSWORD_HASH_METHOD = "scrypt"

# Log-in attempts (Flask-Limiter syntax): per client address and 工号, and per address in all
# (a shared store PC or a proxy address serves many people).
LOGIN_RATE_LIMIT = "10 per minute"
LOGIN_RATE_LIMIT_PER_ADDRESS = "60 per minute"
# Behind a reverse proxy: how many proxies set X-Forwarded-For (0: trust none).
PROXY_HOPS = 0
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True

# Uploads (roster import): 5 MiB at most, and at most this many data rows.
MAX_CONTENT_LENGTH = 5 * 1024 * 1024
ROSTER_MAX_ROWS = 5000

# Cookies: never readable from JavaScript, not sent on cross-site requests.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_DURATION = 7 * 24 * 3600  # 「保持登录」 lasts a week
# Set LMS_SESSION_COOKIE_SECURE=true behind HTTPS; a PUBLIC_URL on https turns it on by itself
# (and REMEMBER_COOKIE_SECURE with it).
SESSION_COOKIE_SECURE = False

# The address people reach the app at, e.g. "https://lms.example.com" (with a path if it is served
# under one). Every absolute link is built from it (lms/urls.py): the certificate's QR code and
# verification link, xAPI ids, the links in e-mails. Never from the request's Host header, which a
# client chooses. Required in production (pages answer 503 without it); in tests, in debug mode and
# on the development server of `make run` it defaults to urls.DEVELOPMENT_URL.
PUBLIC_URL: str | None = None

# Store group robots (WeCom/DingTalk webhooks): the admin may only enter https addresses of the
# known robot hosts (lms/accounts/webhooks.py). An operator can allow more origins here — never
# from the admin pages —, e.g. ["https://robot-relay.example.com", "http://10.0.0.5:8080"].
WEBHOOK_EXTRA_ORIGINS: list[str] = []

# Spoken practice (口语练习, lms/speech/): the organisation's settings.
# Target pace in 字/分 over voiced time: the rulebook asks for 「每分钟应保持在150个字左右」
# (第一章 四、沟通规范 4、声音规范); other carriers' store rules use about 120.
SPEECH_RATE_BAND = [120, 160]
# Keep the uploaded recordings (WAV) after measuring; off: only the figures are kept.
SPEECH_KEEP_AUDIO = False
# The longest recording accepted, in seconds (16 kHz 16-bit mono: 32 KB a second, under MAX_CONTENT_LENGTH).
SPEECH_MAX_SECONDS = 150
# The phone's ring (三声内接听, lms/rings.py): seconds on and off (China: 1 s on, 4 s off), used by the
# phone drill, by role-play's `rings` condition and by the run page's ring count. The limit of three
# rings is the rulebook's (第一章 三、5 电话礼仪 and 六、(一) 2 b): 「电话铃响三声内，接听电话」), not a setting.
RING_CADENCE = list(rings.CADENCE)

# Times are stored in UTC and shown in Asia/Shanghai (lms/clock.py, LOCAL_TZ): one zone for the company.

WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
WTF_I18N_ENABLED = False  # WTForms messages come from its own zh catalogue (see lms/forms.py)

PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
