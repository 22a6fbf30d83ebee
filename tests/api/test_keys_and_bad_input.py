"""Keys, scopes and bad input: a clear 4xx in the one error shape, and nothing stored or changed."""

import json

import pytest
from django.utils import timezone

from newsletter.models import ApiKey, AuditEvent, IdempotentRequest, Post, Subscriber
from tests.api.conftest import ApiClient
from tests.factories import PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscribers/"
NEW = {"mode": "import", "email": "new@example.org", "consent": False}


def _error(response, status):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    return error


def test_no_key_a_wrong_key_and_a_revoked_key_are_refused(make_key, topics):
    client = make_key("full", "Old CRM")
    ApiKey.objects.update(revoked_at=timezone.now())

    for caller in (ApiClient(None), ApiClient("eng_notakey"), client):
        error = _error(caller.post(URL, NEW), 401)
        assert error["code"] == "unauthenticated"
    assert not Subscriber.objects.exists()


def test_an_editors_key_reads_no_address_and_changes_no_subscriber(cms, topics):
    reader = SubscriberFactory()

    for response in (
        cms.get(URL),
        cms.get(f"{URL}{reader.pk}/"),
        cms.get(f"{URL}{reader.pk}/export/"),
        cms.post(URL, NEW),
        cms.delete(f"{URL}{reader.pk}/"),
        cms.get("/api/v1/suppressions/check/", email=reader.email),
    ):
        assert _error(response, 403)["code"] == "forbidden"
    assert Subscriber.objects.filter(pk=reader.pk).exists()


def test_a_senders_key_reads_campaigns_but_writes_no_post(make_key, topics):
    sender = make_key("sender")

    assert sender.get("/api/v1/campaigns/").status_code == 200
    _error(sender.post("/api/v1/posts/", {"title": "T", "topic": "news"}), 403)
    assert not Post.objects.exists()


def test_unknown_fields_and_wrong_types_name_the_field(crm, topics):
    unknown = _error(crm.post(URL, {**NEW, "is_admin": True}), 400)
    wrong = _error(crm.post(URL, {**NEW, "topics": "news"}), 400)
    not_json = _error(crm.post(URL, raw="{nope"), 400)

    assert unknown["fields"] == {"is_admin": ["Unknown field."]}
    assert "topics" in wrong["fields"]
    assert not_json["code"] == "bad_request"
    assert not Subscriber.objects.exists()


def test_an_oversize_body_is_a_413(crm, topics, settings):
    big = json.dumps({**NEW, "first_name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    assert _error(crm.post(URL, raw=big), 413)["code"] == "too_large"
    assert _error(crm.post(URL, raw=big, headers={"Idempotency-Key": "k1"}), 413)
    assert not Subscriber.objects.exists()


def test_a_retried_post_returns_the_first_answer_and_creates_once(crm, topics):
    headers = {"Idempotency-Key": "import-42"}

    first = crm.post(URL, NEW, headers=headers)
    second = crm.post(URL, NEW, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Subscriber.objects.count() == 1
    assert AuditEvent.objects.filter(action="api: import").count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(crm, topics):
    headers = {"Idempotency-Key": "import-43"}
    crm.post(URL, NEW, headers=headers)

    other = crm.post(URL, {**NEW, "email": "other@example.org"}, headers=headers)

    assert _error(other, 422)["code"] == "idempotency_key_reused"
    assert not Subscriber.objects.filter(email="other@example.org").exists()
    assert IdempotentRequest.objects.count() == 1


def test_a_key_over_its_rate_is_a_429(crm, topics, settings):
    settings.API_RATE = "3/m"

    statuses = [crm.get("/api/v1/topics/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_the_key_records_when_and_from_where_it_was_last_used(crm, topics):
    crm.get("/api/v1/topics/")

    key = ApiKey.objects.get()
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"
    assert "eng_" not in key.secret_hash  # only the hash is kept


def test_an_editors_key_writes_drafts_but_only_a_full_key_publishes(cms, make_key, topics):
    created = cms.post("/api/v1/posts/", {"title": "Walk for ALS", "topic": "news", "body": "Hi"})
    post_id = created.json()["id"]
    refused = cms.post(f"/api/v1/posts/{post_id}/publish/")
    published = make_key("full").post(f"/api/v1/posts/{post_id}/publish/")

    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert _error(refused, 403)
    assert published.json()["status"] == "published" and published.json()["published_at"]
    live = cms.patch(f"/api/v1/posts/{post_id}/", {"title": "Changed"})
    assert _error(live, 403) and Post.objects.get().title == "Walk for ALS"


def test_a_post_is_checked_by_the_admins_rules(cms, topics):
    PostFactory(slug="taken", topic=topics["news"])

    event = cms.post("/api/v1/posts/", {"title": "E", "kind": "event", "topic": "events"})
    taken = cms.post("/api/v1/posts/", {"title": "T", "slug": "taken", "topic": "news"})

    assert "starts_at" in _error(event, 400)["fields"]
    assert "slug" in _error(taken, 400)["fields"]
    assert Post.objects.count() == 1


def test_the_schema_and_its_reference_page_are_public_and_hold_no_data(client, topics):
    SubscriberFactory(email="private@example.org")

    schema = client.get("/api/v1/schema/")
    page = client.get("/api/v1/docs/")

    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert "/api/v1/subscribers/" in schema.json()["paths"]
    assert page.status_code == 200 and b"/api/v1/schema/" in page.content
    assert b"private@example.org" not in schema.content + page.content


def test_a_time_zone_offset_postgresql_cannot_store_is_read_in_utc(crm, topics):
    """ISO 8601 allows +23:31; PostgreSQL refuses offsets past ±15:59 (Schemathesis found a 500)."""
    response = crm.get("/api/v1/subscribers/", updated_since="2592-03-07T08:40:18+23:31")
    assert response.status_code == 200, response.content
