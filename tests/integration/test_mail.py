"""E-mail: outbox rows committed with the change, delivered by a real SMTP server, retried."""

from __future__ import annotations

import email
import email.policy
import io
import re
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import func, select

from imagin import create_app, mail
from imagin.mail import deliver_pending, queue_mail
from imagin.models import Mission, OutgoingMail
from imagin.notifications import (
    in_payment_message,
    mission_url,
    notify_approved,
    notify_convocation,
    notify_sent_back,
)
from tests.conftest import CLAIRE, GESTIONNAIRE, base_config, csrf_from, database, send_outbox

REASON = "Les horaires du 02/12/2022 ne correspondent pas à la feuille d'émargement."


class Collector:
    """An SMTP handler that keeps what it receives, or refuses it with 451."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 Erreur temporaire, réessayez plus tard"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(port: int, handler: Collector, **options):
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def port() -> int:
    return free_port()


def make_app(database_url, tmp_path, **config):
    settings = base_config(database_url, tmp_path)
    settings |= {"OUTBOX_DIR": str(tmp_path / "outbox"), "IMPORT_DIR": str(tmp_path / "imports")}
    settings |= config
    app = create_app(settings)
    mail.init_app(app)  # idempotent: create_app may already have done it
    return app


@pytest.fixture
def smtp_app(database_url, tmp_path, port):
    app = make_app(database_url, tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=5)
    yield app
    app.extensions["imagin.engine"].dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    app.extensions["imagin.engine"].dispose()


def mission_621(db) -> Mission:
    return db.scalar(select(Mission).where(Mission.number == 621))


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def unsent(app) -> list[OutgoingMail]:
    with database(app) as db:
        return list(db.scalars(select(OutgoingMail).where(OutgoingMail.sent_at.is_(None))))


def test_convocation_is_delivered_by_the_sender_after_commit(smtp_app, port):
    with smtp_server(port, Collector()) as server:
        with database(smtp_app) as db:
            notify_convocation(db, mission_621(db))
            db.commit()
        # The committing code never talks to the SMTP server: the sender does.
        assert server.messages == []
        send_outbox(smtp_app)
        assert len(server.messages) == 1
    sender, recipients, message = server.messages[0]
    assert recipients == [CLAIRE]
    assert sender == "no-reply@imagin.invalid"
    assert message["To"] == CLAIRE
    assert message["Subject"] == "Convocation — mission N° 621 — CERTIFICAT DE FORMATION GENERALE"
    assert message["Auto-Submitted"] == "auto-generated"
    body = body_of(message)
    assert body.startswith("Bonjour Claire Martin,")
    for expected in (
        "Vous êtes convoqué(e) pour la mission N° 621.",
        "Examen : CERTIFICAT DE FORMATION GENERALE (Session décembre 2022)",
        "Type de mission : Interrogation orale",
        "Lieu : PRISON CTRE PEN ALENCON CONDE/SARTHE ALENCON CEDEX (06112932), ALENCON",
        "le vendredi 02/12/2022 à 09:00, durée : 1 journée(s)",
        # No request: the link is built on PUBLIC_URL.
        "Votre mission : http://127.0.0.1:8080/missions/621",
        "dec2@example.fr",
    ):
        assert expected in body, expected
    with database(smtp_app) as db:
        row = db.scalar(select(OutgoingMail))
        assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_a_rolled_back_change_sends_nothing(smtp_app, port):
    with smtp_server(port, Collector()) as server, database(smtp_app) as db:
        notify_convocation(db, mission_621(db))
        db.rollback()
    assert server.messages == []
    with database(smtp_app) as db:
        assert db.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_status_notifications_say_what_happened(smtp_app, port):
    with smtp_server(port, Collector()) as server, database(smtp_app) as db:
        mission = mission_621(db)
        notify_sent_back(db, mission, "pay", REASON)
        notify_approved(db, mission, "travel")
        queue_mail(db, *in_payment_message(mission, ["pay", "travel"], 123456))
        db.commit()
        send_outbox(smtp_app)
    subjects = [message["Subject"] for _from, _to, message in server.messages]
    assert subjects == [
        "À corriger — mission N° 621 — frais de rémunération",
        "Validé par gestionnaire — mission N° 621 — frais de déplacement",
        "Mis en paiement — mission N° 621",
    ]
    sent_back, approved, paid = (body_of(message) for _f, _t, message in server.messages)
    assert "Motif :\n" + REASON in sent_back and "« À corriger »" in sent_back
    assert "« Validé par gestionnaire »" in approved
    assert "frais de rémunération et frais de déplacement" in paid
    assert "1\u202f234,56\xa0€" in paid or "1\xa0234,56\xa0€" in paid


def test_link_in_a_request_is_the_public_address_whatever_the_host_header(app):
    # A forged Host header must not choose where the links of e-mails lead.
    request = app.test_request_context("/", base_url="https://evil.example/imagin")
    with request, database(app) as db:
        url = mission_url(mission_621(db))
    assert url == "http://127.0.0.1:8080/missions/621/suivi"


def test_link_outside_a_request_follows_public_url_and_prefix(database_url, tmp_path):
    app = make_app(
        database_url, tmp_path, PUBLIC_URL="https://academie.example.fr/", URL_PREFIX="/imagin"
    )
    with database(app) as db:
        assert (
            mission_url(mission_621(db)) == "https://academie.example.fr/imagin/missions/621/suivi"
        )
    app.extensions["imagin.engine"].dispose()


def test_server_down_keeps_the_message_then_retry_sends_it(smtp_app, port):
    # Nothing listens on the port: the change commits, its message waits.
    with database(smtp_app) as db:
        notify_convocation(db, mission_621(db))
        db.commit()
    send_outbox(smtp_app)
    [waiting] = unsent(smtp_app)
    assert waiting.attempts == 1
    assert "Connection refused" in waiting.last_error or "Errno" in waiting.last_error

    runner = smtp_app.test_cli_runner()
    failed = runner.invoke(args=["mail", "retry"])
    assert failed.exit_code == 1
    assert "0 message envoyé." in failed.output and "1 message en échec" in failed.output
    assert unsent(smtp_app)[0].attempts == 2

    with smtp_server(port, Collector()) as server:
        result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 message envoyé."
    assert [to for _f, to, _m in server.messages] == [[CLAIRE]]
    assert unsent(smtp_app) == []
    # Sent once: retrying again sends nothing more.
    assert runner.invoke(args=["mail", "retry"]).output.strip() == "0 message envoyé."


def test_server_refusing_with_451_keeps_the_message(smtp_app, port):
    handler = Collector()
    handler.refuse = True
    with smtp_server(port, handler):
        with database(smtp_app) as db:
            notify_approved(db, mission_621(db), "pay")
            db.commit()
        send_outbox(smtp_app)
        [waiting] = unsent(smtp_app)
        assert waiting.attempts == 1 and "451" in waiting.last_error
        listing = smtp_app.test_cli_runner().invoke(args=["mail", "list"])
        assert "Validé par gestionnaire — mission N° 621" in listing.output
        assert "451" in listing.output

        handler.refuse = False
        result = smtp_app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "1 message envoyé." in result.output
    assert len(handler.messages) == 1
    assert unsent(smtp_app) == []


def test_a_failing_server_never_loses_the_change_made_in_a_request(smtp_app, port):
    """A gestionnaire's import commits even though the SMTP server is down."""
    client = smtp_app.test_client()
    token = csrf_from(client.get("/intervenant").get_data(as_text=True))
    client.post(
        "/intervenant",
        data={"csrf_token": token, "email": GESTIONNAIRE, "password": "imagin-demo"},
    )
    page = client.get("/gestion/import").get_data(as_text=True)
    csv = (
        "numero_mission;examen;taux_examen;session_code;session;type_mission;"
        "base_remuneration;centre_code;centre_nom;centre_commune;jours;email;prenom;nom;"
        "remuneration;deplacement;bureau_code\n"
        "3001;CAP CUISINE;heure 2;2026-06;Session juin 2026;Épreuve pratique;heures;"
        "0141555K;LYCEE HOTELIER FRANCOIS RABELAIS;HEROUVILLE-SAINT-CLAIR;15/06/2026 08:00;"
        "paul.durand@example.fr;Paul;Durand;oui;oui;DEC2\n"
    )
    preview = client.post(
        "/gestion/import",
        data={"csrf_token": csrf_from(page), "file": (io.BytesIO(csv.encode()), "c.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    apply_token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/gestion/import/appliquer", data={"csrf_token": csrf_from(html), "token": apply_token}
    )
    assert response.status_code == 303
    with database(smtp_app) as db:
        assert db.scalar(select(Mission).where(Mission.number == 3001)) is not None
    send_outbox(smtp_app)
    [waiting] = unsent(smtp_app)
    assert waiting.to == "paul.durand@example.fr" and waiting.last_error

    with smtp_server(port, Collector()) as server:
        assert smtp_app.test_cli_runner().invoke(args=["mail", "retry"]).exit_code == 0
    [(_from, to, message)] = server.messages
    assert to == ["paul.durand@example.fr"]
    assert "mission N° 3001" in message["Subject"]
    # Sent from a request: the link is still the configured public address.
    assert "http://127.0.0.1:8080/missions/3001/suivi" in body_of(message)


def test_login_when_a_user_is_configured(database_url, tmp_path, port):
    logins = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=logins[-1] == (b"imagin", b"s3cret"))

    app = make_app(
        database_url,
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_USER="imagin",
        SMTP_PASSWORD="s3cret",
    )
    handler = Collector()
    options = {"authenticator": authenticate, "auth_require_tls": False}
    with smtp_server(port, handler, **options), database(app) as db:
        queue_mail(db, CLAIRE, "Essai", "Corps du message accentué : é à ç.")
        db.commit()
        report = deliver_pending(app, db)
    assert len(report.sent) == 1 and not report.failed
    assert logins == [(b"imagin", b"s3cret")]
    assert body_of(handler.messages[0][2]).strip() == "Corps du message accentué : é à ç."
    app.extensions["imagin.engine"].dispose()


def test_without_smtp_messages_are_written_to_the_outbox(app, tmp_path):
    with database(app) as db:
        notify_sent_back(db, mission_621(db), "travel", REASON)
        db.commit()
        mail_id = db.scalar(select(OutgoingMail.id))
    send_outbox(app)
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert path.name.startswith(f"{mail_id}-")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["From"] == "IMAG'IN <no-reply@imagin.invalid>"
    assert message["To"] == CLAIRE
    assert message["Subject"] == "À corriger — mission N° 621 — frais de déplacement"
    assert message.get_content_charset() == "utf-8"
    assert REASON in body_of(message)
    assert unsent(app) == []


def test_outbox_defaults_to_the_instance_folder(database_url, tmp_path):
    app = make_app(database_url, tmp_path, OUTBOX_DIR=None)
    assert mail.outbox_dir(app) == Path(app.instance_path) / "outbox"
    assert mail.outbox_dir({"OUTBOX_DIR": str(tmp_path)}) == tmp_path
    app.extensions["imagin.engine"].dispose()


def test_retry_with_nothing_waiting(app):
    result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 0
    assert result.output.strip() == "0 message envoyé."
    listing = app.test_cli_runner().invoke(args=["mail", "list"])
    assert listing.output.strip() == "Aucun message en attente."
