import pytest
from django.test import override_settings

from engage import beat
from engage.celery import app as celery_app


@pytest.fixture(autouse=True)
def beat_ticked():
    """Beat ticked just now (tests/deploy/test_beat_health.py runs a real one)."""
    beat.record_tick()


def test_it_reports_database_and_broker_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {**body, "status": "ok", "database": "ok", "broker": "ok", "beat": "ok"}


def test_it_answers_503_when_the_broker_is_down(client, db, monkeypatch):
    # A port nothing listens on, as when Redis has stopped.
    for name in ("broker_url", "broker_write_url"):
        monkeypatch.setattr(celery_app.conf, name, "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_when_the_database_is_down(client):
    from django.db import connection

    connection.close()
    with override_settings():
        original = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = "1"
        try:
            response = client.get("/healthz")
        finally:
            connection.close()
            connection.settings_dict["PORT"] = original
    assert response.status_code == 503
    body = response.json()
    assert body == {**body, "status": "unavailable", "database": "down", "broker": "ok"}
    assert "database is down" in body["reasons"]
