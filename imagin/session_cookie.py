"""Flask's signed session cookie, with what verifying it needs built once per process.

Flask builds a new serializer for every request, which derives the signing key from
the secret (one HMAC) and keys a new HMAC before checking the cookie's signature. The
cookie, its format and its checks are Flask's own; only this work is done once per
secret key (SECRET_KEY and its fallbacks) instead of once per request.

A browser sends the same cookie with each request until the session changes: a cookie
already verified is not verified again while its signature time is within the session
lifetime (the same bytes always verify the same way under the same keys). Only
sessions of plain values (strings, numbers) are kept, so that each request gets its
own copy to change; a session with lists (flashed messages) is read every time. The
parsed ``Cookie`` header is kept too (it is immutable): the same header is not parsed
again.

Saving a session that did not change (most requests) only adds ``Vary: Cookie``, as
Flask does, without reading the cookie settings and parsing ``Vary`` again.
"""

from __future__ import annotations

import hmac
import re
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.signer import HMACAlgorithm
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.sansio.http import parse_cookie

# Verified cookies kept per process; the cache is emptied when it grows past this.
MAX_VERIFIED = 10_000
_SCALARS = (str, int, float, bool, type(None))
# Parsed Cookie headers kept per process; emptied when it grows past this.
MAX_COOKIE_HEADERS = 10_000
# A Vary value as werkzeug writes it: tokens joined by ", ", read back unchanged.
_TOKEN_LIST = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+(?:, [-!#$%&'*+.^_`|~0-9A-Za-z]+)*")


def vary_on(response: Response, name: str) -> None:
    """``response.vary.add(name)``, without parsing a Vary header werkzeug wrote itself."""
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = name
    elif _TOKEN_LIST.fullmatch(vary):
        if name.lower() not in vary.lower().split(", "):
            response.headers["Vary"] = f"{vary}, {name}"
    else:
        response.vary.add(name)


class _KeyedHMAC(HMACAlgorithm):
    """HMAC signatures from a copy of an HMAC already keyed (the key is fixed per signer)."""

    def __init__(self, digest_method: Any) -> None:
        super().__init__(digest_method)
        self._keyed: dict[bytes, Any] = {}

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        keyed = self._keyed.get(key)
        if keyed is None:
            keyed = self._keyed[key] = hmac.new(key, digestmod=self.digest_method)
        mac = keyed.copy()
        mac.update(value)
        return mac.digest()


class _Signer(TimestampSigner):
    """Flask's timestamp signer, deriving each secret's signing key once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        source = self.secret_keys[-1] if secret_key is None else secret_key
        key = bytes(source, "utf-8") if isinstance(source, str) else source
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(secret_key)
        return derived


class _Serializer(URLSafeTimedSerializer):
    """A serializer that keeps its signer per salt (signers hold no per-message state)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[Any, Signer] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer


class SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session; its serializer is built once per secret key."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}
        # (serializer, cookie) -> (session data, signed at, in seconds since the epoch)
        self._verified: dict[tuple, tuple[dict, float]] = {}
        # Cookie header -> its cookies (immutable, so shared by the requests sending it)
        self._cookie_headers: dict[str, ImmutableMultiDict] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = self._cookies(request).get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        key = (id(serializer), cookie)
        kept = self._verified.get(key)
        if kept is not None and 0 <= time.time() - kept[1] <= max_age:
            return self.session_class(kept[0])  # a copy: plain values only
        try:
            data, signed_at = serializer.loads(cookie, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(isinstance(value, _SCALARS) for value in data.values()):
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()
            self._verified[key] = (dict(data), signed_at.timestamp())
        return self.session_class(data)

    def _cookies(self, request: Request) -> ImmutableMultiDict:
        """``request.cookies``, parsed once per distinct Cookie header."""
        if "cookies" in request.__dict__:  # already read
            return request.cookies
        # What werkzeug parses: the Cookie headers joined, which WSGI gives as one value.
        header = request.environ.get("HTTP_COOKIE", "")
        cookies = self._cookie_headers.get(header)
        if cookies is None:
            cookies = parse_cookie(header, cls=request.dict_storage_class)
            if len(self._cookie_headers) >= MAX_COOKIE_HEADERS:
                self._cookie_headers.clear()
            self._cookie_headers[header] = cookies
        request.cookies = cookies  # werkzeug's cached_property stores it on the request
        return cookies

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if session.modified or (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            super().save_session(app, session, response)
        elif session.accessed:
            # What Flask does for a session it neither sets nor deletes.
            vary_on(response, "Cookie")

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config["SECRET_KEY_FALLBACKS"] or ())
        cache_key = (app.secret_key, fallbacks)
        serializer = self._serializers.get(cache_key)
        if serializer is None:
            # Flask's own settings (salt, JSON tags, key derivation, digest).
            serializer = _Serializer(
                [*fallbacks, app.secret_key],  # itsdangerous expects the current key last
                salt=self.salt,
                serializer=self.serializer,
                signer=_Signer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                    "algorithm": _KeyedHMAC(self.digest_method),
                },
            )
            self._serializers[cache_key] = serializer
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
