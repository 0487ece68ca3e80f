"""Security and caching headers on every response, and versioned static URLs."""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import cache
from pathlib import Path

import brotli
from flask import Flask, Response, current_app, request, session, url_for
from markupsafe import Markup

# The frame's stylesheet, inlined in the pages a first visit lands on (sign-in,
# errors) so that they paint from their HTML alone, one round trip on a slow link.
# The CSP allows exactly this text by its hash: no 'unsafe-inline'.
_INLINE_CSS_FILE = Path(__file__).parent / "static" / "base.css"
# Our own file, not user input; as it is written between <style> and </style>.
INLINE_CSS = Markup(_INLINE_CSS_FILE.read_text(encoding="utf-8"))  # noqa: S704
INLINE_CSS_HASH = base64.b64encode(hashlib.sha256(INLINE_CSS.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; style-src 'self' 'sha256-{INLINE_CSS_HASH}'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


# Static files never change while the process runs: each is compressed once, at the
# best quality (pages are compressed per request at a cheap quality, see config), and
# kept. On a first visit they are most of the bytes: htmx is 15.3 KB at brotli 11
# against 18.1 KB at 2.
_STATIC_COMPRESSIBLE = ("text/css", "text/javascript", "application/javascript", "image/svg+xml")
_STATIC_MIN_SIZE = 300


@cache
def _compressed_static(path: str, etag: str | None, encoding: str, body: bytes) -> bytes:
    # Keyed by the file's ETag too (its size and time): a file replaced on disk is new.
    if encoding == "br":
        return brotli.compress(body, quality=11)
    return gzip.compress(body, compresslevel=9, mtime=0)


def _compress_static(response: Response) -> None:
    """Answer a static file compressed once and kept (Flask-Compress then leaves it)."""
    if response.status_code != 200 or response.mimetype not in _STATIC_COMPRESSIBLE:
        return
    response.vary.add("Accept-Encoding")
    encoding = request.accept_encodings.best_match(("br", "gzip"))
    body = response.get_data()
    if encoding is None or len(body) < _STATIC_MIN_SIZE:
        return
    etag, _weak = response.get_etag()
    response.set_data(_compressed_static(request.path, etag, encoding, body))
    response.headers["Content-Encoding"] = encoding
    if etag:
        # Each encoding is its own representation: its own ETag, checked here since the
        # file's own check (send_file) saw the other one.
        response.set_etag(f"{etag}-{encoding}")
        response.make_conditional(request)


@cache
def _file_digest(static_folder: str, filename: str) -> str:
    return hashlib.sha256((Path(static_folder) / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """URL of a static file carrying its content hash, so it can be cached for a year."""
    # The objects behind Flask's proxies fetched once: an attribute read through a proxy
    # costs 8,000 instructions (a page asks for 5 to 7 files).
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    script_root = request._get_current_object().script_root  # type: ignore[attr-defined]
    return _asset_url(app.static_folder or "", script_root, filename)


# Every page asks for the same few files: one url_for per file and URL prefix is enough.
@cache
def _asset_url(static_folder: str, script_root: str, filename: str) -> str:
    return url_for("static", filename=filename, v=_file_digest(static_folder, filename))


# (name, value, replace): a header the view set is kept, except those marked replace.
_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY, False),
    ("X-Content-Type-Options", "nosniff", True),
    ("Referrer-Policy", "same-origin", True),
    ("X-Frame-Options", "DENY", False),
    ("Cross-Origin-Opener-Policy", "same-origin", False),
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains", True)
# What the cache_control setters below write on a page that has no Cache-Control yet.
PAGE_CACHE_CONTROL = "no-store, private"


def security_headers(https: bool) -> tuple[tuple[str, str, bool], ...]:
    """The headers every response gets, computed once per app (HSTS behind HTTPS only)."""
    return _SECURITY_HEADERS + ((HSTS,) if https else ())


class _PageHeaders:
    """What a page gets, worked out once: a view that sets none of these headers (nearly
    all) gets them all at once, in the same order as one by one."""

    def __init__(self, wanted: tuple[tuple[str, str, bool], ...]) -> None:
        self.names = frozenset(name.lower() for name, _, _ in wanted) | {"cache-control"}
        self.all = [(name, value) for name, value, _ in wanted] + [
            ("Cache-Control", PAGE_CACHE_CONTROL)
        ]


def _add_headers(response: Response, wanted: tuple[tuple[str, str, bool], ...]) -> None:
    headers = response.headers
    # One pass over the view's headers instead of one search per header set here.
    present = {name.lower() for name, _ in headers}
    for name, value, replace in wanted:
        if name.lower() not in present:
            headers.add(name, value)
        elif replace:
            headers[name] = value
    if request.endpoint == "static":
        if request.args.get("v"):
            response.cache_control.immutable = True
        # Flask-Compress leaves direct-passthrough files alone, and would stream-compress
        # the open file without closing it; ours are small, so read them into the response.
        response.direct_passthrough = False
        response.make_sequence()
        response.close()  # the bytes are in memory now: release the file at once
        _compress_static(response)
    elif "cache-control" in present:
        # Pages show personal data and carry CSRF tokens: never keep them in a cache.
        response.cache_control.no_store = True
        response.cache_control.private = True
    else:
        headers.add("Cache-Control", PAGE_CACHE_CONTROL)


def _static_is_the_same_for_everyone(response: Response) -> Response:
    # Flask-Login's hook reads the session on every response, so Flask would add
    # "Vary: Cookie": a browser would then fetch every file again after signing in,
    # and the page after sign-in would not find them in its cache.
    if request._get_current_object().endpoint == "static":  # type: ignore[attr-defined]
        session.accessed = False
    return response


def init_app(app: Flask) -> None:
    wanted = security_headers(bool(app.config["HTTPS"]))
    page = _PageHeaders(wanted)

    def secure(response: Response) -> Response:
        headers = response.headers
        if page.names.isdisjoint(name.lower() for name, _ in headers) and (
            request._get_current_object().endpoint != "static"  # type: ignore[attr-defined]
        ):
            headers.extend(page.all)
        else:
            _add_headers(response, wanted)
        return response

    # Registered after Flask-Compress, so it runs before it (after_request runs in reverse).
    app.after_request(secure)
    # First in the list, so it runs after every other hook, just before the session is saved.
    app.after_request_funcs.setdefault(None, []).insert(0, _static_is_the_same_for_everyone)
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["inline_css"] = INLINE_CSS
