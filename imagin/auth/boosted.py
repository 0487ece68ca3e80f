"""The sign-in in one round trip: a boosted form's redirect is followed here, not by the browser.

Without JavaScript, the sign-in form's POST answers 303 and the browser then GETs the
list: two round trips (≈ 4.2 s on "Slow 3G", bench/slow3g.py). With JavaScript, htmx
submits the form (``hx-boost``, header ``HX-Boosted``); when the application answers
such a POST with a 303 to a page of this site, this middleware asks the application
for that page itself, as the browser would have (GET, the cookies just set, the same
headers), and sends it in the POST's answer with ``HX-Push-Url``: htmx swaps it in and
puts its address in the address bar (refresh and Back then GET it, never re-POST).

The page is the application's own answer to that GET, through every hook (the session
checked in the database, security headers, compression): no page is rendered twice in
two ways. Anything else than a 200 HTML page (a redirect, an error, a file) goes
to the browser as ``HX-Redirect``: it loads the address itself, as without JavaScript.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote_to_bytes, urlsplit

# Request headers of the POST that the GET of the page does not carry (WSGI names):
# htmx's, which would make the page a fragment, and the form's body.
NOT_FORWARDED = {"HTTP_ORIGIN", "CONTENT_TYPE", "CONTENT_LENGTH"}
# What a WSGI environ holds besides the HTTP headers, kept for the GET.
KEPT = {
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SCRIPT_NAME",
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "wsgi.version",
    "wsgi.url_scheme",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
}

# The headers of a 303 that describe it, not the empty answer that replaces it.
BODY = {"location", "content-length", "content-type", "content-encoding"}

Headers = list[tuple[str, str]]
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class FollowBoostedRedirect:
    """WSGI middleware: a boosted POST answered 303 gets the page it leads to instead."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("HTTP_HX_BOOSTED") != "true"
            or environ.get("HTTP_HX_REQUEST") != "true"
        ):
            return self.app(environ, start_response)
        status, headers, body = _answer(self.app, environ)
        path = _local_path(_header(headers, "Location"), environ.get("SCRIPT_NAME", ""))
        if not status.startswith("303 ") or path is None:
            start_response(status, headers)
            return [body]
        location = _header(headers, "Location")
        set_cookies = [value for name, value in headers if name.lower() == "set-cookie"]
        page_environ = _get_environ(environ, path, set_cookies)
        page_status, page_headers, page_body = _answer(self.app, page_environ)
        if not page_status.startswith("200 ") or not (
            _header(page_headers, "Content-Type") or ""
        ).startswith("text/html"):
            # Not a page to swap in: the browser goes there itself (a second round trip).
            # The redirect's headers (its cookies, the security headers) stay; htmx only
            # sees the answer if it is not a redirect, which XMLHttpRequest would follow.
            kept = [(name, value) for name, value in headers if name.lower() not in BODY]
            start_response("200 OK", [*kept, ("HX-Redirect", location), ("Content-Length", "0")])
            return [b""]
        start_response(
            page_status, [*_with_cookies(page_headers, set_cookies), ("HX-Push-Url", location)]
        )
        return [page_body]


def _answer(app: WSGIApp, environ: dict) -> tuple[str, Headers, bytes]:
    """The application's whole answer to ``environ``: status, headers, body."""
    started: list = []

    def start_response(status, headers, exc_info=None):
        started[:] = [status, list(headers)]
        return lambda data: None  # the write() callable: unused by Flask

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


def _header(headers: Headers, name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def _with_cookies(page_headers: Headers, set_cookies: list[str]) -> Headers:
    """The page's headers with the POST's cookies, but for those the page sets again (the
    session, now with its CSRF token): the browser gets each cookie once, the latest."""
    names = {_cookie_name(value) for name, value in page_headers if name.lower() == "set-cookie"}
    kept = [("Set-Cookie", value) for value in set_cookies if _cookie_name(value) not in names]
    return kept + page_headers


def _cookie_name(set_cookie: str) -> str:
    return set_cookie.partition("=")[0].strip()


def _local_path(location: str | None, script_name: str) -> str | None:
    """The path inside this application that ``location`` names, or None when elsewhere."""
    if not location:
        return None
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not parts.path.startswith(script_name + "/"):
        return None
    return location[len(script_name) :]


def _get_environ(post: dict, path: str, set_cookies: list[str]) -> dict:
    """The GET the browser would send for ``path`` after the POST ``post`` and its cookies."""
    parts = urlsplit(path)
    environ = {key: value for key, value in post.items() if key in KEPT}
    for key, value in post.items():
        if key.startswith("HTTP_") and not key.startswith("HTTP_HX_") and key not in NOT_FORWARDED:
            environ[key] = value
    environ.update(
        {
            "REQUEST_METHOD": "GET",
            # As a WSGI server gives it: percent-decoded, the bytes as latin-1 (PEP 3333).
            "PATH_INFO": unquote_to_bytes(parts.path).decode("latin-1"),
            "QUERY_STRING": parts.query,
            "wsgi.input": io.BytesIO(),
        }
    )
    cookie = _cookies_after(post.get("HTTP_COOKIE", ""), set_cookies)
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    else:
        environ.pop("HTTP_COOKIE", None)
    return environ


def _cookies_after(cookie_header: str, set_cookies: list[str]) -> str:
    """The ``Cookie`` header after the browser applied ``set_cookies`` (set or deleted)."""
    pairs = {}
    for pair in cookie_header.split(";"):
        name, _, value = pair.strip().partition("=")
        if name:
            pairs[name] = value
    for header in set_cookies:
        jar = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                pairs.pop(name, None)
            else:
                pairs[name] = morsel.coded_value
    return "; ".join(f"{name}={value}" for name, value in pairs.items())
