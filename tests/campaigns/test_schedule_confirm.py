"""Scheduling asks first: who it goes to (delivery's own count) and when, in the zone chosen;
only the confirmation's POST schedules. Zones are picked from a list grouped by region."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from newsletter import delivery
from newsletter.models import Campaign, Delivery, DigestSchedule, Snapshot
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
Status = Campaign.Status
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@pytest.fixture
def campaign(topics):
    """News and Get involved, one News post: 8 readers get it, 2 of the 10 get nothing."""
    news = CampaignFactory(
        subject="November issue",
        topics=[topics["news"], topics["get-involved"]],
        posts=[PostFactory(topic=topics["news"])],
    )
    for _ in range(8):
        SubscriberFactory(active=True, topics=[topics["news"]])
    for _ in range(2):
        SubscriberFactory(active=True, topics=[topics["get-involved"]])
    SubscriberFactory(active=True, topics=[topics["news"]], status="bounced")
    return news


def schedule_url(campaign):
    return reverse("admin:campaign-schedule", args=[campaign.pk])


def test_scheduling_without_confirmation_schedules_nothing_and_asks(client, superuser, campaign):
    page = client.get(schedule_url(campaign)).content.decode()
    sentence = "This goes to 8 people (2 of the 10 in these topics get nothing from its posts)."
    assert sentence in page

    response = client.post(
        schedule_url(campaign), {"at": "2030-06-01T14:05", "timezone": "Europe/London"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Send to 8 people at 14:05 Europe/London on Saturday 1 June 2030?" in html
    assert sentence in html
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == (Status.DRAFT, None)
    assert not Snapshot.objects.filter(campaign=campaign).exists()


def test_the_confirmation_schedules_at_the_time_in_the_chosen_zone(client, superuser, campaign):
    asked = client.post(
        schedule_url(campaign), {"at": "2030-06-01T14:05", "timezone": "America/New_York"}
    ).content.decode()
    assert "Send to 8 people at 14:05 America/New_York on Saturday 1 June 2030?" in asked
    confirmation = dict(HIDDEN.findall(asked))
    assert confirmation.pop("csrfmiddlewaretoken")
    assert confirmation == {
        "at": "2030-06-01T14:05",
        "timezone": "America/New_York",
        "confirmed": "1",
    }

    response = client.post(schedule_url(campaign), confirmation)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Status.SCHEDULED
    assert campaign.scheduled_at == datetime(2030, 6, 1, 18, 5, tzinfo=UTC)


def test_send_now_asks_first_and_the_number_asked_is_the_number_sent(
    client, superuser, campaign, sink, django_capture_on_commit_callbacks
):
    page = client.get(schedule_url(campaign)).content.decode()
    now = re.search(r'name="at" value="([^"]+)"', page).group(1)  # the form's default
    asked = client.post(schedule_url(campaign), {"at": now, "timezone": "Europe/London"})
    assert "Send to 8 people now" in asked.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT

    # "Yes, send" starts it at once (its start is queued with the send; tasks run in-process
    # here): no wait for beat's next tick.
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(schedule_url(campaign), dict(HIDDEN.findall(asked.content.decode())))
    html = client.get(done.url).content.decode()
    assert "“November issue” is starting: it goes out now." in html
    assert "8 sent · 0 queued" in html
    assert sorted(a for r in sink.wait_for(8) for a in r.rcpt_tos) == sorted(
        campaign.deliveries.filter(status=Delivery.Status.SENT).values_list(
            "subscriber__email", flat=True
        )
    )
    sent = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count()
    skipped = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SKIPPED).count()
    assert (sent, skipped) == (8, 2)


@pytest.mark.parametrize("first", ["beat", "send now"])
def test_beat_and_the_immediate_start_racing_send_once(
    client, superuser, campaign, sink, django_capture_on_commit_callbacks, first
):
    page = client.get(schedule_url(campaign)).content.decode()
    now = re.search(r'name="at" value="([^"]+)"', page).group(1)
    asked = client.post(schedule_url(campaign), {"at": now, "timezone": "Europe/London"})
    with django_capture_on_commit_callbacks() as queued:  # the start, not run yet
        client.post(schedule_url(campaign), dict(HIDDEN.findall(asked.content.decode())))
    assert len(queued) == 1

    def send_now():
        with django_capture_on_commit_callbacks(execute=True):
            queued[0]()

    def beat():
        with django_capture_on_commit_callbacks(execute=True):
            return delivery.start_due_campaigns()

    if first == "beat":
        assert beat() == 1
        send_now()  # finds nothing due: beat's claim won
    else:
        send_now()
        assert beat() == 0  # the start's claim won
    delivery.finish_campaigns()

    received = sink.wait_for(8)
    assert len({r.rcpt_tos[0] for r in received}) == len(received) == 8
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (Status.SENT, 8)


def test_a_campaign_for_later_says_when_it_starts_in_the_staffs_format(
    client, superuser, campaign, django_capture_on_commit_callbacks
):
    asked = client.post(
        schedule_url(campaign), {"at": "2030-06-01T14:05", "timezone": "Europe/London"}
    )
    with django_capture_on_commit_callbacks() as queued:
        done = client.post(
            schedule_url(campaign), dict(HIDDEN.findall(asked.content.decode())), follow=True
        )
    assert queued == []  # nothing to start before its time
    html = done.content.decode()
    assert "“November issue” is scheduled for 1 Jun 2030, 2:05 p.m. BST." in html
    assert "Starts 1 Jun 2030, 2:05 p.m. BST." in html
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SCHEDULED


def test_a_campaign_that_cannot_go_is_refused_before_the_question(client, superuser, topics):
    empty = CampaignFactory(topics=[topics["news"]])
    response = client.post(
        schedule_url(empty), {"at": "2030-06-01T14:05", "timezone": "Europe/London"}
    )
    html = response.content.decode()
    assert "it has no posts" in html and "Send to" not in html
    assert Campaign.objects.get(pk=empty.pk).status == Status.DRAFT


def test_zones_are_picked_by_region_with_the_organisations_first(client, superuser, campaign):
    page = client.get(schedule_url(campaign)).content.decode()
    select = page[page.index('<select name="timezone"') :]
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups[0] == "Organisation" and "Europe" in groups and "America" in groups
    first = re.search(r'<option value="([^"]+)"([^>]*)>', select)
    assert first.group(1) == "Europe/London" and "selected" in first.group(2)
    assert '<option value="America/New_York">New York, America</option>' in select

    refused = client.post(
        schedule_url(campaign), {"at": "2030-06-01T14:05", "timezone": "Mars/Base"}
    )
    assert "Select a valid choice" in refused.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


def test_a_recurring_digest_picks_its_zone_from_the_same_list(client, superuser, topics):
    add = reverse("admin:newsletter_digestschedule_add")
    page = client.get(add).content.decode()
    assert '<optgroup label="Organisation">' in page and '<optgroup label="Pacific">' in page
    fields = {
        "name": "Weekly",
        "topics": [topics["news"].pk],
        "weekday": "0",
        "time_of_day": "09:00",
        "subject": "This week",
        "is_active": "on",
    }
    refused = client.post(add, {**fields, "timezone": "Nowhere/Land"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not DigestSchedule.objects.exists()
    assert client.post(add, {**fields, "timezone": "Asia/Tokyo"}).status_code == 302
    assert DigestSchedule.objects.get().timezone == "Asia/Tokyo"


def test_an_event_picks_its_zone_from_the_same_list(client, superuser):
    page = client.get(reverse("admin:newsletter_post_add")).content.decode()
    select = page[page.index('<select name="timezone"') :]
    assert select.index('<optgroup label="Organisation">') < select.index('label="Europe"')
    assert '<option value="Europe/London" selected>' in select
