"""Outgoing webhooks: emitted where each thing happens, signed (Standard Webhooks), sent through
their ledger in sequence order, only what the endpoint's scope may see, never to a private
address."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from newsletter.api import webhooks
from newsletter.models import OutgoingEvent, Subscriber, WebhookDelivery, WebhookEndpoint
from newsletter.subscribers import policy, subscriptions
from tests.api.conftest import endpoint_for
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def test_each_change_arrives_signed_in_sequence_order(receiver, topics):
    hook = receiver()
    endpoint = endpoint_for(hook)
    reader = SubscriberFactory(email="ada@example.org", status=Subscriber.Status.ACTIVE)

    subscriptions.update_preferences(
        subscriber_id=reader.pk, first_name="Ada", topic_slugs=["news"], allow_tracking=False
    )
    subscriptions.unsubscribe(subscriber_id=reader.pk)
    other = SubscriberFactory(status=Subscriber.Status.ACTIVE)
    policy.suppress(other.pk, Subscriber.Status.BOUNCED)
    webhooks.drain(endpoint.pk)

    # Sent at once (one window), so they may arrive in any order: the sequence orders them.
    got = sorted(hook.received(), key=lambda each: each["payload"]["sequence"])
    assert all(each["verified"] for each in got)
    assert [each["payload"]["sequence"] for each in got] == [1, 2, 3]
    assert [each["payload"]["type"] for each in got] == [
        "subscriber.topics_changed",
        "subscriber.unsubscribed",
        "subscriber.bounced",
    ]
    assert got[0]["payload"]["data"]["subscriber"]["email"] == "ada@example.org"
    assert WebhookDelivery.objects.filter(status=Status.DELIVERED).count() == 3


def test_an_erasure_event_carries_no_address_and_earlier_events_lose_theirs(receiver, topics):
    hook = receiver()
    endpoint = endpoint_for(hook)
    reader = SubscriberFactory(email="forget-me@example.org", status=Subscriber.Status.ACTIVE)

    subscriptions.unsubscribe(subscriber_id=reader.pk)  # not yet delivered when erased
    subscriptions.erase(subscriber_id=reader.pk)
    webhooks.drain(endpoint.pk)

    got = sorted(hook.received(), key=lambda each: each["payload"]["sequence"])
    assert [each["payload"]["type"] for each in got] == [
        "subscriber.unsubscribed",
        "subscriber.erased",
    ]
    assert got[1]["payload"]["data"] == {"subscriber": {"id": reader.pk}}
    assert "forget-me" not in str(got)
    assert "forget-me" not in str(list(OutgoingEvent.objects.values_list("data", flat=True)))


def test_an_endpoint_without_the_subscriber_scope_gets_no_address(receiver, topics):
    hook = receiver()
    endpoint = endpoint_for(hook, scope="editor")
    reader = SubscriberFactory(email="private@example.org", first_name="Pat")

    subscriptions.unsubscribe(subscriber_id=reader.pk)
    webhooks.drain(endpoint.pk)

    (got,) = hook.received()
    assert got["payload"]["data"]["subscriber"] == {
        "id": reader.pk,
        "status": "unsubscribed",
        "topics": [],
    }


def test_an_endpoint_gets_only_the_events_it_wants(receiver, topics):
    hook = receiver()
    endpoint_for(hook, events=["subscriber.erased"])
    reader = SubscriberFactory()

    subscriptions.unsubscribe(subscriber_id=reader.pk)

    assert not WebhookDelivery.objects.exists()


def test_a_failed_delivery_waits_with_backoff_and_blocks_later_events(receiver, topics):
    hook = receiver()
    endpoint = endpoint_for(hook)
    hook.stop()
    first, second = SubscriberFactory(), SubscriberFactory()
    subscriptions.unsubscribe(subscriber_id=first.pk)
    subscriptions.unsubscribe(subscriber_id=second.pk)

    wait = webhooks.drain(endpoint.pk)

    rows = list(WebhookDelivery.objects.order_by("sequence"))
    assert [row.status for row in rows] == [Status.QUEUED, Status.QUEUED]
    assert rows[0].attempts == 1 and "Connection" in rows[0].last_error
    assert 25 <= wait <= 31  # WEBHOOK_RETRY_FIRST
    assert webhooks.drain(endpoint.pk) is not None  # not due yet: nothing sent, nothing lost
    hook.start()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert webhooks.drain(endpoint.pk) is None
    assert sorted(e["payload"]["sequence"] for e in hook.received()) == [1, 2]


def test_after_the_retry_horizon_a_delivery_fails_and_a_replay_sends_it(receiver, topics):
    hook = receiver()
    endpoint = endpoint_for(hook)
    hook.stop()
    subscriptions.unsubscribe(subscriber_id=SubscriberFactory().pk)
    webhooks.drain(endpoint.pk)
    row = WebhookDelivery.objects.get()

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        webhooks.drain(endpoint.pk)
    row.refresh_from_db()
    assert row.status == Status.FAILED

    hook.start()
    webhooks.replay(delivery_ids=[row.pk])
    webhooks.drain(endpoint.pk)
    row.refresh_from_db()
    assert row.status == Status.DELIVERED and len(hook.received()) == 1


def test_an_endpoint_failing_for_three_days_is_paused_and_superusers_are_told(receiver, topics):
    User.objects.create_superuser("boss", "boss@example.org", "pw")
    hook = receiver()
    endpoint = endpoint_for(hook)
    hook.stop()
    subscriptions.unsubscribe(subscriber_id=SubscriberFactory().pk)
    webhooks.drain(endpoint.pk)

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        webhooks.drain(endpoint.pk)

    endpoint.refresh_from_db()
    assert endpoint.paused_at is not None
    assert [m.to for m in mail.outbox] == [["boss@example.org"]]
    assert endpoint.name in mail.outbox[0].subject
    # Given up after WEBHOOK_RETRY_HORIZON (a day), and kept for a replay.
    assert WebhookDelivery.objects.get().status == Status.FAILED


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "http://example.org/hook",  # not https
        "https://user:pw@example.org/hook",
        "ftp://example.org/hook",
    ],
)
def test_admin_refuses_an_endpoint_at_a_private_address(admin_client, settings, url):
    settings.WEBHOOK_ALLOW_LOOPBACK = False

    response = admin_client.post(
        "/admin/newsletter/webhookendpoint/add/",
        {"name": "bad", "url": url, "events": ["subscriber.erased"], "scope": "full"},
    )

    assert response.status_code == 200  # the form again, with the reason
    assert response.context["adminform"].form.errors["url"]
    assert not WebhookEndpoint.objects.exists()


def test_the_address_is_checked_again_when_sent(receiver, settings, topics):
    hook = receiver()
    endpoint = endpoint_for(hook)
    subscriptions.unsubscribe(subscriber_id=SubscriberFactory().pk)
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # as production: the saved URL is loopback

    webhooks.drain(endpoint.pk)

    row = WebhookDelivery.objects.get()
    assert row.status == Status.QUEUED and row.last_error.startswith("refused:")
    assert hook.received() == []


def test_a_superuser_makes_an_endpoint_and_sees_its_secret_once(admin_client, receiver):
    hook = receiver()

    response = admin_client.post(
        "/admin/newsletter/webhookendpoint/add/",
        {"name": "CRM", "url": hook.url, "events": ["subscriber.erased"], "scope": "full"},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(endpoint.secret in message for message in shown)
    page = admin_client.get(f"/admin/newsletter/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


def test_staff_who_are_not_superusers_cannot_see_keys_or_endpoints(client, topics):
    from tests.factories import staff_member

    for role in ("editor", "sender", "subscriber manager"):
        client.force_login(staff_member(role))
        for path in ("apikey", "webhookendpoint", "webhookdelivery"):
            assert client.get(f"/admin/newsletter/{path}/").status_code == 403


def test_confirmation_answers_interest_and_a_sent_campaign_are_events_too(receiver, topics):
    from newsletter.campaigns.states import transition
    from newsletter.engagement import interest, rsvp
    from newsletter.models import Campaign, PostEngagement, SignupRequest
    from newsletter.subscribers import signups
    from tests.factories import CampaignFactory, PostFactory, event_taking_rsvps

    hook = receiver()
    endpoint = endpoint_for(hook)
    signup = SignupRequest.objects.create(email="new@example.org", source="test", topics=None)
    SubscriberFactory(email="new@example.org", status=Subscriber.Status.PENDING)
    outcome, reader_id = signups.confirm(signup_id=signup.pk)
    event = event_taking_rsvps(topics["events"])
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=reader_id), post_id=event.pk, answer="yes")
    involved = PostFactory(kind="get-involved", topic=topics["get-involved"], status="published")
    PostEngagement.objects.create(post=involved, count_me_in=True)
    interest.count_me_in(subscriber_id=reader_id, post=involved)
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    transition(campaign, Campaign.Status.SENT, sent_count=1, recipients_count=1)
    webhooks.drain(endpoint.pk)

    got = sorted(hook.received(), key=lambda each: each["payload"]["sequence"])
    assert [each["payload"]["type"] for each in got] == [
        "subscriber.confirmed",
        "rsvp.answered",
        "interest.registered",
        "campaign.sent",
    ]
    assert got[1]["payload"]["data"]["rsvp"]["answer"] == "yes"
    assert got[3]["payload"]["data"]["campaign"]["sent_count"] == 1
