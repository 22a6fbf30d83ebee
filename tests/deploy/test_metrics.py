"""/metrics: Prometheus's text format for whoever holds METRICS_TOKEN, and nobody else."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from engage import beat
from newsletter.models import Campaign, Delivery, Subscriber, WebhookEvent
from tests.factories import CampaignFactory, SubscriberFactory

TOKEN = "metrics-token-for-the-test-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples


def test_metrics_are_off_until_a_token_is_set(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"],
)
def test_no_token_or_a_wrong_one_is_a_401(client, db, metrics_on, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = Client(enforce_csrf_checks=True).get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"engage_" not in response.content


def test_the_counts_come_from_the_ledger(client, db, metrics_on, topics):
    now = timezone.now()
    earlier = now - timedelta(minutes=5)
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    CampaignFactory(status=Campaign.Status.DRAFT)
    readers = [SubscriberFactory(active=True) for _ in range(6)]
    S = Delivery.Status
    rows = [
        Delivery(campaign=campaign, subscriber=readers[0], status=S.SENT, sent_at=now),
        Delivery(campaign=campaign, subscriber=readers[1], status=S.SENT, sent_at=now),
        # sent before the last minute: not in the rate
        Delivery(campaign=campaign, subscriber=readers[2], status=S.SENT, sent_at=earlier),
        Delivery(campaign=campaign, subscriber=readers[3], status=S.FAILED),
        Delivery(campaign=campaign, subscriber=readers[4], status=S.QUEUED, attempts=1),
        Delivery(campaign=campaign, subscriber=readers[5], status=S.QUEUED),
    ]
    Delivery.objects.bulk_create(rows)
    WebhookEvent.objects.create(esp="postmark", event_id="e1", event_type="bounced")
    WebhookEvent.objects.create(esp="postmark", event_id="e2", event_type="delivered")
    beat.record_tick()

    samples = scrape(client)

    def value(name, **labels):
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("engage_messages_last_minute", outcome="sent") == 2
    assert value("engage_messages_last_minute", outcome="failed") == 1
    assert value("engage_messages_last_minute", outcome="deferred") == 1
    assert value("engage_deliveries", status="sent") == 3
    assert value("engage_deliveries", status="queued") == 2
    assert value("engage_campaigns", state="sending") == 1
    assert value("engage_campaigns", state="draft") == 1
    assert value("engage_campaigns", state="sent") == 0
    assert (
        value("engage_subscribers", status="active")
        == Subscriber.objects.filter(status=Subscriber.Status.ACTIVE).count()
    )
    assert value("engage_webhook_events_total", type="bounced") == 1
    assert ("engage_signups_total", ()) in samples
    assert value("engage_beat_seconds_since_tick") < 5
    assert ("engage_queue_depth", ()) in samples
