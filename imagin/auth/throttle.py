"""Throttling of failed sign-ins and of password-link requests, with the `limits` storage.

Failed sign-ins are counted three ways, so that a stranger can slow an account down but
never lock its owner out:
- per (account, address), strictly: whoever guesses from one address stops after 5;
- per address, loosely: a whole DEC office can sit behind one address;
- per account across all addresses, only at a rate no person types (100 an hour), so a
  guesser spread over many addresses is bounded while the owner, whose own
  (account, address) count is clean, still gets in until that rate is reached.
Only failures are counted; windows slide, so nothing is locked for good. The counters
live in IMAGIN_RATELIMIT_STORAGE_URI (memory by default, Redis for several processes).
"""

from __future__ import annotations

import math
import time

from flask import current_app, request
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

from imagin.extensions import rate_limits


def _address() -> str:
    return request.remote_addr or "unknown"


def _login_limits(email: str) -> list[tuple[RateLimitItem, ...]]:
    """Each limit with the keys it counts under."""
    account = email.strip().casefold()
    address = _address()
    config = current_app.config
    return [
        (parse(config["LOGIN_ACCOUNT_ADDRESS_LIMIT"]), "login-account-address", account, address),
        (parse(config["LOGIN_IP_LIMIT"]), "login-ip", address),
        (parse(config["LOGIN_ACCOUNT_LIMIT"]), "login-account", account),
    ]


def retry_after(email: str) -> int | None:
    """Seconds to wait before signing in to this account from this address; None: go ahead."""
    limiter = rate_limits.limiter()
    waits = []
    for item, *keys in _login_limits(email):
        if not limiter.test(item, *keys):
            stats = limiter.get_window_stats(item, *keys)
            waits.append(max(1, math.ceil(stats.reset_time - time.time())))
    return max(waits) if waits else None


def refuse_sign_in(email: str) -> None:
    """Stop here with 429 and Retry-After when this sign-in is throttled."""
    wait = retry_after(email)
    if wait is not None:
        raise TooManyRequests(retry_after=wait)


def record_failure(email: str) -> None:
    limiter = rate_limits.limiter()
    for item, *keys in _login_limits(email):
        limiter.hit(item, *keys)


def password_link_allowed(email: str) -> bool:
    """Count a request for a password link; False once the address or the sender asked too often.

    Every request counts (not only failures): each one may send an e-mail.
    """
    config = current_app.config
    limiter = rate_limits.limiter()
    limits = [
        (parse(config["ACCOUNT_LINK_EMAIL_LIMIT"]), "password-link-email", email.casefold()),
        (parse(config["ACCOUNT_LINK_IP_LIMIT"]), "password-link-ip", _address()),
    ]
    return all([limiter.hit(item, scope, key) for item, scope, key in limits])
