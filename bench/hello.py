"""A hello-world Flask app: the baseline the mission list is compared with."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Answer with a constant short text."""
    return "Hello, World!"
