"""/healthz watches beat: a real `celery beat` process is stopped, /healthz turns 503 within
BEAT_STALE_SECONDS (180, the production default) and back to 200 when beat returns."""

import json
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from engage import beat
from tests.deploy.processes import BeatProcess
from tests.support import wait_until


def health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(480)
def test_healthz_turns_503_within_three_minutes_of_beat_stopping_and_back_when_it_returns(client):
    assert settings.BEAT_STALE_SECONDS == 180  # the production default, not shortened here
    with tempfile.TemporaryDirectory() as folder:
        first = BeatProcess(Path(folder)).start()
        try:
            wait_until(lambda: health(client)[0] == 200, 60, interval=0.5, message="beat's tick")
            assert health(client)[1]["beat"] == "ok"
            first.stop()
            stopped = time.monotonic()

            wait_until(lambda: health(client)[0] == 503, 200, interval=1, message="a 503")
            after = time.monotonic() - stopped
            status, body = health(client)

            second = BeatProcess(Path(folder)).start()
            back = time.monotonic()
            wait_until(lambda: health(client)[0] == 200, 60, interval=0.5, message="a 200")
            back = time.monotonic() - back
        finally:
            first.stop()
            if "second" in locals():
                second.stop()

    assert 180 - beat.HEARTBEAT_EVERY - 5 <= after <= 180 + 5, after
    assert body["beat"] == "late"
    assert any(reason.startswith("beat last ticked") for reason in body["reasons"]), body
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert back < 30


def test_a_beat_that_never_ticked_is_a_503_with_the_reason(client, db):
    status, body = health(client)

    assert status == 503
    assert body["beat"] == "never"
    assert "celery -A engage beat" in body["reasons"][0]


def test_a_recent_tick_is_ok_and_an_old_one_late(client, db, settings):
    beat.record_tick()
    assert health(client) == (
        200,
        {
            "status": "ok",
            "database": "ok",
            "broker": "ok",
            "beat": "ok",
            "queued": health(client)[1]["queued"],
        },
    )

    beat.record_tick(time.time() - 181)
    status, body = health(client)
    assert status == 503 and body["beat"] == "late"

    settings.BEAT_STALE_SECONDS = 600
    assert health(client)[0] == 200


def test_the_queue_depth_is_reported(client, db, settings):
    from engage.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("this test needs Redis as the broker (make test sets CELERY_BROKER_URL)")
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    beat.record_tick()
    with app.connection_for_write() as conn:
        client_ = conn.default_channel.client
        client_.delete(queue)
        for i in range(3):
            client_.lpush(queue, json.dumps({"n": i}))
        try:
            assert health(client)[1]["queued"] == 3
        finally:
            client_.delete(queue)
