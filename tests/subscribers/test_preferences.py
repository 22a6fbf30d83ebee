import json

import pytest
from django.test import Client

from newsletter.models import Campaign, Delivery, Subscriber, Suppression, WebhookEvent
from newsletter.subscribers.addresses import suppression_hash
from newsletter.subscribers.tokens import make_token
from tests.factories import subscriber_table


@pytest.fixture
def page(subscriber):
    return f"/preferences/{make_token('preferences', subscriber.pk)}/"


def test_it_shows_topics_name_and_the_tracking_choice(client, subscriber, page):
    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "reader@example.org" in html
    assert 'value="Rita"' in html
    assert "Let us see which emails I open and links I click" in html
    form = response.context["form"]
    assert sorted(form.initial["topics"]) == ["events", "news"]
    for label in ("Save", "Unsubscribe", "Download my data", "Erase me"):
        assert label in html


def test_saving_changes_topics_name_and_tracking(client, subscriber, page):
    response = client.post(
        page,
        {"action": "save", "first_name": "Rita M", "topics": ["education"]},
    )

    assert response.status_code == 200
    assert "Your preferences were saved" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.first_name == "Rita M"
    assert [t.slug for t in subscriber.topics.all()] == ["education"]
    assert subscriber.allow_tracking is False
    assert subscriber.status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize(
    "data, field",
    [
        ({"first_name": "Rita\r\nBcc: x@example.org", "topics": ["news"]}, "first_name"),
        ({"first_name": "R" * 101, "topics": ["news"]}, "first_name"),
        ({"first_name": "Rita", "topics": ["gossip"]}, "topics"),
    ],
)
def test_bad_input_shows_a_field_error_and_changes_nothing(client, subscriber, page, data, field):
    before = subscriber_table()

    response = client.post(page, {"action": "save", **data})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert subscriber_table() == before


def test_every_change_needs_the_csrf_token(subscriber, page):
    before = subscriber_table()
    forger = Client(enforce_csrf_checks=True)

    for action in ("save", "unsubscribe", "erase-confirmed"):
        assert forger.post(page, {"action": action, "topics": ["news"]}).status_code == 403

    assert subscriber_table() == before


def test_unsubscribe_from_the_preference_centre(client, subscriber, page):
    response = client.post(page, {"action": "unsubscribe"})

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_download_my_data_is_a_json_attachment(client, subscriber, page):
    response = client.post(page, {"action": "export"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["email"] == "reader@example.org"
    assert data["first_name"] == "Rita"
    assert sorted(data["topics"]) == ["events", "news"]
    assert data["consent"]["ip"] == "192.0.2.1"
    assert data["consent"]["wording_version"] == "2026-11"


def test_erase_asks_first_and_changes_nothing_until_confirmed(client, subscriber, page):
    before = subscriber_table()

    response = client.post(page, {"action": "erase"})

    assert response.status_code == 200
    assert "Yes, erase my data" in response.content.decode()
    assert subscriber_table() == before


def test_erase_removes_the_person_keeps_a_hash_and_the_delivery_ledger(client, subscriber, page):
    campaign = Campaign.objects.create(subject="November news", slug="november-news")
    delivery = Delivery.objects.create(
        campaign=campaign, subscriber=subscriber, status=Delivery.Status.SENT
    )
    event = WebhookEvent.objects.create(
        esp="postmark", event_id="e1", event_type="delivered", recipient="Reader@example.org"
    )

    response = client.post(page, {"action": "erase-confirmed"})

    assert response.status_code == 200
    assert "Your data was erased" in response.content.decode()
    assert not Subscriber.objects.filter(email="reader@example.org").exists()
    suppression = Suppression.objects.get()
    assert suppression.email_hash == suppression_hash("reader@example.org")
    assert suppression.reason == "erased"
    assert "reader" not in suppression.email_hash
    delivery.refresh_from_db()
    assert delivery.subscriber is None
    assert delivery.status == Delivery.Status.SENT
    assert not WebhookEvent.objects.filter(pk=event.pk).exists()


def test_after_erasure_the_link_finds_nothing(client, subscriber, page):
    client.post(page, {"action": "erase-confirmed"})

    response = client.get(page)

    assert response.status_code == 404
    assert "We hold no data" in response.content.decode()


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe"])
def test_a_token_for_another_purpose_gets_400(client, subscriber, purpose):
    response = client.get(f"/preferences/{make_token(purpose, subscriber.pk)}/")

    assert response.status_code == 400


def test_a_forged_token_gets_400(client, subscriber):
    assert client.get("/preferences/1:forged/").status_code == 400
    assert client.post("/preferences/1:forged/", {"action": "unsubscribe"}).status_code == 400


def test_an_unknown_action_gets_400_and_changes_nothing(client, subscriber, page):
    before = subscriber_table()

    assert client.post(page, {"action": "promote"}).status_code == 400
    assert subscriber_table() == before
