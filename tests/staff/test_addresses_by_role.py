"""A reader's address, and what they opened or clicked, are shown only to roles that may see
subscribers (newsletter.view_subscriber). A sender watching a campaign sees counts and outcomes:
the delivery list and page, the report, the progress block and the inbound list give them no
address, not even inside an error a mail server wrote, and searching by address tells them
nothing."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Delivery
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, staff_member

pytestmark = pytest.mark.django_db
READER = "reader.private@example.org"
Status = Campaign.Status


@pytest.fixture
def sent(topics):
    news = topics["news"]
    campaign = CampaignFactory(topics=[news], posts=[PostFactory(topic=news)])
    for step in (Status.SCHEDULED, Status.SENDING):
        transition(campaign, step)
    reader = SubscriberFactory(email=READER, active=True, topics=[news])
    other = SubscriberFactory(email="someone.else@example.org", active=True, topics=[news])
    now = timezone.now()
    opened = Delivery.objects.create(
        campaign=campaign,
        subscriber=reader,
        status=Delivery.Status.SENT,
        sent_at=now,
        opened_at=now,
        clicked_at=now,
        message_id="<m1@engage.example.org>",
    )
    failed = Delivery.objects.create(
        campaign=campaign,
        subscriber=other,
        status=Delivery.Status.FAILED,
        attempts=3,
        last_error="450 4.2.1 <someone.else@example.org>: mailbox busy, try later",
    )
    return {"campaign": campaign, "opened": opened, "failed": failed}


def signed_in(role: str) -> Client:
    client = Client()
    if role == "superuser":
        from django.contrib.auth.models import User

        client.force_login(User.objects.create_superuser("boss", "boss@engage.example.org"))
    else:
        client.force_login(staff_member(role))
    return client


def pages(sent) -> dict[str, str]:
    campaign = sent["campaign"]
    return {
        "delivery list": reverse("admin:newsletter_delivery_changelist"),
        "opened delivery": reverse("admin:newsletter_delivery_change", args=[sent["opened"].pk]),
        "failed delivery": reverse("admin:newsletter_delivery_change", args=[sent["failed"].pk]),
        "report": reverse("admin:newsletter_campaignreport_change", args=[campaign.pk]),
        "progress": reverse("admin:newsletter_delivery_progress", args=[campaign.pk]),
        "campaign": reverse("admin:newsletter_campaign_change", args=[campaign.pk]),
    }


def test_a_sender_sees_outcomes_but_no_address_nor_who_opened(sent):
    client = signed_in("sender")
    for name, url in pages(sent).items():
        response = client.get(url)
        assert response.status_code == 200, name
        page = response.content.decode()
        assert READER not in page and "someone.else@example.org" not in page, name
        assert "Opened at" not in page and "Clicked at" not in page, name
    listing = client.get(pages(sent)["delivery list"]).content.decode()
    assert "Failed" in listing and "mailbox busy" in listing  # the outcome and its reason


def test_searching_deliveries_by_address_tells_a_sender_nothing(sent):
    client = signed_in("sender")
    url = reverse("admin:newsletter_delivery_changelist")
    known = client.get(url + f"?q={READER}").context["cl"].result_count
    unknown = client.get(url + "?q=nobody.at.all@example.org").context["cl"].result_count
    assert known == unknown == 0


def test_a_sender_may_not_open_the_inbound_list(sent):
    url = reverse("admin:newsletter_inboundmessage_changelist")
    assert signed_in("sender").get(url).status_code == 403


def test_a_superuser_sees_the_address_and_who_opened(sent):
    client = signed_in("superuser")
    url = reverse("admin:newsletter_delivery_changelist") + f"?q={READER}"
    listing = client.get(url).content.decode()
    assert READER in listing
    detail = client.get(pages(sent)["opened delivery"]).content.decode()
    assert READER in detail and "Opened at" in detail
