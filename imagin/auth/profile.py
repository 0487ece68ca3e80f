"""What the portal says about a staff member, read from headers or claims (no Flask here).

Both ways of handing over an identity give the same attributes: a stable
subject, the e-mail and names, the application groups, the establishments
(``UAI$…`` values: the UAI is the part before the first ``$``), the
administrative functions and the académie code. Several values come
comma-separated in a header, or as a JSON list in a claim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

UAI = re.compile(r"^[0-9]{7}[A-Z]$")
# ct-remote-user and OIDC "sub": one value, printable, no separator that would make it several.
_SUBJECT = re.compile(r"^[^\s,;$]{1,255}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


@dataclass(frozen=True)
class Establishment:
    """An establishment of the portal's list: its UAI, and whether the person heads it."""

    uai: str
    responsible: bool
    raw: str


@dataclass(frozen=True)
class PortalProfile:
    """A staff member as the portal hands him over, ready to be linked to an account."""

    method: str
    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = True
    first_name: str = ""
    last_name: str = ""
    groups: tuple[str, ...] = ()
    establishments: tuple[Establishment, ...] = ()
    functions: tuple[str, ...] = ()
    academy: str = ""
    return_url: str | None = None


def split_values(value: Any) -> tuple[str, ...]:
    """Several values from one header (comma-separated) or one claim (a list, or a string).

    Blank values are dropped, and a value given twice is kept once, in order.
    """
    if value is None:
        return ()
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    values: list[str] = []
    for item in items:
        if item is None:
            continue
        values.extend(part.strip() for part in str(item).split(","))
    return tuple(dict.fromkeys(v for v in values if v))


def uai_of(value: str) -> str | None:
    """The UAI of an ``FrEduRne`` value ("0450782F$UAJ$PU$N$T3$LYC$340" → "0450782F")."""
    uai = value.split("$", 1)[0].strip().upper()
    return uai if UAI.match(uai) else None


def establishments_from(members: Any, heads: Any) -> tuple[Establishment, ...]:
    """The establishments where the person works (FrEduRne) and those he heads (FrEduRneResp).

    Values whose first part is not a UAI are left out.
    """
    found: dict[tuple[str, bool], Establishment] = {}
    for responsible, values in ((False, members), (True, heads)):
        for raw in split_values(values):
            uai = uai_of(raw)
            if uai is not None:
                found.setdefault((uai, responsible), Establishment(uai, responsible, raw[:255]))
    return tuple(found.values())


def subject_or_none(value: Any) -> str | None:
    """The stable subject, when it is one single well-formed value."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _SUBJECT.match(value) else None


def email_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if len(value) <= 254 and _EMAIL.match(value) else None


def text(value: Any, length: int) -> str:
    """One text value (the first when several came), cut to what the column holds."""
    values = split_values(value) if isinstance(value, list | tuple) else (value,)
    first = values[0] if values and values[0] is not None else ""
    return " ".join(str(first).split())[:length]


def from_header(value: str | None) -> str | None:
    """A header's text: servers decode header bytes as Latin-1, portals send UTF-8.

    "HÃ©lÃ¨ne" becomes "Hélène" again; a value that is not UTF-8 is kept as it came.
    """
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def profile_from_attributes(
    method: str, issuer: str, subject: str, attributes: Mapping[str, Any], email_verified: bool
) -> PortalProfile:
    """A profile from the attributes already named the IMAG'IN way (see sso.HEADER_DEFAULTS)."""
    return PortalProfile(
        method=method,
        issuer=issuer,
        subject=subject,
        # Checked whole: an address cut to the column's size would be someone else's.
        email=email_or_none(text(attributes.get("email"), 2000)),
        email_verified=email_verified,
        first_name=text(attributes.get("first_name"), 100),
        last_name=text(attributes.get("last_name"), 100),
        groups=tuple(g[:200] for g in split_values(attributes.get("groups")))[:100],
        establishments=establishments_from(
            attributes.get("establishments"), attributes.get("responsible_for")
        )[:200],
        functions=tuple(f[:50] for f in split_values(attributes.get("functions")))[:20],
        academy=text(attributes.get("academy"), 20),
        return_url=return_url_or_none(text(attributes.get("return_url"), 2000)),
    )


def return_url_or_none(value: str) -> str | None:
    """Where the portal wants its users sent back at sign-out: an absolute http(s) address."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "\\" in value:
        return None
    return value


def bureau_codes_for(groups: Iterable[str], mapping: Mapping[str, tuple[str, ...]]) -> set[str]:
    """The bureaus whose gestionnaire the groups make someone (group names in any case)."""
    return {code for group in groups for code in mapping.get(group.casefold(), ())}
