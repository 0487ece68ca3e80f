"""Throttling of failed sign-ins, per account and (more loosely) per address.

Only failures are counted, so a DEC office behind one address is not blocked
by its own successful sign-ins; windows slide, so nothing is locked for good.
"""

from __future__ import annotations

from flask import current_app, request
from limits import parse

from imagin.extensions import limiter


def _limits() -> list[tuple[object, str, str]]:
    email = request.form.get("email", "").strip().casefold()
    address = request.remote_addr or "unknown"
    config = current_app.config
    return [
        (parse(config["LOGIN_ACCOUNT_LIMIT"]), "login-account", email),
        (parse(config["LOGIN_IP_LIMIT"]), "login-ip", address),
    ]


def is_throttled() -> bool:
    return any(not limiter.limiter.test(item, scope, key) for item, scope, key in _limits())


def record_failure() -> None:
    for item, scope, key in _limits():
        limiter.limiter.hit(item, scope, key)


def password_link_allowed(email: str) -> bool:
    """Count a request for a password link; False once the address or the sender asked too often.

    Every request counts (not only failures): each one may send an e-mail.
    """
    config = current_app.config
    limits = [
        (parse(config["ACCOUNT_LINK_EMAIL_LIMIT"]), "password-link-email", email.casefold()),
        (parse(config["ACCOUNT_LINK_IP_LIMIT"]), "password-link-ip", request.remote_addr or "-"),
    ]
    return all([limiter.limiter.hit(item, scope, key) for item, scope, key in limits])
