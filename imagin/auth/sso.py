"""Settings of the sign-in through the académie portal, read and checked once at start-up.

``SSO_MODE`` is ``off`` (only e-mail and password), ``headers`` (the portal's
reverse-proxy agent hands the identity in request headers) or ``oidc`` (the
ministry's identity federation over OpenID Connect). A wrong setting stops the
application at start-up with a message naming it, rather than letting anyone in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MODES = ("off", "headers", "oidc")

# What the portal tells about a person, under the names IMAG'IN gives it, with the
# names the RSA ClearTrust agent of the académie portals uses (letter case does not matter).
HEADER_DEFAULTS = {
    "login": "ct-remote-user",
    "email": "ctemail",
    "first_name": "ctfn",
    "last_name": "ctln",
    "groups": "ctgrps",
    "establishments": "FrEduRne",
    "responsible_for": "FrEduRneResp",
    "functions": "FrEduFonctAdm",
    "academy": "codaca",
    "return_url": "FrEduUrlRetour",
}
# The same attributes as OpenID Connect claims; the subject is always the ID token's "sub".
CLAIM_DEFAULTS = {
    "email": "email",
    "first_name": "given_name",
    "last_name": "family_name",
    "groups": "groups",
    "establishments": "fr_edu_rne",
    "responsible_for": "fr_edu_rne_resp",
    "functions": "fr_edu_fonct_adm",
    "academy": "codaca",
}

_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SsoConfigError(RuntimeError):
    """A setting of the portal sign-in is wrong: the application refuses to start."""


@dataclass(frozen=True)
class SsoSettings:
    mode: str = "off"
    # Headers mode.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    shared_secret: str | None = None
    shared_secret_header: str = "X-Imagin-Portal-Secret"  # noqa: S105  (a header name)
    headers: Mapping[str, str] = field(default_factory=lambda: dict(HEADER_DEFAULTS))
    # Both portal modes.
    group_bureaus: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Portal groups whose members are chefs de centre of the exam centres they head.
    chief_groups: frozenset[str] = frozenset()
    portal_url: str | None = None
    logout_url: str | None = None
    # OpenID Connect mode.
    discovery_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: str = "openid email profile"
    claims: Mapping[str, str] = field(default_factory=lambda: dict(CLAIM_DEFAULTS))
    clock_skew: int = 60
    timeout: int = 10

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


def load_settings(config: Mapping[str, Any]) -> SsoSettings:
    """Read and check the ``SSO_*`` and ``OIDC_*`` settings.

    :raise SsoConfigError: naming the setting (as its ``IMAGIN_`` variable) that is wrong.
    """
    mode = str(config.get("SSO_MODE") or "off").strip().lower()
    if mode not in MODES:
        raise SsoConfigError(f"IMAGIN_SSO_MODE : « {mode} » n'est pas off, headers ni oidc.")
    settings = SsoSettings(
        mode=mode,
        trusted_proxies=_networks(config.get("SSO_TRUSTED_PROXIES")),
        shared_secret=_text(config.get("SSO_SHARED_SECRET")),
        shared_secret_header=_header_name(
            "IMAGIN_SSO_SHARED_SECRET_HEADER",
            config.get("SSO_SHARED_SECRET_HEADER") or "X-Imagin-Portal-Secret",
        ),
        headers=_names("IMAGIN_SSO_HEADERS", HEADER_DEFAULTS, config.get("SSO_HEADERS"), True),
        group_bureaus=_group_bureaus(config.get("SSO_GROUP_BUREAUS")),
        chief_groups=_chief_groups(config.get("SSO_CHIEF_GROUPS")),
        portal_url=_url("IMAGIN_SSO_PORTAL_URL", config.get("SSO_PORTAL_URL")),
        logout_url=_url("IMAGIN_SSO_LOGOUT_URL", config.get("SSO_LOGOUT_URL")),
        discovery_url=_url("IMAGIN_OIDC_DISCOVERY_URL", config.get("OIDC_DISCOVERY_URL")),
        client_id=_text(config.get("OIDC_CLIENT_ID")),
        client_secret=_text(config.get("OIDC_CLIENT_SECRET")),
        scopes=" ".join(str(config.get("OIDC_SCOPES") or "openid email profile").split()),
        claims=_names("IMAGIN_OIDC_CLAIMS", CLAIM_DEFAULTS, config.get("OIDC_CLAIMS"), False),
        clock_skew=_number("IMAGIN_OIDC_CLOCK_SKEW", config.get("OIDC_CLOCK_SKEW", 60), 0, 600),
        timeout=_number("IMAGIN_OIDC_TIMEOUT", config.get("OIDC_TIMEOUT", 10), 1, 120),
    )
    if mode == "headers":
        _check_headers_mode(settings)
    elif mode == "oidc":
        _check_oidc_mode(settings)
    return settings


def _check_headers_mode(settings: SsoSettings) -> None:
    if not settings.trusted_proxies:
        raise SsoConfigError(
            "IMAGIN_SSO_TRUSTED_PROXIES : indiquez les adresses du proxy du portail (CIDR) ; "
            "sans elles, aucune identité transmise en en-tête ne peut être acceptée."
        )
    if settings.shared_secret is not None and len(settings.shared_secret) < 16:
        raise SsoConfigError("IMAGIN_SSO_SHARED_SECRET : au moins 16 caractères.")


def _check_oidc_mode(settings: SsoSettings) -> None:
    if not settings.discovery_url:
        raise SsoConfigError(
            "IMAGIN_OIDC_DISCOVERY_URL : l'adresse .well-known/openid-configuration du "
            "fournisseur d'identité est obligatoire en mode oidc."
        )
    parts = urlsplit(settings.discovery_url)
    if parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS:
        raise SsoConfigError("IMAGIN_OIDC_DISCOVERY_URL : une adresse https:// est obligatoire.")
    if not settings.client_id or not settings.client_secret:
        raise SsoConfigError(
            "IMAGIN_OIDC_CLIENT_ID et IMAGIN_OIDC_CLIENT_SECRET : l'identifiant et le secret "
            "donnés par le fournisseur d'identité sont obligatoires en mode oidc."
        )
    if "openid" not in settings.scopes.split():
        raise SsoConfigError("IMAGIN_OIDC_SCOPES : la portée « openid » est obligatoire.")


def _values(raw: Any) -> list[str]:
    """A list setting given as a JSON list or as a comma-separated string."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:  # one value that the environment read as JSON (a number)
        items = [raw]
    return [str(item).strip() for item in items if str(item).strip()]


def _text(raw: Any) -> str | None:
    """A text setting, which the environment may have read as a JSON number."""
    return None if raw is None or str(raw).strip() == "" else str(raw).strip()


def _networks(raw: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for value in _values(raw):
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise SsoConfigError(
                f"IMAGIN_SSO_TRUSTED_PROXIES : « {value} » n'est pas une adresse ni un réseau "
                "(exemple : 10.1.2.0/24)."
            ) from None
    return tuple(networks)


def _header_name(setting: str, name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise SsoConfigError(f"{setting} : « {name} » n'est pas un nom d'en-tête HTTP valable.")
    return name


def _names(setting: str, defaults: Mapping[str, str], raw: Any, headers: bool) -> dict[str, str]:
    """The defaults, with the names the configuration changes (a JSON object)."""
    if raw in (None, ""):
        return dict(defaults)
    if not isinstance(raw, Mapping):
        raise SsoConfigError(
            f'{setting} : un objet JSON est attendu, par exemple {{"email": "mail"}}.'
        )
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise SsoConfigError(
            f"{setting} : {', '.join(unknown)} inconnu(s) ; possibles : {', '.join(defaults)}."
        )
    names = {**defaults, **{key: str(value).strip() for key, value in raw.items()}}
    if headers:
        for name in names.values():
            _header_name(setting, name)
    return names


def _chief_groups(raw: Any) -> frozenset[str]:
    """Portal groups of the chefs de centre, from ``["IMAGIN-CHEFS"]`` or ``"A,B"``."""
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list | tuple) or not all(isinstance(g, str) for g in raw):
        raise SsoConfigError("IMAGIN_SSO_CHIEF_GROUPS : une liste de groupes du portail attendue.")
    return frozenset(g.strip().casefold() for g in raw if g.strip())


def _group_bureaus(raw: Any) -> dict[str, tuple[str, ...]]:
    """Portal group → bureau codes, from ``{"IMAGIN-DEC2": "DEC2"}`` or ``"IMAGIN-DEC2=DEC2,…"``.

    Groups are compared without regard to letter case.
    """
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        pairs = []
        for item in _values(raw):
            group, equals, bureau = item.partition("=")
            if not equals or not group.strip() or not bureau.strip():
                raise SsoConfigError(
                    f"IMAGIN_SSO_GROUP_BUREAUS : « {item} » ; attendu GROUPE=BUREAU, "
                    "par exemple IMAGIN-DEC2=DEC2."
                )
            pairs.append((group, bureau))
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    else:
        raise SsoConfigError("IMAGIN_SSO_GROUP_BUREAUS : un objet JSON ou GROUPE=BUREAU,… attendu.")
    mapping: dict[str, tuple[str, ...]] = {}
    for group, bureaus in pairs:
        codes = tuple(_values(bureaus))
        if not codes:
            raise SsoConfigError(f"IMAGIN_SSO_GROUP_BUREAUS : aucun bureau pour {group}.")
        key = str(group).strip().casefold()
        mapping[key] = tuple(dict.fromkeys(mapping.get(key, ()) + codes))
    return mapping


def _url(setting: str, raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    value = str(raw).strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SsoConfigError(f"{setting} : « {value} » n'est pas une adresse http(s) complète.")
    return value


def _number(setting: str, raw: Any, low: float, high: float) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SsoConfigError(f"{setting} : un nombre de secondes est attendu.") from None
    if not low <= value <= high:
        raise SsoConfigError(f"{setting} : entre {low:g} et {high:g} secondes.")
    return value
