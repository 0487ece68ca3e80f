"""Migration 10_receipt_links keeps existing data, on SQLite and on PostgreSQL: the receipt each
document named becomes its link, and on SQLite legs and expenses never give an id twice."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url

from imagin.db import make_engine
from imagin.migrations import alembic_config, upgrade
from tests.conftest import POSTGRES_URL

ROWS = [
    "INSERT INTO user_account (id, email, first_name, last_name, role, session_token, "
    "family_commune, admin_commune, active) VALUES (1, 'a@example.fr', '', '', 'intervenant', "
    "'t', '', '', true)",
    "INSERT INTO bureau (id, code, name, email, phone, address) VALUES (1, 'B', 'B', 'e', 'p', '')",
    "INSERT INTO exam (id, name, rate_class) VALUES (1, 'E', 'NR')",
    "INSERT INTO exam_session (id, code, label) VALUES (1, 'S', 'S')",
    "INSERT INTO exam_centre (id, code, name, commune) VALUES (1, 'C', 'C', 'C')",
    "INSERT INTO mission_type (id, label, pay_basis) VALUES (1, 'T', 'hours')",
    "INSERT INTO mission (id, number, intervenant_id, exam_id, session_id, mission_type_id, "
    "centre_id, bureau_id, specialite, epreuve_option, pay_applies, travel_applies, cancelled, "
    "starts_on, ends_on) VALUES (1, 1, 1, 1, 1, 1, 1, 1, '', '', true, true, false, "
    "'2022-12-02', '2022-12-02')",
    "INSERT INTO claim (id, mission_id, pay_status, travel_status, version) "
    "VALUES (1, 1, 'non_valide', 'non_valide', 1)",
    "INSERT INTO travel_leg (id, claim_id, departure_at, departure_city, arrival_at, "
    "arrival_city, mode) VALUES (5, 1, '2022-12-02 07:00:00', 'A', '2022-12-02 09:00:00', "
    "'B', 'train')",
]
OLD_KEYS = ["leg-5", "night-2022-12-02", "meal-2024-06-12-dejeuner", "expense-7", "autre", None]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("IMAGIN_TEST_DATABASE_URL is not set: PostgreSQL migration not tested")
    # A scratch database of its own: the shared test database keeps its schema.
    name = f"imagin_migration_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_the_old_receipt_keys_become_links_and_come_back(engine):
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(text(statement))
        for index, key in enumerate(OLD_KEYS):
            connection.execute(
                text(
                    "INSERT INTO document (claim_id, original_name, stored_name, content_type, "
                    "size, sha256, receipt_key) VALUES (1, 'x.pdf', :stored, 'application/pdf', "
                    "1, :sha, :key)"
                ),
                {"stored": f"{index:032x}.pdf", "sha": str(index), "key": key},
            )
    upgrade(engine)
    with engine.connect() as connection:
        links = connection.execute(
            text("SELECT document_id, kind, key FROM receipt_link ORDER BY document_id")
        ).all()
        assert [tuple(link) for link in links] == [
            (1, "leg", "5"),
            (2, "night", "2022-12-02"),
            (3, "meal", "2024-06-12:dejeuner"),
            (4, "expense", "7"),
        ]
        assert connection.execute(text("SELECT count(*) FROM document")).scalar() == 6
        assert connection.execute(text("SELECT id FROM travel_leg")).scalar() == 5
        if engine.dialect.name == "sqlite":
            sql = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name IN ('travel_leg', 'expense')")
            ).scalars()
            assert all("AUTOINCREMENT" in table for table in sql)
    command.downgrade(alembic_config(engine), "0001")
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT receipt_key FROM document ORDER BY id")).scalars()
        assert list(keys) == [*OLD_KEYS[:4], None, None]
    upgrade(engine)
