"""Personal data encrypted at rest: IBAN, BIC and NIR, with AES-GCM (``cryptography``).

A stored value is ``v1.<key id>.<base64(nonce + ciphertext)>``. The key id says
which key encrypted it, so that after ``imagin keys rotate`` values written with
the previous key can still be read until they are all re-encrypted. The
associated data binds a value to its column and row: a value copied into another
row or column does not decrypt.

Keys come from ``IMAGIN_DATA_KEY`` (base64 of 32 bytes; several separated by commas,
the first one encrypts) or, without it, from the ``data_keys`` file of the instance
folder, created 0600 on first use like the secret key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE = "data_keys"


class DecryptionFailed(Exception):
    """A value cannot be decrypted: its key is not configured, or it was tampered with."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"imagin-data-key:" + key).hexdigest()[:8]


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise ValueError("IMAGIN_DATA_KEY : clé illisible (base64 de 32 octets attendu).") from None
    if len(key) != KEY_BYTES:
        raise ValueError("IMAGIN_DATA_KEY : une clé fait 32 octets (256 bits).")
    return key


@dataclass(frozen=True)
class Keyring:
    """The keys that can decrypt; the first one encrypts."""

    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("no data key")

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    def _by_id(self) -> dict[str, bytes]:
        return {key_id(key): key for key in self.keys}

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{PREFIX}.{self.current_id}.{body}"

    def decrypt(self, stored: str, context: str) -> str:
        prefix, _, rest = stored.partition(".")
        kid, _, body = rest.partition(".")
        key = self._by_id().get(kid)
        if prefix != PREFIX or key is None:
            raise DecryptionFailed(f"no key {kid!r} for this value")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return (
                AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionFailed("value does not decrypt") from None

    def encrypted_with_current(self, stored: str) -> bool:
        return stored.split(".")[1:2] == [self.current_id]


def keyring_from_config(configured: str | None, instance: Path) -> Keyring:
    """The configured keys, or those of the instance folder (created on first use)."""
    if configured:
        return Keyring(tuple(decode_key(part) for part in configured.split(",") if part.strip()))
    return Keyring(tuple(read_key_file(instance / KEY_FILE, create=True)))


def read_key_file(path: Path, *, create: bool) -> list[bytes]:
    try:
        lines = path.read_text().split()
    except FileNotFoundError:
        if not create:
            raise
        key = new_key()
        # O_EXCL: two workers starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return read_key_file(path, create=False)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(encode_key(key) + "\n")
        return [key]
    return [decode_key(line) for line in lines if line.strip()]


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically, still 0600."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as key_file:
        key_file.write("".join(encode_key(key) + "\n" for key in keys))
    os.replace(temporary, path)
