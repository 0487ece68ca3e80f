"""Where uploaded files live: a local folder (``UPLOAD_DIR``, the default), or a bucket
of S3-compatible object storage (``STORAGE_URL = "s3://bucket[/prefix]"``).

Files are kept under generated names only (32 hex digits and the extension of
what was stored), so no name a user sent ever reaches the file system or a key.
Both keep the same promise: once ``save_*`` returns, the file is complete under
its final name (a local file is written aside, fsynced, then renamed into place;
an S3 object appears whole when its PUT succeeds), else nothing is left. Callers
write the file before they commit its row, so the worst a crash leaves is a file
without a row, which ``imagin documents check --repair`` removes. Files are
always read through the app (``open``); a bucket is never exposed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import Flask, current_app

from imagin.documents.errors import FileTooLarge

GENERATED_NAME = re.compile(r"[0-9a-f]{32}\.(?:pdf|jpg|png)")
STORED_EXTENSIONS = frozenset({".pdf", ".jpg", ".png"})
TEMP_PREFIX = ".tmp-"
CHUNK_SIZE = 64 * 1024


class InvalidStoredName(ValueError):
    """A name that Storage did not generate: never turned into a path."""


@dataclass(frozen=True)
class StoredFile:
    """A file now complete under its final name."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FolderEntry:
    """A file found in the upload folder, for the consistency check."""

    name: str
    modified_at: dt.datetime
    is_temporary: bool
    is_generated: bool


def is_generated_name(name: str) -> bool:
    return GENERATED_NAME.fullmatch(name) is not None


def new_stored_name(extension: str) -> str:
    """A fresh name: a random UUID and the extension of the stored format."""
    if extension not in STORED_EXTENSIONS:
        raise InvalidStoredName(extension)
    return uuid.uuid4().hex + extension


class Storage:
    """A local folder of uploaded documents (and the interface every storage offers)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, stored_name: str) -> Path:
        """The path of a stored file; anything but a generated name is refused (no traversal)."""
        if not is_generated_name(stored_name):
            raise InvalidStoredName(stored_name)
        return self.root / stored_name

    def open(self, stored_name: str) -> BinaryIO:
        """The stored file, readable and seekable; FileNotFoundError when it is gone."""
        return self.path(stored_name).open("rb")

    def close(self) -> None:
        """Release what the storage holds open (nothing, for a folder)."""

    def ready(self) -> None:
        """Raise unless files can be stored (for /readyz)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")

    def exists(self, stored_name: str) -> bool:
        return self.path(stored_name).is_file()

    def save_bytes(self, data: bytes, *, extension: str) -> StoredFile:
        return self.save_stream(io.BytesIO(data), extension=extension)

    def save_stream(
        self, stream: BinaryIO, *, extension: str, max_bytes: int | None = None
    ) -> StoredFile:
        """Copy a stream, chunk by chunk, into a new file; FileTooLarge past max_bytes."""
        # At most max_bytes + 1 bytes are read. On any failure (too big, disk full,
        # interrupted) the temporary file is removed and nothing is left.
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path(new_stored_name(extension))
        # Same folder as the final name, so the rename below is atomic.
        descriptor, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.root)
        placed = False
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(descriptor, "wb") as output:
                while True:
                    wanted = (
                        CHUNK_SIZE if max_bytes is None else min(CHUNK_SIZE, max_bytes + 1 - size)
                    )
                    chunk = stream.read(wanted)
                    if not chunk:
                        break
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(chunk)
                    output.write(chunk)
                output.flush()
                os.fsync(output.fileno())
            os.replace(temporary, final)
            placed = True
            # The rename itself must survive a power cut before the row refers to it.
            self._sync_folder()
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            if placed:
                with suppress(FileNotFoundError):
                    os.unlink(final)
            raise
        return StoredFile(final.name, size, digest.hexdigest())

    def delete(self, stored_name: str) -> bool:
        """Remove a stored file; False when it was already gone."""
        try:
            self.path(stored_name).unlink()
        except FileNotFoundError:
            return False
        self._sync_folder()
        return True

    def delete_entry(self, entry: FolderEntry) -> bool:
        """Remove a file listed by entries(): a stored file or a stale temporary one."""
        if entry.is_generated:
            return self.delete(entry.name)
        if not entry.is_temporary or "/" in entry.name:
            raise InvalidStoredName(entry.name)
        try:
            (self.root / entry.name).unlink()
        except FileNotFoundError:
            return False
        return True

    def entries(self) -> Iterator[FolderEntry]:
        """Every file of the folder, generated or not (the check reports the others)."""
        if not self.root.is_dir():
            return
        with os.scandir(self.root) as scan:
            for item in scan:
                if not item.is_file(follow_symlinks=False):
                    continue
                modified = dt.datetime.fromtimestamp(item.stat().st_mtime, dt.UTC)
                yield FolderEntry(
                    name=item.name,
                    modified_at=modified,
                    is_temporary=item.name.startswith(TEMP_PREFIX),
                    is_generated=is_generated_name(item.name),
                )

    def _sync_folder(self) -> None:
        if not hasattr(os, "O_DIRECTORY"):
            return
        descriptor = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# Objects are read into memory up to this size, then spill to a temporary file.
SPOOL_BYTES = 1024 * 1024


class S3Storage(Storage):
    """A bucket of S3-compatible object storage (boto3), with Storage's interface.

    Keys are ``prefix`` + the generated name. There are no temporary objects: a
    PUT is atomic, and a file is read and hashed before it is sent.
    """

    def __init__(self, bucket: str, prefix: str = "", *, client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def path(self, stored_name: str) -> Path:
        raise NotImplementedError("S3 objects have no path: use open()")

    def key(self, stored_name: str) -> str:
        if not is_generated_name(stored_name):
            raise InvalidStoredName(stored_name)
        return self.prefix + stored_name

    def open(self, stored_name: str) -> BinaryIO:
        """The object, copied into a seekable spooled file; FileNotFoundError when absent."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(stored_name))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(stored_name) from None
        copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            with body:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    copy.write(chunk)
            copy.seek(0)
        except BaseException:
            copy.close()
            raise
        return copy  # type: ignore[return-value]

    def exists(self, stored_name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(stored_name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def ready(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def close(self) -> None:
        self.client.close()

    def save_stream(
        self, stream: BinaryIO, *, extension: str, max_bytes: int | None = None
    ) -> StoredFile:
        """Read the stream (FileTooLarge past max_bytes), hash it, then PUT it whole."""
        name = new_stored_name(extension)
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
            while True:
                wanted = CHUNK_SIZE if max_bytes is None else min(CHUNK_SIZE, max_bytes + 1 - size)
                chunk = stream.read(wanted)
                if not chunk:
                    break
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FileTooLarge(max_bytes)
                digest.update(chunk)
                body.write(chunk)
            body.seek(0)
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(name),
                Body=body,
                ContentLength=size,
                ContentType="application/octet-stream",
                Metadata={"sha256": digest.hexdigest()},
            )
        return StoredFile(name, size, digest.hexdigest())

    def delete(self, stored_name: str) -> bool:
        """Remove an object; False when it was already gone."""
        if not self.exists(stored_name):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key(stored_name))
        return True

    def delete_entry(self, entry: FolderEntry) -> bool:
        if not entry.is_generated:
            raise InvalidStoredName(entry.name)
        return self.delete(entry.name)

    def entries(self) -> Iterator[FolderEntry]:
        """Every object under the prefix, generated name or not (the check reports the others)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                yield FolderEntry(
                    name=name,
                    modified_at=item["LastModified"].astimezone(dt.UTC),
                    is_temporary=False,
                    is_generated=is_generated_name(name),
                )


def make_storage(config) -> Storage:
    """The storage ``config`` describes: STORAGE_URL (``s3://…``), else the folder UPLOAD_DIR."""
    url = config.get("STORAGE_URL")
    if not url:
        return Storage(config["UPLOAD_DIR"])
    if not url.startswith("s3://"):
        raise ValueError(f"STORAGE_URL: only s3://bucket[/prefix] is known, not {url!r}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError("STORAGE_URL: the bucket is missing (s3://bucket)")
    return S3Storage(bucket, prefix, client=_s3_client(config))


def _s3_client(config):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("STORAGE_URL=s3://… needs boto3: pip install -e '.[s3]'") from None
    return boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        config=Config(
            s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
            connect_timeout=float(config.get("S3_CONNECT_TIMEOUT") or 5),
            read_timeout=float(config.get("S3_READ_TIMEOUT") or 30),
            retries={"max_attempts": 3, "mode": "standard"},
            # One pooled connection per waitress thread and the sender.
            max_pool_connections=32,
            # Checksums only where the API requires them: not every S3 server knows
            # the newer CRC trailers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def get_storage() -> Storage:
    """The storage of the running application, built once per app (a boto3 client is costly)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get("imagin.storage")
    if storage is None:
        storage = app.extensions["imagin.storage"] = make_storage(app.config)
    return storage
