"""What operators see: /healthz, /readyz, the request id and log line, Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

from imagin import create_app
from imagin.mail import queue_mail
from imagin.ops import JsonFormatter
from tests.conftest import CLAIRE, base_config, count_queries, database


def test_healthz_answers_without_database_or_session(app, client):
    with count_queries(app) as statements:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"
    assert statements == []
    assert "Set-Cookie" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_readyz_checks_the_database_and_the_storage(client, tmp_path):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "database: ok\nstorage: ok\n"
    assert "Set-Cookie" not in response.headers

    broken = create_app(
        base_config(f"sqlite:///{tmp_path}/no/such/folder/imagin.db", tmp_path)
        | {"UPLOAD_DIR": "/proc/imagin-uploads"}
    )
    answer = broken.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_data(as_text=True) == "database: indisponible\nstorage: indisponible\n"


def test_every_response_carries_a_request_id(client):
    fresh = client.get("/intervenant").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert client.get("/intervenant").headers["X-Request-Id"] != fresh
    # nginx's $request_id is kept, so its access log and ours share the id.
    given = "4f1c2a9be0d34c6f8a1b2c3d4e5f6a7b"
    assert client.get("/healthz", headers={"X-Request-Id": given}).headers["X-Request-Id"] == given
    # Anything else (a log injection attempt) is replaced.
    forged = client.get("/healthz", headers={"X-Request-Id": 'x", "user_id": 1, "y": "'})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])


def test_one_json_log_line_per_request_with_the_user(signed_in, caplog):
    with caplog.at_level(logging.INFO, logger="imagin.request"):
        response = signed_in.get("/missions")
    [record] = [r for r in caplog.records if r.name == "imagin.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["method"] == "GET" and line["path"] == "/missions"
    assert line["endpoint"] == "missions.index" and line["status"] == 200
    assert line["duration_ms"] > 0 and line["level"] == "info"
    assert isinstance(line["user_id"], int)
    assert line["remote_addr"] == "127.0.0.1"


def test_metrics_only_for_the_token_holder(database_url, tmp_path):
    app = create_app(base_config(database_url, tmp_path) | {"METRICS_TOKEN": "jeton-de-test"})
    client = app.test_client()
    client.get("/intervenant")
    client.get("/intervenant")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer faux"}).status_code == 404
    with database(app) as db:
        queue_mail(db, CLAIRE, "Essai", "Corps")
        db.commit()
    response = client.get("/metrics", headers={"Authorization": "Bearer jeton-de-test"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'imagin_http_requests_total{endpoint="auth.login",method="GET",status="200"} 2.0' in text
    assert 'imagin_http_request_duration_seconds_count{endpoint="auth.login"} 2.0' in text
    assert "imagin_outbox_waiting 1.0" in text
    assert "imagin_outbox_oldest_age_seconds" in text
    app.extensions["imagin.engine"].dispose()


def test_without_a_token_there_is_no_metrics_page(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
