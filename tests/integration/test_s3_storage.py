"""Supporting documents in S3-compatible object storage, against a real SeaweedFS server.

The same guarantees as the local folder: the object is written before the row
commits (a failed commit leaves nothing), ``imagin documents check [--repair]``
finds objects without a row and rows without an object, downloads stream
through the app with the same headers as from the folder, and the bucket is
never public.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from imagin import create_app
from imagin.models import AuditEvent, Document
from imagin.storage import S3Storage, get_storage, make_storage
from tests.builders import documents, fetch, jpeg, pypdf_pdf, send, stored_files
from tests.conftest import CLAIRE, AuthActions, base_config, database
from tests.services import seaweedfs

# What a download says besides its body: the same from the folder and from S3.
DOWNLOAD_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Cache-Control",
    "ETag",
)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def bucket(s3) -> str:
    """The shared test bucket and a prefix of this test's own: ``bucket/prefix``."""
    return f"{s3.bucket}/{uuid.uuid4().hex[:12]}"


def dispose(app) -> None:
    """Close the app's database connections and its storage client's."""
    app.extensions["imagin.engine"].dispose()
    storage = app.extensions.get("imagin.storage")
    if storage is not None:
        storage.close()


@pytest.fixture
def s3_app(database_url, tmp_path, s3, bucket):
    app = create_app(base_config(database_url, tmp_path) | s3.config(bucket))
    yield app
    dispose(app)


def objects(s3, bucket) -> list[str]:
    """The keys under this test's prefix, without it."""
    name, prefix = bucket.split("/")
    listing = s3.client().list_objects_v2(Bucket=name, Prefix=prefix + "/")
    return sorted(item["Key"].removeprefix(prefix + "/") for item in listing.get("Contents", []))


def signed_in(app):
    client = app.test_client()
    AuthActions(client).login(CLAIRE)
    return client


def test_storage_url_picks_the_backend(s3, bucket, tmp_path):
    folder = make_storage({"UPLOAD_DIR": str(tmp_path), "STORAGE_URL": None})
    assert not isinstance(folder, S3Storage) and folder.root == tmp_path
    storage = make_storage(s3.config(bucket + "/pieces/"))
    assert isinstance(storage, S3Storage) and storage.prefix == bucket.split("/")[1] + "/pieces/"
    stored = storage.save_bytes(b"%PDF-1.4 test", extension=".pdf")
    assert objects(s3, bucket) == [f"pieces/{stored.name}"]
    assert storage.exists(stored.name)
    with storage.open(stored.name) as stream:
        assert stream.read() == b"%PDF-1.4 test"
    assert storage.delete(stored.name) and not storage.delete(stored.name)
    with pytest.raises(FileNotFoundError):
        storage.open(stored.name)
    storage.close()
    with pytest.raises(ValueError, match="s3://"):
        make_storage({"STORAGE_URL": "ftp://elsewhere", "UPLOAD_DIR": str(tmp_path)})


def test_upload_download_and_bundle_go_through_the_bucket(s3_app, s3, bucket):
    client = signed_in(s3_app)
    assert send(client, ("Reçu hôtel.pdf", pypdf_pdf(2))).status_code == 200
    assert send(client, ("photo.jpg", jpeg((400, 300)))).status_code == 200
    pdf, photo = documents(s3_app)
    # Only in the bucket, under the generated names; the upload folder stays empty.
    assert objects(s3, bucket) == sorted([pdf.stored_name, photo.stored_name])
    assert stored_files(s3_app) == []

    response = fetch(client, f"/missions/621/pieces/{pdf.id}")
    assert response.status_code == 200 and response.data == pypdf_pdf(2)
    assert response.headers["Content-Length"] == str(len(pypdf_pdf(2)))
    assert response.headers["Content-Security-Policy"] == "sandbox"

    bundle = fetch(client, "/missions/621/pieces.pdf")
    assert bundle.status_code == 200
    assert len(PdfReader(io.BytesIO(bundle.data)).pages) == 1 + 2 + 1

    # The page links to the app, never to the bucket.
    page = client.get("/missions/621/deplacement").get_data(as_text=True)
    assert s3.endpoint not in page and bucket not in page


def test_a_download_from_s3_has_the_headers_of_one_from_the_folder(s3_app, database_url, tmp_path):
    client = signed_in(s3_app)
    send(client, ("billet.pdf", pypdf_pdf()))
    [document] = documents(s3_app)
    from_s3 = fetch(client, f"/missions/621/pieces/{document.id}")

    local = create_app(base_config(database_url, tmp_path / "local"))
    try:
        # The same document, copied into a folder.
        with local.app_context():
            get_storage().root.mkdir(parents=True, exist_ok=True)
            (get_storage().root / document.stored_name).write_bytes(from_s3.data)
        from_folder = fetch(signed_in(local), f"/missions/621/pieces/{document.id}")
    finally:
        dispose(local)
    assert from_s3.data == from_folder.data == pypdf_pdf()
    assert {h: from_s3.headers.get(h) for h in DOWNLOAD_HEADERS} == {
        h: from_folder.headers.get(h) for h in DOWNLOAD_HEADERS
    }


def test_the_bucket_is_not_public(s3_app, s3, bucket):
    client = signed_in(s3_app)
    send(client, ("billet.pdf", pypdf_pdf()))
    [document] = documents(s3_app)
    anonymous = f"{s3.endpoint}/{bucket}/{document.stored_name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=10)
    refused.value.close()
    assert refused.value.code == 403
    # And a signed-out visitor of the app gets the sign-in page, not the file.
    assert fetch(s3_app.test_client(), f"/missions/621/pieces/{document.id}").status_code == 302


def test_a_failed_commit_leaves_no_object(s3_app, s3, bucket, monkeypatch):
    from sqlalchemy.orm import Session

    client = signed_in(s3_app)

    def commit_fails(self):
        raise RuntimeError("connexion perdue pendant le COMMIT")

    # The object is written (it is the first thing that happens), then the commit fails.
    written = []
    original = S3Storage.save_stream

    def save_and_note(self, *args, **kwargs):
        stored = original(self, *args, **kwargs)
        written.append(stored.name)
        monkeypatch.setattr(Session, "commit", commit_fails)
        return stored

    monkeypatch.setattr(S3Storage, "save_stream", save_and_note)
    response = send(client, ("billet.pdf", pypdf_pdf()))
    monkeypatch.undo()
    assert response.status_code == 500
    assert len(written) == 1
    assert objects(s3, bucket) == []
    assert documents(s3_app) == []


def test_check_finds_orphans_both_ways_and_repairs(s3_app, s3, bucket):
    client = signed_in(s3_app)
    send(client, ("gardé.pdf", pypdf_pdf(1)))
    send(client, ("perdu.pdf", pypdf_pdf(3)))
    kept, lost = documents(s3_app)
    with s3_app.app_context():
        storage = get_storage()
        orphan = storage.save_bytes(b"%PDF-1.4 orphan", extension=".pdf").name
        storage.delete(lost.stored_name)
    name, prefix = bucket.split("/")
    s3.client().put_object(Bucket=name, Key=f"{prefix}/notes.txt", Body=b"pas de nous")
    runner = s3_app.test_cli_runner()

    report = runner.invoke(args=["documents", "check", "--grace-minutes", "0"])
    assert report.exit_code == 1
    assert f"Fichier sans pièce, à supprimer (--repair) : {orphan}" in report.output
    assert f"pièce {lost.id} « perdu.pdf »" in report.output
    assert "Fichier inconnu, laissé : notes.txt" in report.output

    repaired = runner.invoke(args=["documents", "check", "--repair", "--grace-minutes", "0"])
    assert repaired.exit_code == 0, repaired.output
    assert objects(s3, bucket) == sorted([kept.stored_name, "notes.txt"])
    assert [d.id for d in documents(s3_app)] == [kept.id]
    with database(s3_app) as db:
        assert (
            db.scalar(select(AuditEvent.action).where(AuditEvent.action == "document_lost"))
            == "document_lost"
        )
        assert db.scalar(select(Document).where(Document.id == lost.id)) is None
    again = runner.invoke(args=["documents", "check", "--verify", "--grace-minutes", "0"])
    assert again.exit_code == 0 and "Stockage des pièces cohérent." in again.output


def test_readyz_says_when_the_bucket_cannot_be_reached(s3_app, database_url, tmp_path, s3):
    ready = s3_app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_data(as_text=True) == "database: ok\nstorage: ok\n"
    missing = create_app(base_config(database_url, tmp_path) | s3.config("no-such-bucket/x"))
    try:
        answer = missing.test_client().get("/readyz")
    finally:
        dispose(missing)
    assert answer.status_code == 503
    assert answer.get_data(as_text=True) == "database: ok\nstorage: indisponible\n"
