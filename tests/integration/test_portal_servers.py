"""Headers mode on real servers: waitress' trusted_proxy settings, and a real nginx in front.

waitress' ``trusted_proxy`` rewrites REMOTE_ADDR to the forwarded client's
address: the identity headers must still be believed only when the machine
connected to waitress is the portal's proxy. nginx plays the portal's proxy:
an ``auth_request`` to a small test portal authenticates the visitor (by a
test cookie) and the proxy sets the ClearTrust headers from its answer.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import waitress
from sqlalchemy import func, select

from imagin import create_app
from imagin.models import AuthEvent, User
from tests.conftest import csrf_from, database, plain
from tests.integration.test_portal_headers import SECRET, portal_config

NGINX = "/usr/sbin/nginx"
PORTAL_PROXY = "127.0.0.2"  # the address the portal's proxy connects from
CLIENT = "198.51.100.7"  # the staff member's own address, as forwarded


@contextmanager
def served(app, **adjustments) -> Iterator[int]:
    """The app under waitress on a free port of 127.0.0.1, stopped afterwards."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, **adjustments)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.close()
        thread.join(timeout=10)


def get(port: int, path: str, headers: dict[str, str], source: str) -> http.client.HTTPResponse:
    """A request from ``source`` (any 127.x address is this machine's loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


IDENTITY = {
    "ct-remote-user": "jdupont",
    "ctemail": "jeanne.dupont@ac-orleans-tours.fr",
    "ctfn": "Jeanne",
    "ctln": "Dupont",
    "X-Imagin-Portal-Secret": SECRET,
}


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        portal_config(database_url, tmp_path, SSO_TRUSTED_PROXIES=[f"{PORTAL_PROXY}/32"])
    )
    yield app
    app.extensions["imagin.engine"].dispose()


def accounts(app, email: str) -> int:
    with database(app) as db:
        return db.scalar(select(func.count()).select_from(User).where(User.email == email))


def journal(app) -> list[tuple[str, str | None, str | None]]:
    with database(app) as db:
        return [(e.action, e.reason, e.address) for e in db.scalars(select(AuthEvent))]


def test_waitress_trusted_proxy_rewrites_the_client_address_but_the_peer_is_checked(app):
    with served(
        app,
        trusted_proxy=PORTAL_PROXY,
        trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
    ) as port:
        # The portal's proxy forwards for a client: believed, and the journal shows both.
        response = get(port, "/", {**IDENTITY, "X-Forwarded-For": CLIENT}, PORTAL_PROXY)
        assert response.status == 302
        assert response.getheader("Location") == "/missions"
        assert "session=" in response.getheader("Set-Cookie")
        assert accounts(app, IDENTITY["ctemail"]) == 1
        assert journal(app)[-1] == ("sign_in", None, f"{PORTAL_PROXY} → {CLIENT}")

        # Anyone else claiming to come through the proxy: ignored.
        forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
        response = get(port, "/", {**forged, "X-Forwarded-For": PORTAL_PROXY}, "127.0.0.1")
        assert response.getheader("Location") == "/intervenant"
        assert accounts(app, "pirate@example.fr") == 0
        assert journal(app)[-1] == ("refused", "untrusted_address", "127.0.0.1")


def test_waitress_trusting_every_peer_for_forwarded_headers_still_checks_the_real_peer(app):
    """trusted_proxy="*" lets any client choose REMOTE_ADDR: a check on it would be fooled."""
    with served(
        app, trusted_proxy="*", trusted_proxy_count=1, trusted_proxy_headers={"x-forwarded-for"}
    ) as port:
        forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
        response = get(port, "/", {**forged, "X-Forwarded-For": PORTAL_PROXY}, "127.0.0.1")
        assert response.getheader("Location") == "/intervenant"
        assert accounts(app, "pirate@example.fr") == 0
        assert journal(app) == [("refused", "untrusted_address", f"127.0.0.1 → {PORTAL_PROXY}")]


def test_waitress_drops_identity_headers_spelt_with_underscores(app):
    """ct_remote_user and ct-remote-user are one WSGI variable: waitress keeps only the second."""
    with served(app) as port:
        # Sent first: were it kept, it would be the value the app reads.
        smuggled = {"ct_remote_user": "admin", **IDENTITY}
        response = get(port, "/", smuggled, PORTAL_PROXY)
        assert response.getheader("Location") == "/missions"
    with database(app) as db:
        assert db.scalar(select(AuthEvent.subject).where(AuthEvent.action == "sign_in")) == (
            "jdupont"
        )


# --- nginx as the portal's proxy ------------------------------------------------------------

TEST_PORTAL_USERS = {
    "jeton-jeanne": {
        "X-Portal-User": "jdupont",
        "X-Portal-Mail": "jeanne.dupont@ac-orleans-tours.fr",
        "X-Portal-Fn": "Jeanne",
        "X-Portal-Ln": "Dupont",
        "X-Portal-Groups": "ENSEIGNANTS,IMAGIN-DEC2",
        "X-Portal-Rne": "0450782F$UAJ$PU$N$T3$LYC$340",
    },
}

NGINX_CONF = """
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;

  # The portal's door: every request is authenticated by the portal, then forwarded from
  # the address IMAG'IN trusts, with the identity the portal gave and the shared secret.
  server {{
    listen 127.0.0.1:{portal_port};
    location = /_portail {{
      internal;
      proxy_pass http://127.0.0.1:{auth_port}/verifier;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }}
    location / {{
      auth_request /_portail;
      auth_request_set $ct_user $upstream_http_x_portal_user;
      auth_request_set $ct_mail $upstream_http_x_portal_mail;
      auth_request_set $ct_fn $upstream_http_x_portal_fn;
      auth_request_set $ct_ln $upstream_http_x_portal_ln;
      auth_request_set $ct_grps $upstream_http_x_portal_groups;
      auth_request_set $ct_rne $upstream_http_x_portal_rne;
      proxy_bind {portal_proxy};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # Set here, so whatever the client sent under these names is replaced.
      proxy_set_header ct-remote-user $ct_user;
      proxy_set_header ctemail $ct_mail;
      proxy_set_header ctfn $ct_fn;
      proxy_set_header ctln $ct_ln;
      proxy_set_header ctgrps $ct_grps;
      proxy_set_header FrEduRne $ct_rne;
      proxy_set_header FrEduUrlRetour "http://127.0.0.1:{portal_port}/deconnexion-portail";
      proxy_set_header X-Imagin-Portal-Secret "{secret}";
      proxy_pass http://127.0.0.1:{app_port};
    }}
  }}

  # The public door (outside intervenants): forwards whatever the client sends, from an
  # address IMAG'IN does not trust.
  server {{
    listen 127.0.0.1:{public_port};
    location / {{
      proxy_set_header Host $host;
      proxy_pass http://127.0.0.1:{app_port};
    }}
  }}
}}
"""


class _TestPortal(BaseHTTPRequestHandler):
    """The portal's authentication step: a known test cookie is an authenticated user."""

    def do_GET(self):
        cookies = dict(
            part.strip().split("=", 1)
            for part in self.headers.get("Cookie", "").split(";")
            if "=" in part
        )
        user = TEST_PORTAL_USERS.get(cookies.get("portail_test", ""))
        self.send_response(200 if user else 401)
        for name, value in (user or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _nginx(tmp_path: Path, **ports) -> Iterator[dict[str, int]]:
    """Our own nginx on free ports, with its files in a temporary folder."""
    for attempt in range(3):
        conf_ports = {"portal_port": _free_port(), "public_port": _free_port(), **ports}
        (tmp_path / "nginx.conf").write_text(
            NGINX_CONF.format(tmp=tmp_path, portal_proxy=PORTAL_PROXY, secret=SECRET, **conf_ports)
        )
        process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(tmp_path),
                "-c",
                str(tmp_path / "nginx.conf"),
                "-e",
                str(tmp_path / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _listening(process, conf_ports["portal_port"]) and _listening(
            process, conf_ports["public_port"]
        ):
            break
        process.kill()
        process.wait()
        if attempt == 2:
            pytest.fail("nginx did not start: " + (tmp_path / "error.log").read_text())
    try:
        yield conf_ports
    finally:
        process.terminate()
        process.wait(timeout=30)


def _listening(process: subprocess.Popen, port: int) -> bool:
    """Wait until nginx accepts connections on ``port``, or has exited (port taken)."""
    while process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            # Not listening yet: wait for nginx a little, without a busy loop.
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
    return False


@pytest.fixture
def behind_nginx(app, tmp_path):
    if not Path(NGINX).exists():
        pytest.skip(f"nginx not found at {NGINX}: apt-get install -y nginx-light")
    portal = ThreadingHTTPServer(("127.0.0.1", 0), _TestPortal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        # As `imagin serve` runs behind a proxy: waitress believes its X-Forwarded-For.
        with (
            served(
                app,
                trusted_proxy=PORTAL_PROXY,
                trusted_proxy_count=1,
                trusted_proxy_headers={"x-forwarded-for"},
            ) as app_port,
            _nginx(tmp_path, app_port=app_port, auth_port=portal.server_address[1]) as ports,
        ):
            yield ports
    finally:
        portal.shutdown()
        portal.server_close()


def test_through_nginx_the_portal_user_lands_on_his_missions_and_signs_out_to_the_portal(
    app, behind_nginx
):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    browser = requests.Session()
    browser.cookies.set("portail_test", "jeton-jeanne")
    # Gestionnaire of DEC2 through the mapped group: her home is the DEC's queue.
    page = browser.get(base + "/", timeout=30)
    assert page.status_code == 200
    assert page.url == base + "/gestion"
    assert "Jeanne DUPONT" in plain(page.text)

    response = browser.post(
        base + "/deconnexion", data={"csrf_token": csrf_from(page.text)}, allow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["Location"] == base + "/deconnexion-portail"
    actions = [action for action, _, _ in journal(app)]
    assert actions == ["account_created", "rights_changed", "sign_in"]
    assert journal(app)[-1][2] == f"{PORTAL_PROXY} → 127.0.0.1"


def test_through_nginx_headers_sent_by_the_client_are_replaced_by_the_portal(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    browser = requests.Session()
    browser.cookies.set("portail_test", "jeton-jeanne")
    smuggled = {
        "CT-REMOTE-USER": "admin",
        "ctEmail": "admin@example.fr",
        "ct_remote_user": "admin",
        "X-Imagin-Portal-Secret": "guess",
    }
    page = browser.get(base + "/missions", headers=smuggled)
    assert "Jeanne DUPONT" in plain(page.text)
    with database(app) as db:
        subjects = set(db.scalars(select(AuthEvent.subject)))
    assert subjects == {"jdupont"}


def test_through_nginx_nobody_passes_without_the_portal(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['portal_port']}"
    assert requests.get(base + "/missions", headers=IDENTITY, timeout=30).status_code == 401


def test_the_public_door_forwards_forged_headers_and_the_app_ignores_them(app, behind_nginx):
    base = f"http://127.0.0.1:{behind_nginx['public_port']}"
    forged = {**IDENTITY, "ct-remote-user": "pirate", "ctemail": "pirate@example.fr"}
    response = requests.get(base + "/missions", headers=forged, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/intervenant?next=%2Fmissions")
    assert accounts(app, "pirate@example.fr") == 0
    assert journal(app) == [("refused", "untrusted_address", "127.0.0.1")]
    # Outside intervenants sign in there as before.
    page = requests.get(base + "/intervenant", timeout=30)
    assert "Vous êtes intervenant extérieur" in plain(page.text)
