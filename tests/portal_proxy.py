"""The portal's proxy for the tests: our own nginx in front of IMAG'IN served by waitress.

nginx plays the académie portal's reverse proxy: an ``auth_request`` to a small
test portal authenticates the visitor (by a test cookie, ``portail_test``), and
the proxy sets the ClearTrust headers from its answer, with the shared secret,
connecting to IMAG'IN from ``PORTAL_PROXY``. A second, public door forwards
whatever the client sends from another address. Used by the integration and
browser tests; skipped where nginx is missing.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import waitress

from tests.threaded_server import running

NGINX = "/usr/sbin/nginx"
PORTAL_PROXY = "127.0.0.2"  # the address the portal's proxy connects from


@contextmanager
def served(app, **adjustments) -> Iterator[int]:
    """The app under waitress on a free port of 127.0.0.1, stopped afterwards."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4, **adjustments)
    with running(server):
        yield server.effective_port


TEST_PORTAL_USERS = {
    "jeton-claire": {
        "X-Portal-User": "cmartin",
        "X-Portal-Mail": "claire.martin@example.fr",
        "X-Portal-Fn": "Claire",
        "X-Portal-Ln": "Martin",
        "X-Portal-Groups": "ENSEIGNANTS",
        "X-Portal-Rne": "0180777C$UAJ$PU$N$T3$CLG$340",
    },
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
    # The portal's own sign-out page: it forgets the portal's cookie.
    location = /deconnexion-portail {{
      add_header Set-Cookie "portail_test=; Max-Age=0; Path=/";
      default_type text/html;
      charset utf-8;
      return 200 '<!doctype html><html lang="fr"><title>Portail</title>
<h1>Vous êtes déconnecté du portail</h1></html>';
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _nginx(tmp_path: Path, secret: str, **ports) -> Iterator[dict[str, int]]:
    """Our own nginx on free ports, with its files in a temporary folder."""
    for attempt in range(3):
        conf_ports = {"portal_port": free_port(), "public_port": free_port(), **ports}
        (tmp_path / "nginx.conf").write_text(
            NGINX_CONF.format(tmp=tmp_path, portal_proxy=PORTAL_PROXY, secret=secret, **conf_ports)
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


@contextmanager
def portal_in_front(app, folder: Path, secret: str, **ports: int) -> Iterator[dict[str, int]]:
    """IMAG'IN under waitress (trusting the proxy's X-Forwarded-For, as `imagin serve` does
    behind a proxy), the test portal, and nginx in front; yields the doors' ports."""
    if not Path(NGINX).exists():
        pytest.skip(f"nginx not found at {NGINX}: apt-get install -y nginx-light")
    portal = ThreadingHTTPServer(("127.0.0.1", 0), _TestPortal)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    try:
        with (
            served(
                app,
                trusted_proxy=PORTAL_PROXY,
                trusted_proxy_count=1,
                trusted_proxy_headers={"x-forwarded-for"},
            ) as app_port,
            _nginx(
                folder, secret, app_port=app_port, auth_port=portal.server_address[1], **ports
            ) as doors,
        ):
            yield doors
    finally:
        portal.shutdown()
        portal.server_close()
