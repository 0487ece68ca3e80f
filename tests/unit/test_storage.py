"""The upload folder: streamed, size-limited, atomic writes under generated names only."""

from __future__ import annotations

import errno
import hashlib
import io
import os

import pytest

from imagin.documents.errors import FileTooLarge
from imagin.storage import (
    GENERATED_NAME,
    TEMP_PREFIX,
    InvalidStoredName,
    Storage,
    new_stored_name,
)

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def storage(tmp_path) -> Storage:
    return Storage(tmp_path / "uploads")


def files_in(storage: Storage) -> list[str]:
    return sorted(os.listdir(storage.root)) if storage.root.exists() else []


class EndlessUpload(io.RawIOBase):
    """A body that never ends, counting what was asked of it."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "the whole body must never be asked for"
        self.served += size
        return b"x" * size


class FailingUpload(io.RawIOBase):
    """A body whose reading fails after a first chunk (a dropped connection, a full disk…)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise self.error
        return b"x" * size


def test_exactly_max_bytes_is_kept(storage):
    data = os.urandom(FIVE_MB)
    stored = storage.save_stream(io.BytesIO(data), extension=".pdf", max_bytes=FIVE_MB)
    assert stored.size == FIVE_MB
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert GENERATED_NAME.fullmatch(stored.name)
    assert storage.path(stored.name).read_bytes() == data
    assert files_in(storage) == [stored.name]


def test_one_byte_more_is_refused_and_nothing_is_left(storage):
    with pytest.raises(FileTooLarge) as refused:
        storage.save_stream(io.BytesIO(b"x" * (FIVE_MB + 1)), extension=".pdf", max_bytes=FIVE_MB)
    assert refused.value.message.startswith("Le fichier dépasse 5 Mo")
    assert refused.value.status == 413
    assert files_in(storage) == []


def test_never_reads_more_than_one_byte_past_the_limit(storage):
    upload = EndlessUpload()
    with pytest.raises(FileTooLarge):
        storage.save_stream(upload, extension=".pdf", max_bytes=FIVE_MB)
    assert upload.served == FIVE_MB + 1
    assert files_in(storage) == []


def test_file_and_folder_are_synced_before_the_name_is_given(storage, monkeypatch):
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    storage.save_bytes(b"%PDF-", extension=".pdf")
    assert len(synced) == 2  # the file, then the folder holding the new name


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), ConnectionResetError(), KeyboardInterrupt()],
)
def test_a_failure_while_writing_leaves_nothing(storage, error):
    with pytest.raises(type(error)):
        storage.save_stream(FailingUpload(error), extension=".jpg")
    assert files_in(storage) == []


def test_a_disk_full_at_fsync_leaves_nothing(storage, monkeypatch):
    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        storage.save_bytes(b"data", extension=".png")
    assert files_in(storage) == []


def test_a_failure_after_the_rename_removes_the_file_too(storage, monkeypatch):
    def folder_sync_fails(self):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(Storage, "_sync_folder", folder_sync_fails)
    with pytest.raises(OSError):
        storage.save_bytes(b"data", extension=".png")
    assert files_in(storage) == []


def test_temporary_file_is_in_the_same_folder_and_renamed(storage, monkeypatch):
    renames: list[tuple[str, str]] = []
    real_replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda src, dst: (renames.append((src, str(dst))), real_replace(src, dst))
    )
    stored = storage.save_bytes(b"data", extension=".pdf")
    [(source, destination)] = renames
    assert os.path.dirname(source) == str(storage.root)
    assert os.path.basename(source).startswith(TEMP_PREFIX)
    assert destination == str(storage.root / stored.name)


@pytest.mark.parametrize(
    "name",
    [
        "../x.pdf",
        "../../etc/passwd",
        "/etc/passwd",
        "x.pdf",
        "A" * 32 + ".pdf",
        "0" * 32 + ".exe",
        "0" * 32 + ".pdf/../../x",
        "0" * 31 + ".pdf",
        "0" * 32 + ".pdf\x00",
        TEMP_PREFIX + "abc",
        "",
        ".",
    ],
)
def test_only_generated_names_become_paths(storage, name):
    with pytest.raises(InvalidStoredName):
        storage.path(name)
    with pytest.raises(InvalidStoredName):
        storage.open(name)
    with pytest.raises(InvalidStoredName):
        storage.delete(name)


def test_generated_names_are_fresh_and_only_for_stored_formats():
    names = {new_stored_name(".pdf") for _ in range(100)}
    assert len(names) == 100
    assert all(GENERATED_NAME.fullmatch(name) for name in names)
    for extension in (".gif", ".jpeg", ".exe", ".PDF", ""):
        with pytest.raises(InvalidStoredName):
            new_stored_name(extension)


def test_open_and_delete(storage):
    stored = storage.save_bytes(b"content", extension=".jpg")
    with storage.open(stored.name) as stream:
        assert stream.read() == b"content"
    assert storage.exists(stored.name)
    assert storage.delete(stored.name) is True
    assert storage.delete(stored.name) is False
    assert not storage.exists(stored.name)


def test_entries_tell_stored_temporary_and_unknown_files_apart(storage):
    stored = storage.save_bytes(b"content", extension=".pdf")
    (storage.root / (TEMP_PREFIX + "abandoned")).write_bytes(b"half")
    (storage.root / "README.txt").write_text("not ours")
    (storage.root / "subfolder").mkdir()
    entries = {entry.name: entry for entry in storage.entries()}
    assert set(entries) == {stored.name, TEMP_PREFIX + "abandoned", "README.txt"}
    assert entries[stored.name].is_generated and not entries[stored.name].is_temporary
    assert entries[TEMP_PREFIX + "abandoned"].is_temporary
    assert not entries["README.txt"].is_generated and not entries["README.txt"].is_temporary
    assert storage.delete_entry(entries[TEMP_PREFIX + "abandoned"]) is True
    with pytest.raises(InvalidStoredName):
        storage.delete_entry(entries["README.txt"])
    assert (storage.root / "README.txt").exists()


def test_entries_of_a_folder_not_yet_created(tmp_path):
    assert list(Storage(tmp_path / "missing").entries()) == []
