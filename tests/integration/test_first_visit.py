"""One round trip on a slow link (issue 14, item 5): the pages a first visit lands on.

The sign-in pages and the error pages paint from their HTML alone: the frame's
stylesheet is inline, allowed by its hash in the CSP (never 'unsafe-inline'), and
nothing in their head blocks rendering. The shared files are fetched meanwhile
(prefetch), so the page after sign-in finds them in the cache.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "imagin" / "static"
FIRST_VISIT_PAGES = [
    "/intervenant",
    "/intervenant/mot-de-passe",
    "/intervenant/mot-de-passe/jeton-inconnu",
    "/nope",
]


def head_of(html: str) -> str:
    return html.split("</head>", 1)[0]


def inline_styles(html: str) -> list[str]:
    return re.findall(r"<style>(.*?)</style>", html, flags=re.S)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("url", FIRST_VISIT_PAGES)
def test_a_first_visit_page_carries_its_stylesheet_allowed_by_its_hash(client, url):
    response = client.get(url)
    html = response.get_data(as_text=True)
    (style,) = inline_styles(html)
    # The frame's stylesheet, whole and byte for byte (one home: static/base.css).
    assert style == (STATIC / "base.css").read_text(encoding="utf-8")
    csp = response.headers["Content-Security-Policy"]
    style_src = re.search(r"style-src ([^;]+)", csp).group(1).split()
    assert style_src == ["'self'", sha256(style)]
    assert "unsafe-inline" not in csp
    assert "script-src" not in csp  # scripts stay on default-src 'self': files only


@pytest.mark.parametrize("url", FIRST_VISIT_PAGES)
def test_nothing_in_the_head_of_a_first_visit_page_blocks_rendering(client, url):
    head = head_of(client.get(url).get_data(as_text=True))
    assert not re.search(r'<link[^>]*rel="stylesheet"', head)
    scripts = re.findall(r"<script[^>]*>", head)
    assert scripts, "htmx and app.js still come, deferred"
    assert all(" defer" in tag for tag in scripts), scripts
    # The shared stylesheets are fetched in the background for the next page.
    for name in ("base.css", "app.css"):
        assert re.search(rf'<link rel="prefetch" href="/static/{name}\?v=\w+" as="style">', head)


def test_the_other_pages_link_the_shared_stylesheets_and_inline_nothing(signed_in):
    for url in ("/missions", "/missions/621", "/profil"):
        html = signed_in.get(url).get_data(as_text=True)
        assert inline_styles(html) == [], url
        head = head_of(html)
        links = re.findall(r'<link rel="stylesheet" href="/static/(\w+)\.css\?v=\w+">', head)
        assert links == ["base", "app"], url


def test_a_changed_stylesheet_is_no_longer_allowed_by_the_old_hash(client):
    """The hash is of the exact text: a style injected into the page would not apply."""
    csp = client.get("/intervenant").headers["Content-Security-Policy"]
    style = (STATIC / "base.css").read_text(encoding="utf-8")
    assert sha256(style) in csp
    assert sha256(style + "body{display:none}") not in csp


def test_the_static_files_do_not_vary_with_the_session_cookie(signed_in):
    """Else the browser fetches them again once signed in (a new cookie): no cache hit."""
    html = signed_in.get("/missions").get_data(as_text=True)
    for path in re.findall(r'(?:href|src)="(/static/[^"]+)"', head_of(html)):
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert "cookie" not in response.headers.get("Vary", "").lower(), path
        assert "immutable" in response.headers["Cache-Control"], path
    # Pages do vary with it (and are never stored anyway).
    assert "Cookie" in signed_in.get("/missions").headers["Vary"]


@pytest.mark.parametrize("accept", ["br, gzip", "gzip", "identity"])
def test_static_files_come_compressed_at_their_best_and_decode_to_the_file(client, accept):
    """Compressed once at brotli 11 / gzip 9 (most of a first visit's bytes), then kept."""
    import gzip

    import brotli

    static = Path(__file__).parents[2] / "imagin" / "static"
    html = client.get("/intervenant").get_data(as_text=True)
    paths = re.findall(r'(?:href|src)="(/static/(?:app|htmx)[^"?]+)\?v=[^"]+"', html)
    assert len(paths) >= 2, paths
    for path in paths:
        file = (static / path.removeprefix("/static/")).read_bytes()
        response = client.get(path, headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        encoding = response.headers.get("Content-Encoding")
        body = response.get_data()
        assert int(response.headers["Content-Length"]) == len(body)
        assert "Accept-Encoding" in response.headers["Vary"]
        if accept == "identity":
            assert encoding is None and body == file
        elif accept == "gzip":
            assert encoding == "gzip" and gzip.decompress(body) == file
            assert len(body) <= len(gzip.compress(file, compresslevel=9)) + 20
        else:
            assert encoding == "br" and brotli.decompress(body) == file
            assert len(body) == len(brotli.compress(file, quality=11))
        # Each encoding is its own representation for caches and conditional requests.
        again = client.get(
            path, headers={"Accept-Encoding": accept, "If-None-Match": response.headers["ETag"]}
        )
        assert again.status_code == 304
