"""Retention: what is kept for a while goes when its period has passed, and nothing sooner."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from newsletter import tasks
from newsletter.models import Campaign, Delivery, SignupRequest, Subscriber, WebhookEvent
from newsletter.subscribers import retention, signups
from tests.factories import SubscriberFactory


@pytest.fixture
def now(time_machine):
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    return moment


def _age(model, pk, field, when):
    model.objects.filter(pk=pk).update(**{field: when})


def test_webhook_events_go_after_their_period(topics, now, settings):
    settings.RETENTION_WEBHOOK_EVENTS_DAYS = 90
    old = WebhookEvent.objects.create(esp="Postmark", event_id="old", event_type="delivered")
    recent = WebhookEvent.objects.create(esp="Postmark", event_id="new", event_type="delivered")
    _age(WebhookEvent, old.pk, "received_at", now - timedelta(days=91))
    _age(WebhookEvent, recent.pk, "received_at", now - timedelta(days=89))

    assert retention.purge_webhook_events() == 1
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["new"]


def test_delivery_errors_are_blanked_and_the_status_stays(topics, now, settings):
    settings.RETENTION_DELIVERY_ERRORS_DAYS = 30
    campaign = Campaign.objects.create(subject="News", slug="news")
    old, recent = (
        Delivery.objects.create(
            campaign=campaign,
            subscriber=SubscriberFactory(active=True),
            status=Delivery.Status.BOUNCED,
            last_error="550 5.1.1 <someone@example.org>: no such user",
        )
        for _ in range(2)
    )
    _age(Delivery, old.pk, "updated_at", now - timedelta(days=31))

    assert retention.strip_delivery_errors() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.last_error, old.status) == ("", Delivery.Status.BOUNCED)
    assert recent.last_error.startswith("550")


def test_consent_ip_and_user_agent_are_blanked_and_the_rest_of_the_record_stays(
    topics, now, settings
):
    settings.RETENTION_CONSENT_NETWORK_DAYS = 90
    old = SubscriberFactory(active=True, consent_at=now - timedelta(days=91))
    recent = SubscriberFactory(active=True, consent_at=now - timedelta(days=89))

    assert retention.strip_consent_network_details() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.consent_ip, old.consent_user_agent) == (None, "")
    assert (old.consent_source, old.consent_version) == ("/join/", "2026-11")
    assert old.consent_at == now - timedelta(days=91)
    assert (recent.consent_ip, recent.consent_user_agent) == ("192.0.2.1", "Mozilla/5.0 (test)")


def test_a_pending_subscriber_no_one_confirmed_goes_after_the_period(topics, now, settings):
    settings.RETENTION_UNCONFIRMED_DAYS = 30
    stale = SubscriberFactory(email="stale@example.org", topics=[topics["news"]])
    asked_again = SubscriberFactory(email="again@example.org")
    active = SubscriberFactory(email="active@example.org", active=True)
    for person in (stale, asked_again, active):
        _age(Subscriber, person.pk, "created_at", now - timedelta(days=31))
    signups.signup_request(email="again@example.org", source="/join/")

    assert retention.purge_unconfirmed_subscribers() == 1
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "again@example.org",
        "active@example.org",
    }


def test_signup_requests_go_when_their_links_have_expired(topics, now):
    old = signups.signup_request(email="old@example.org", source="/join/", ip="192.0.2.1")
    signups.signup_request(email="new@example.org", source="/join/", ip="192.0.2.1")
    expired = now - timedelta(seconds=django_settings.CONFIRMATION_MAX_AGE + 1)
    _age(SignupRequest, old.pk, "created_at", expired)

    assert retention.purge_signup_requests() == 1
    assert list(SignupRequest.objects.values_list("email", flat=True)) == ["new@example.org"]


def test_the_beat_runs_every_rule_daily(topics, now):
    entry = django_settings.CELERY_BEAT_SCHEDULE["retention"]
    old = WebhookEvent.objects.create(esp="Postmark", event_id="old", event_type="delivered")
    _age(WebhookEvent, old.pk, "received_at", now - timedelta(days=365))

    tasks.apply_retention.delay()

    assert entry["task"] == "newsletter.tasks.apply_retention"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {17})
    assert not WebhookEvent.objects.exists()
    assert {rule.__name__ for rule in retention.RULES} == set(retention.apply_retention())
    assert "purge_inbound_messages" in set(retention.apply_retention())


def test_nothing_recent_is_touched(topics, now):
    SubscriberFactory(active=True)
    WebhookEvent.objects.create(esp="Postmark", event_id="x", event_type="delivered")

    assert set(retention.apply_retention().values()) == {0}
    assert Subscriber.objects.get().consent_ip == "192.0.2.1"


def test_the_periods_the_readme_names_are_the_defaults():
    assert django_settings.RETENTION_WEBHOOK_EVENTS_DAYS == 90
    assert django_settings.RETENTION_INBOUND_MESSAGES_DAYS == 90
    assert django_settings.RETENTION_DELIVERY_ERRORS_DAYS == 30
    assert django_settings.RETENTION_CONSENT_NETWORK_DAYS == 90
    assert django_settings.RETENTION_UNCONFIRMED_DAYS == 30
    assert django_settings.CONFIRMATION_MAX_AGE == 7 * 24 * 3600
    assert django_settings.CONFIRMATION_DAILY_CAP == 3
    assert django_settings.CHARITY_SOFT_OPT_IN_FROM is None
