"""The bare Flask endpoint `bench/http_bench.py` compares the LMS with: one route, a short string."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    """Answer with a short string."""
    return "ok"
