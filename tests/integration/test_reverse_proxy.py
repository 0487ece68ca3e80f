"""Behind a real nginx (issue 11, item 10): each visitor is counted on their own, and
links are https when nginx says the visitor came by https.

nginx runs the site of deploy/nginx/imagin.conf in front of one `imagin serve`
process (IMAGIN_PROXY_COUNT=1). Visitors connect to nginx from different
loopback addresses (127.0.0.2, 127.0.0.3…), as people from different places
would. Before the fix, waitress dropped the X-Forwarded-* headers of the
proxy it had not been told to trust, so every visitor had nginx's address:
50 wrong passwords from one visitor blocked sign-in for everybody, and the app
believed every request came by plain http (so the https-only checks were off).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from imagin.demo import DEMO_PASSWORD
from imagin.models import OutgoingMail
from tests.browserless import Visitor
from tests.conftest import CLAIRE, GESTIONNAIRE, database
from tests.integration.test_manage import claire_validates_621
from tests.services import (
    AppServer,
    NginxServer,
    free_port,
    imagin_environment,
    imagin_servers,
    nginx,
)


@dataclass
class Site:
    proxy: NginxServer
    app: AppServer

    @property
    def https_port(self) -> int:
        return self.proxy.https_port


@pytest.fixture
def behind_nginx(app, database_url, tmp_path):
    """nginx (TLS) → one `imagin serve` trusting it, on the test database."""
    port = free_port()
    env = imagin_environment(
        database_url,
        tmp_path,
        PROXY_COUNT=1,
        TRUSTED_PROXY="127.0.0.1",
        HTTPS=True,
        PUBLIC_URL=f"https://localhost:{port}",
        REQUEST_LOG=False,
    )
    with (
        imagin_servers(1, env, tmp_path / "app") as [server],
        nginx(tmp_path / "nginx", [server.address], https_port=port) as proxy,
    ):
        yield Site(proxy, server)


def visitor(site: Site, source: str) -> Visitor:
    proxy = site.proxy
    return Visitor(proxy.url, source=source, cafile=str(proxy.folder / "cert.pem"))


def test_fifty_wrong_passwords_from_one_visitor_do_not_block_another(behind_nginx):
    intruder = visitor(behind_nginx, "127.0.0.2")
    token = intruder.token()
    for attempt in range(50):
        answer = intruder.post(
            "/intervenant",
            {"csrf_token": token, "email": f"essai{attempt}@example.fr", "password": "mauvais"},
            # A forged header does not make the intruder someone else: nginx replaces it.
            **({"X-Forwarded-For": f"198.51.100.{attempt}"} if attempt % 2 else {}),
        )
        assert answer.status == 422, (attempt, answer.status)
    blocked = intruder.post(
        "/intervenant", {"csrf_token": token, "email": CLAIRE, "password": DEMO_PASSWORD}
    )
    assert blocked.status == 429

    # Someone else, elsewhere, signs in at once.
    claire = visitor(behind_nginx, "127.0.0.3")
    answer = claire.sign_in(CLAIRE, DEMO_PASSWORD)
    assert answer.status == 303, answer.text[:500]
    assert answer.header("Location").endswith("/missions")
    assert claire.get("/missions").status == 200


def test_the_app_knows_the_visitor_came_by_https(behind_nginx, app):
    claire_validates_621(app)
    manager = visitor(behind_nginx, "127.0.0.4")
    assert manager.sign_in(GESTIONNAIRE, DEMO_PASSWORD).status == 303
    html = manager.get("/gestion/missions/621").text
    version = re.search(r'name="(?:\w+-)?version" type="hidden" value="(\d+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    send_back = {"csrf_token": token, "pay-version": version, "pay-reason": "Horaires à vérifier."}
    # Over https the CSRF check also wants the posting page to be ours: a form
    # posted from another site is refused. The app only applies that check when it
    # knows the request came by https, i.e. when it trusts nginx's X-Forwarded-Proto.
    forged = manager.post(
        "/gestion/missions/621/remuneration/renvoyer",
        send_back,
        Referer="https://evil.example/page",
    )
    assert forged.status == 400, forged.status
    answer = manager.post("/gestion/missions/621/remuneration/renvoyer", send_back)
    assert answer.status == 303, answer.text[:500]
    with database(app) as db:
        body = db.scalar(select(OutgoingMail.body).order_by(OutgoingMail.id.desc()))
    # Links in e-mails come from PUBLIC_URL (the site's https address), never from the request.
    assert f"https://localhost:{behind_nginx.https_port}/missions/621/suivi" in body
    assert "http://" not in body
    # The session cookie is Secure, as it must be over https.
    assert "Secure" in (manager.get("/intervenant").header("Set-Cookie") or "Secure")


def test_nginx_serves_static_files_itself_and_answers_its_own_errors_in_french(behind_nginx):
    browser = visitor(behind_nginx, "127.0.0.5")
    page = browser.get("/intervenant").text
    css = re.search(r'href="(/static/base\.css\?v=[0-9a-f]+)"', page).group(1)
    static = browser.get(css)
    assert static.status == 200 and b"#000091" in static.body
    assert static.header("Cache-Control") == "public, max-age=31536000, immutable"
    # nginx answered it, not the app (which would add its request id).
    assert static.header("X-Request-Id") is None

    # Far above what the app takes: nginx refuses it, in French, before the app sees it.
    token = browser.token()
    huge = browser.request(
        "POST",
        "/missions/621/pieces",
        b"x" * (49 * 1024 * 1024),
        {"Content-Type": "application/octet-stream", "X-CSRFToken": token},
    )
    assert huge.status == 413
    assert "Envoi trop volumineux" in huge.text and 'lang="fr"' in huge.text

    # No app process answers: nginx's own French page, and the static files still load.
    behind_nginx.app.stop()
    down = browser.get("/intervenant")
    assert down.status == 502
    assert "Service momentanément indisponible" in down.text
    assert browser.get(css).status == 200


def test_the_app_sees_the_visitor_and_the_direct_peer_stays_known(database_url, tmp_path):
    """What waitress does with the proxy's headers under `imagin serve`'s settings."""
    import threading

    from flask import request
    from waitress import wasyncore

    from imagin import create_app
    from imagin.auth.portal_headers import direct_peer
    from imagin.cli import create_server
    from tests.conftest import base_config

    app = create_app(base_config(database_url, tmp_path) | {"PROXY_COUNT": 1})

    @app.get("/qui")
    def who():
        return f"{request.remote_addr} {direct_peer(request.environ)} {request.scheme}"

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    stopping = threading.Event()

    def serve() -> None:
        # server.run(), in steps, so that the server is closed by the thread that runs it.
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        # The listening socket and every connection still open.
        wasyncore.close_all(server._map)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        forwarded = {"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Proto": "https"}
        # From the trusted proxy (127.0.0.1): the visitor, and the proxy as the peer.
        assert Visitor(base).get("/qui", **forwarded).text == "192.0.2.7 127.0.0.1 https"
        # From anyone else: the headers are dropped.
        assert Visitor(base, source="127.0.0.8").get("/qui", **forwarded).text == (
            "127.0.0.8 127.0.0.8 http"
        )
    finally:
        stopping.set()
        thread.join(10)
        app.extensions["imagin.engine"].dispose()


def test_nginx_answers_504_in_french_when_no_process_answers_in_time(tmp_path):
    # A process that accepts the connection and never answers (read timeout 2 s here).
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)
    address = f"127.0.0.1:{hanging.getsockname()[1]}"
    try:
        with nginx(tmp_path / "nginx", [address], read_timeout="2s") as proxy:
            browser = Visitor(proxy.url, cafile=str(proxy.folder / "cert.pem"))
            answer = browser.get("/missions")
    finally:
        hanging.close()
    assert answer.status == 504
    assert "Le service met trop de temps à répondre" in answer.text
