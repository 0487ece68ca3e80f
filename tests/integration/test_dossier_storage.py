"""The dossier's numbers at rest: a copy of the database alone reveals no IBAN, BIC or NIR."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from imagin.crypto import KEY_FILE, read_key_file
from imagin.db import get_db
from imagin.demo import DEMO_BIC, DEMO_IBAN, DEMO_NIR
from imagin.dossier.service import get_dossier, keyring, numbers
from imagin.models import Dossier, User
from tests.conftest import CLAIRE, POSTGRES_URL

# Every way the numbers could be written: compact, grouped as on a RIB or a carte Vitale.
SECRETS = [
    DEMO_IBAN,
    "FR76 3000 6000 0112 3456 7890 189",
    "30006000011234567890189",
    DEMO_NIR,
    "2 85 03 75 056 123 06",
    "5056123",
]


def _claire_id(app) -> int:
    with app.app_context():
        return get_db().scalar(select(User.id).where(User.email == CLAIRE))


def test_demo_dossier_decrypts_with_the_apps_key(app):
    with app.app_context():
        dossier = get_dossier(get_db(), _claire_id(app))
        assert numbers(dossier, keyring()) == numbers(dossier, keyring())
        values = numbers(dossier, keyring())
        assert (values.iban, values.bic, values.nir) == (DEMO_IBAN, DEMO_BIC, DEMO_NIR)
        assert dossier.iban.startswith("v1.") and DEMO_IBAN not in dossier.iban


def test_the_raw_database_holds_no_iban_nor_nir(app, database_url, tmp_path):
    # The rows as any SQL client reads them.
    with app.app_context():
        rows = get_db().execute(text("SELECT * FROM dossier_financier")).all()
        assert rows
        dumped = repr(rows)
    if POSTGRES_URL:
        url = urlsplit(POSTGRES_URL.replace("+psycopg", ""))
        result = subprocess.run(
            [
                shutil.which("pg_dump") or "pg_dump",
                "--data-only",
                "-h",
                url.hostname or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                url.path.lstrip("/"),
            ],
            capture_output=True,
            check=True,
            text=True,
        )
        dumped += result.stdout
        assert "dossier_financier" in result.stdout
    else:
        # The SQLite file itself, byte by byte (and its write-ahead log).
        app.extensions["imagin.engine"].dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        for candidate in (path, path.with_name(path.name + "-wal")):
            if candidate.exists():
                dumped += candidate.read_bytes().decode("latin-1")
    for secret in SECRETS:
        assert secret not in dumped, secret
    assert "Claire MARTIN" in dumped  # the search does read the rows


def test_keys_rotate_reencrypts_every_value(app, runner, tmp_path):
    old = keyring(app).keys
    app.config["DATA_KEY"] = None
    app.instance_path = str(tmp_path / "instance")
    Path(app.instance_path).mkdir()
    # Start from an instance key file holding the test key, as a deployment without
    # IMAGIN_DATA_KEY would.
    from imagin.crypto import write_key_file

    write_key_file(Path(app.instance_path) / KEY_FILE, list(old))
    app.extensions.pop("imagin.keyring")
    with app.app_context():
        before = get_db().scalar(select(Dossier.iban))
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "3 valeur(s) rechiffrée(s)" in result.output
    keys = read_key_file(Path(app.instance_path) / KEY_FILE, create=False)
    assert len(keys) == 1 and keys[0] not in old
    assert (Path(app.instance_path) / KEY_FILE).stat().st_mode & 0o777 == 0o600
    app.extensions.pop("imagin.keyring")  # a fresh process reads the file
    with app.app_context():
        dossier = get_db().scalar(select(Dossier))
        assert dossier.iban != before
        assert numbers(dossier, keyring()).iban == DEMO_IBAN


def test_without_a_configured_key_one_is_generated_0600(app, tmp_path):
    app.config["DATA_KEY"] = None
    app.instance_path = str(tmp_path / "fresh")
    Path(app.instance_path).mkdir()
    app.extensions.pop("imagin.keyring", None)
    ring = keyring(app)
    path = Path(app.instance_path) / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path, create=False) == list(ring.keys)


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_a_wrong_configured_key_is_refused_in_french(app, bad):
    app.config["DATA_KEY"] = bad
    app.extensions.pop("imagin.keyring", None)
    with pytest.raises(ValueError, match="IMAGIN_DATA_KEY"):
        keyring(app)
