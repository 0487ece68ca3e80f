"""Headers mode: the académie portal's reverse-proxy agent (RSA ClearTrust) names the user.

Anyone can send a header called ``ct-remote-user``: the identity headers are
believed only when the machine directly connected to IMAG'IN is one of
``SSO_TRUSTED_PROXIES`` (and, when a shared secret is set, when the request
carries it). The check is made on that direct peer, never on an address
taken from ``X-Forwarded-For``: waitress' ``trusted_proxy`` and ProxyFix
(``IMAGIN_PROXY_COUNT``) both put the forwarded client's address in
``REMOTE_ADDR``, so the peer is read from what each of them keeps of the
connection, and when it cannot be established the headers are not believed.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from flask import Request
from werkzeug.datastructures import Headers

from imagin.auth.identities import PortalRefused
from imagin.auth.profile import PortalProfile, from_header, profile_from_attributes, subject_or_none
from imagin.auth.sso import SsoSettings
from imagin.models.identities import HEADERS, HEADERS_ISSUER

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def direct_peer(environ: Mapping[str, Any]) -> IPAddress | None:
    """The address of the machine connected to this server, or None when it cannot be known.

    - waitress: its channel keeps the socket's address, whatever ``trusted_proxy``
      wrote into ``REMOTE_ADDR`` (waitress keeps no copy of the original in the
      environ); the channel is reached through ``waitress.client_disconnected``,
      a method of it. Through a Unix socket the peer has no address: None.
    - ProxyFix keeps the original ``REMOTE_ADDR`` in ``werkzeug.proxy_fix.orig``.
    - Any other server: ``REMOTE_ADDR`` as the server set it.
    """
    if "waitress.client_disconnected" in environ:
        channel = getattr(environ["waitress.client_disconnected"], "__self__", None)
        address = getattr(channel, "addr", None)
        host = address[0] if isinstance(address, tuple) and address else None
    else:
        original = environ.get("werkzeug.proxy_fix.orig")
        host = original.get("REMOTE_ADDR") if original else environ.get("REMOTE_ADDR")
    if not isinstance(host, str):
        return None
    try:
        peer = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    # A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped
    return peer


def untrusted_reason(
    environ: Mapping[str, Any], headers: Headers, settings: SsoSettings
) -> str | None:
    """Why the identity headers of this request must be ignored, or None when they may be used."""
    peer = direct_peer(environ)
    if peer is None or not any(peer in network for network in settings.trusted_proxies):
        return "untrusted_address"
    if settings.shared_secret is not None:
        given = headers.get(settings.shared_secret_header, "")
        if not hmac.compare_digest(given.encode(), settings.shared_secret.encode()):
            return "wrong_secret"
    return None


def has_identity(request: Request, settings: SsoSettings) -> bool:
    """Whether the request carries the login header at all (from anyone)."""
    return bool(request.headers.get(settings.headers["login"], "").strip())


def profile_from_headers(headers: Headers, settings: SsoSettings) -> PortalProfile:
    """The staff member the (trusted) headers name.

    Header names are matched whatever their letter case; several values are
    comma-separated (and a header sent twice arrives joined by a comma).

    :raise PortalRefused: the login is empty, or several values.
    """
    names = settings.headers
    attributes = {key: from_header(headers.get(name)) for key, name in names.items()}
    return profile_from_attributes(
        HEADERS,
        HEADERS_ISSUER,
        subject_from_headers(headers, settings),
        attributes,
        email_verified=True,
    )


def subject_from_headers(headers: Headers, settings: SsoSettings) -> str:
    """The login the (trusted) headers name: all that is read on the requests of a session.

    :raise PortalRefused: the login is empty, or several values.
    """
    subject = subject_or_none(from_header(headers.get(settings.headers["login"])))
    if subject is None:
        raise PortalRefused("bad_subject")
    # Portal logins are not case-sensitive: "JDupont" and "jdupont" are one person.
    return subject.casefold()
