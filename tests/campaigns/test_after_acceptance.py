"""A campaign's report tells "accepted by the relay" from "arrived": a relay's 4xx waiting for a
retry here, a delay notice or an ESP's deferral after acceptance, and an ESP's delivery report."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from newsletter.campaigns.acceptance import after_acceptance
from newsletter.inbound.receive import receive
from newsletter.models import Delivery, WebhookEvent
from tests import ledger
from tests.inbound_mail import corpus


@pytest.fixture
def campaign(topics, settings):
    settings.BOUNCE_ADDRESS = "bounces@news.engage.example.org"
    now = timezone.now()
    made = ledger.campaign(topics["news"], started_at=now - timedelta(hours=1))
    ledger.delivery(made, ledger.subscriber("arrived@example.org"), delivered_at=now)
    ledger.delivery(made, ledger.subscriber("accepted@example.org"))
    delayed = ledger.delivery(made, ledger.subscriber("delayed@example.org"))
    deferred = ledger.delivery(made, ledger.subscriber("deferred@example.org"))
    ledger.delivery(
        made,
        ledger.subscriber("greylisted@example.org"),
        status=Delivery.Status.QUEUED,
        sent_at=None,
        message_id="",
        attempts=2,
        last_error="451 4.7.1 Greylisted, please try again later",
    )
    # A delay notice from the relay's queue, through the inbound door.
    receive(corpus("soft_bounce--postfix-delayed.txt", delayed), source="pipe")
    # An ESP's "deferred" event for another reader, stored by the webhook door.
    WebhookEvent.objects.create(
        esp="Mailgun",
        event_id="mg-deferred-1",
        event_type="deferred",
        delivery=deferred,
        occurred_at=now - timedelta(minutes=5),
    )
    return made


def test_the_figures_tell_accepted_delivered_deferred_and_retrying_apart(campaign):
    figures = after_acceptance(campaign_id=campaign.pk)

    assert (figures.accepted, figures.delivered, figures.deferred, figures.retrying) == (4, 1, 2, 1)
    assert "Greylisted" in figures.retrying_last_error
    assert figures.deferred_last_reported is not None


def test_a_delivery_report_after_a_deferral_takes_the_reader_off_the_waiting_count(campaign):
    Delivery.objects.filter(subscriber__email="delayed@example.org").update(
        delivered_at=timezone.now()
    )

    figures = after_acceptance(campaign_id=campaign.pk)

    assert (figures.delivered, figures.deferred) == (2, 1)


def test_the_report_page_shows_them(client, campaign):
    staff = User.objects.create_user("staffer", "staff@engage.example.org", "pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_campaignreport"))
    client.force_login(staff)

    page = client.get(reverse("admin:newsletter_campaignreport_change", args=[campaign.pk]))

    text = " ".join(page.content.decode().split())
    assert page.status_code == 200
    assert "Waiting here for a retry (the relay said “try later”)</th><td>1</td>" in text
    assert "Reported delayed since, not yet delivered</th><td>2</td>" in text
    assert "Reported delivered since</th><td>1</td>" in text
    assert "451 4.7.1 Greylisted" in text
