"""What the portal says, read from headers and claims; the settings; the direct peer."""

from __future__ import annotations

import ipaddress

import pytest
from werkzeug.datastructures import Headers

from imagin.auth.identities import PortalRefused
from imagin.auth.portal_headers import direct_peer, profile_from_headers, untrusted_reason
from imagin.auth.profile import (
    Establishment,
    bureau_codes_for,
    establishments_from,
    from_header,
    return_url_or_none,
    split_values,
    uai_of,
)
from imagin.auth.sso import HEADER_DEFAULTS, SsoConfigError, load_settings


@pytest.mark.parametrize(
    ("value", "values"),
    [
        ("A,B", ("A", "B")),
        (" A , B ,, ", ("A", "B")),
        ("A, B, A", ("A", "B")),
        (["A", "B,C"], ("A", "B", "C")),
        ("", ()),
        (None, ()),
        ([None, ""], ()),
    ],
)
def test_several_values(value, values):
    assert split_values(value) == values


@pytest.mark.parametrize(
    ("value", "uai"),
    [
        ("0450782F$UAJ$PU$N$T3$LYC$340", "0450782F"),
        ("0450782f$UAJ", "0450782F"),
        ("0450782F", "0450782F"),
        (" 0450782F $UAJ", "0450782F"),
        ("045078F$UAJ", None),  # six digits
        ("$0450782F", None),
        ("DIR$0450782F", None),
    ],
)
def test_the_uai_is_the_part_before_the_first_dollar(value, uai):
    assert uai_of(value) == uai


def test_establishments_keep_where_he_works_and_what_he_heads():
    assert establishments_from(
        "0450782F$UAJ$PU, 0451067R$UAJ, pas-un-uai", ["0450782F$UAJ$PU$N"]
    ) == (
        Establishment("0450782F", False, "0450782F$UAJ$PU"),
        Establishment("0451067R", False, "0451067R$UAJ"),
        Establishment("0450782F", True, "0450782F$UAJ$PU$N"),
    )


def test_utf8_header_values_decoded_as_latin1_are_repaired():
    assert from_header("HÃ©lÃ¨ne") == "Hélène"
    assert from_header("Hélène") == "Hélène"  # Latin-1 already (not UTF-8 bytes): kept
    assert from_header("Dupont") == "Dupont"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "https://portail.ac-orleans-tours.fr/logout",
            "https://portail.ac-orleans-tours.fr/logout",
        ),
        ("javascript:alert(1)", None),
        ("//evil.example/", None),
        ("/deconnexion", None),
        ("https://[::1", None),
        ("", None),
    ],
)
def test_only_a_web_address_is_a_return_url(value, expected):
    assert return_url_or_none(value) == expected


def test_groups_map_to_bureaus_in_any_letter_case():
    mapping = load_settings(
        {"SSO_GROUP_BUREAUS": "IMAGIN-DEC2=DEC2, imagin-dec3=DEC3"}
    ).group_bureaus
    assert mapping == {"imagin-dec2": ("DEC2",), "imagin-dec3": ("DEC3",)}
    assert bureau_codes_for(["Imagin-Dec2", "AUTRE", "IMAGIN-DEC3"], mapping) == {"DEC2", "DEC3"}
    assert bureau_codes_for([], mapping) == set()
    several = load_settings({"SSO_GROUP_BUREAUS": {"IMAGIN-DEC": ["DEC2", "DEC3"]}})
    assert several.group_bureaus == {"imagin-dec": ("DEC2", "DEC3")}


def headers_settings(**extra):
    return load_settings(
        {"SSO_MODE": "headers", "SSO_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::/32", **extra}
    )


def test_header_names_have_the_cleartrust_defaults_and_can_be_renamed():
    assert headers_settings().headers == HEADER_DEFAULTS
    renamed = headers_settings(SSO_HEADERS={"email": "mail", "login": "REMOTE-USER"})
    assert renamed.headers["email"] == "mail"
    assert renamed.headers["login"] == "REMOTE-USER"
    assert renamed.headers["first_name"] == "ctfn"


def test_profile_from_headers():
    headers = Headers(
        {
            "CT-Remote-User": " JDupont ",
            "CTEMAIL": "jeanne.dupont@ac-orleans-tours.fr",
            "ctfn": "Jeanne",
            "ctln": "Dupont",
            "ctgrps": "A,B",
            "fredurne": "0450782F$UAJ",
            "FREDUFONCTADM": "DIR",
            "Codaca": "18",
            "FrEduUrlRetour": "https://portail.example/fin",
        }
    )
    profile = profile_from_headers(headers, headers_settings())
    assert profile.subject == "jdupont"
    assert (profile.email, profile.first_name, profile.last_name) == (
        "jeanne.dupont@ac-orleans-tours.fr",
        "Jeanne",
        "Dupont",
    )
    assert profile.groups == ("A", "B")
    assert profile.functions == ("DIR",)
    assert profile.academy == "18"
    assert profile.return_url == "https://portail.example/fin"
    assert profile.establishments == (Establishment("0450782F", False, "0450782F$UAJ"),)


@pytest.mark.parametrize("login", ["a,b", "a b", "a;b", "x" * 256, ""])
def test_a_login_that_is_not_one_value_is_refused(login):
    with pytest.raises(PortalRefused) as refused:
        profile_from_headers(Headers({"ct-remote-user": login}), headers_settings())
    assert refused.value.reason == "bad_subject"


@pytest.mark.parametrize("email", ["pas-une-adresse", "a@b", "a@b.fr, c@d.fr", "x" * 250 + "@a.fr"])
def test_an_email_that_is_not_one_address_is_left_out(email):
    headers = Headers({"ct-remote-user": "jdupont", "ctemail": email})
    assert profile_from_headers(headers, headers_settings()).email is None


class _Channel:
    """What waitress' ``waitress.client_disconnected`` is a method of: its HTTP channel."""

    def __init__(self, addr):
        self.addr = addr

    def check_client_disconnected(self):
        return False


def _waitress_from(host):
    return _Channel((host, 5000)).check_client_disconnected


@pytest.mark.parametrize(
    ("environ", "peer"),
    [
        ({"REMOTE_ADDR": "10.1.2.3"}, "10.1.2.3"),
        # ProxyFix: REMOTE_ADDR is the forwarded client; the original is kept.
        (
            {"REMOTE_ADDR": "192.0.2.1", "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "10.1.2.3"}},
            "10.1.2.3",
        ),
        # waitress with trusted_proxy: REMOTE_ADDR rewritten; the channel has the socket's.
        (
            {
                "REMOTE_ADDR": "192.0.2.1",
                "waitress.client_disconnected": _waitress_from("10.1.2.3"),
            },
            "10.1.2.3",
        ),
        # Both: the socket still wins.
        (
            {
                "REMOTE_ADDR": "192.0.2.1",
                "werkzeug.proxy_fix.orig": {"REMOTE_ADDR": "192.0.2.2"},
                "waitress.client_disconnected": _waitress_from("10.1.2.3"),
            },
            "10.1.2.3",
        ),
        ({"REMOTE_ADDR": "::ffff:10.1.2.3"}, "10.1.2.3"),
        ({"REMOTE_ADDR": "2001:db8::7"}, "2001:db8::7"),
        # Cannot be established: never trusted.
        ({"REMOTE_ADDR": "10.1.2.3", "waitress.client_disconnected": object()}, None),
        (
            {
                "REMOTE_ADDR": "10.1.2.3",
                "waitress.client_disconnected": _waitress_from("localhost"),
            },
            None,
        ),
        ({"REMOTE_ADDR": "portail.example"}, None),
        ({}, None),
    ],
)
def test_the_direct_peer(environ, peer):
    assert direct_peer(environ) == (ipaddress.ip_address(peer) if peer else None)


def test_trust_needs_the_peer_in_the_networks_and_the_secret():
    settings = headers_settings(SSO_SHARED_SECRET="un-secret-de-seize-car")
    good = Headers({"X-Imagin-Portal-Secret": "un-secret-de-seize-car"})
    assert untrusted_reason({"REMOTE_ADDR": "10.9.9.9"}, good, settings) is None
    assert untrusted_reason({"REMOTE_ADDR": "2001:db8::1"}, good, settings) is None
    assert untrusted_reason({"REMOTE_ADDR": "11.0.0.1"}, good, settings) == "untrusted_address"
    assert untrusted_reason({}, good, settings) == "untrusted_address"
    wrong = Headers({"X-Imagin-Portal-Secret": "un-secret-de-seize-caR"})
    assert untrusted_reason({"REMOTE_ADDR": "10.9.9.9"}, wrong, settings) == "wrong_secret"
    assert untrusted_reason({"REMOTE_ADDR": "10.9.9.9"}, Headers(), settings) == "wrong_secret"


def test_the_mode_is_off_unless_configured():
    assert load_settings({}).mode == "off"
    assert not load_settings({"SSO_MODE": "OFF"}).enabled
    with pytest.raises(SsoConfigError, match="IMAGIN_SSO_MODE"):
        load_settings({"SSO_MODE": "saml"})


def test_settings_given_by_the_environment_as_json_numbers_are_read_as_text():
    settings = load_settings(
        {
            "SSO_MODE": "oidc",
            "OIDC_DISCOVERY_URL": "https://idp.example/.well-known/openid-configuration",
            "OIDC_CLIENT_ID": 123456,
            "OIDC_CLIENT_SECRET": 12345678901234567890,
        }
    )
    assert (settings.client_id, settings.client_secret) == ("123456", "12345678901234567890")
    with pytest.raises(SsoConfigError, match="IMAGIN_SSO_TRUSTED_PROXIES"):
        load_settings({"SSO_MODE": "headers", "SSO_TRUSTED_PROXIES": 10.5})
    assert load_settings({"SSO_MODE": "headers", "SSO_TRUSTED_PROXIES": "10.0.0.1"}).trusted_proxies
