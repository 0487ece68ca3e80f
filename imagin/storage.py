"""Where uploaded files live: one local folder (``UPLOAD_DIR``), outside ``static``.

Files are kept under generated names only (32 hex digits and the extension of
what was stored), so no name a user sent ever reaches the file system. A file
is written to a temporary file in the same folder, fsynced, then renamed into
place, so it is either complete under its final name or absent.
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

from flask import current_app

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
    """A local folder of uploaded documents."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, stored_name: str) -> Path:
        """The path of a stored file; anything but a generated name is refused (no traversal)."""
        if not is_generated_name(stored_name):
            raise InvalidStoredName(stored_name)
        return self.root / stored_name

    def open(self, stored_name: str) -> BinaryIO:
        return self.path(stored_name).open("rb")

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


def get_storage() -> Storage:
    """The storage of the running application (``UPLOAD_DIR``)."""
    return Storage(current_app.config["UPLOAD_DIR"])
