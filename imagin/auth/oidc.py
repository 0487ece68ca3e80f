"""OpenID Connect mode: the ministry's identity federation, through Authlib.

Authorization code flow with PKCE (S256), ``state`` and ``nonce`` kept in the
signed session cookie; the ID token's signature (the provider's published
keys), issuer, audience (our client id, and ``azp`` when several), expiry and
issue date are checked with ``OIDC_CLOCK_SKEW`` seconds of tolerance; the
profile comes from the ID token and the userinfo endpoint, which must name the
same subject.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request, url_for
from joserfc import errors as joserfc_errors
from werkzeug.wrappers import Response

from imagin.auth.identities import PortalRefused
from imagin.auth.profile import PortalProfile, profile_from_attributes, subject_or_none
from imagin.auth.sso import SsoSettings
from imagin.models.identities import OIDC

log = logging.getLogger(__name__)

CLIENT = "imagin.oidc"


def init_app(app: Flask, settings: SsoSettings) -> None:
    """Register the provider for this application (its metadata and keys are cached per process)."""
    # One registry per application: tests and several apps in one process must not share it.
    oauth = OAuth(app)
    app.extensions[CLIENT] = oauth.register(
        "portail",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.discovery_url,
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "default_timeout": settings.timeout,
        },
    )


def _client():
    return current_app.extensions[CLIENT]


def start() -> Response:
    """Send the browser to the provider (state, nonce and PKCE verifier kept in the session)."""
    try:
        return _client().authorize_redirect(url_for("auth.oidc_callback", _external=True))
    except (requests.RequestException, ValueError, RuntimeError) as error:
        log.warning("OpenID provider unreachable: %s", error)
        raise PortalRefused("unreachable", status=503) from error


def finish(settings: SsoSettings) -> PortalProfile:
    """Check the provider's answer on the callback and return who signed in.

    :raise PortalRefused: for every answer that must not sign anyone in.
    """
    client = _client()
    if not request.args.get("state"):
        raise PortalRefused("state", status=400)
    try:
        metadata = client.load_server_metadata()
        issuer = metadata.get("issuer")
        # RFC 9207: when the provider names itself in the answer, it must be ours (mix-up).
        if request.args.get("iss") not in (None, issuer):
            raise PortalRefused("issuer", status=400)
        token = client.authorize_access_token(
            leeway=settings.clock_skew,
            claims_options={
                "iss": {"essential": True, "values": [issuer]},
                # Authlib checks the audience only when told to: the client id must be in it.
                "aud": {"essential": True, "values": [settings.client_id]},
                "sub": {"essential": True},
            },
        )
        claims = token.get("userinfo")
        if not claims:
            raise PortalRefused("no_id_token")
        claims = dict(claims)
        if metadata.get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if extra.get("sub") != claims.get("sub"):
                raise PortalRefused("userinfo")
            claims = {**extra, **claims}
    except MismatchingStateError as error:
        raise PortalRefused("state", status=400) from error
    except OAuthError as error:
        log.warning("OpenID provider refused: %s %s", error.error, error.description)
        reason = "cancelled" if error.error in ("access_denied", "login_required") else "code"
        raise PortalRefused(reason) from error
    except joserfc_errors.JoseError as error:
        log.warning("ID token refused: %r", error)
        raise PortalRefused(_token_reason(error)) from error
    except (requests.RequestException, ValueError, RuntimeError) as error:
        log.warning("OpenID provider unreachable or answered badly: %s", error)
        raise PortalRefused("unreachable", status=503) from error
    return _profile(claims, issuer, settings)


def _token_reason(error: Exception) -> str:
    """Which check of the ID token failed, in the words of REFUSALS."""
    if isinstance(error, joserfc_errors.ExpiredTokenError):
        return "expired"
    if isinstance(error, joserfc_errors.BadSignatureError | joserfc_errors.InvalidKeyIdError):
        return "signature"
    if isinstance(error, joserfc_errors.ClaimError):
        claims = set(error.claim.split(","))
        for names, reason in (
            ({"aud", "azp"}, "audience"),
            ({"iss"}, "issuer"),
            ({"nonce"}, "nonce"),
            ({"iat", "nbf"}, "not_yet_valid"),
        ):
            if claims & names:
                return reason
    return "token"


def _profile(claims: dict[str, Any], issuer: str, settings: SsoSettings) -> PortalProfile:
    subject = subject_or_none(claims.get("sub"))
    if subject is None:
        raise PortalRefused("bad_subject")
    attributes = {key: claims.get(name) for key, name in settings.claims.items()}
    # Providers that do not say whether they verified the address are trusted with it.
    verified = claims.get("email_verified", True) not in (False, "false")
    return profile_from_attributes(OIDC, issuer, subject, attributes, email_verified=verified)


def end_session_url(post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session address for this client, or None when it has none."""
    client = _client()
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
        return client.create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri, client_id=client.client_id
        )["url"]
    except (requests.RequestException, ValueError, RuntimeError) as error:
        log.warning("OpenID provider unreachable at sign-out: %s", error)
        return None
