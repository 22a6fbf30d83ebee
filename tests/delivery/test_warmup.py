"""Warm-up across three frozen days: day one sends exactly its allowance, most engaged first; the
rest go on the following days; every reader gets the campaign once. In-process (eager tasks), the
clock frozen at each day with time-machine; WARM_UP_RAMP is shortened to 3 then 5 a day."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from newsletter import tasks
from newsletter.delivery import warmup
from newsletter.models import Campaign, Delivery, Rsvp, Subscriber
from tests import ledger
from tests.factories import CampaignFactory, PostFactory, staff_member

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=LONDON)


@pytest.fixture
def ramp(settings):
    settings.TIME_ZONE = "Europe/London"
    settings.WARM_UP_STARTED_ON = "2026-03-02"
    settings.WARM_UP_RAMP = [3, 5]


@pytest.fixture
def readers(topics):
    """Ten readers of news, named by how engaged they are (r0 the most)."""
    with time_machine.travel(at(1), tick=False):
        people = {}
        for n in range(10):
            confirmed = timezone.now() - timedelta(days=300 + n)
            people[f"r{n}"] = ledger.subscriber(
                f"r{n}@example.org", confirmed_at=confirmed, allow_tracking=True
            )
            people[f"r{n}"].topics.add(topics["news"])
        old = ledger.campaign(topics["news"])
        # r0 confirmed yesterday; r1 clicked last week; r2 answered an event two weeks ago.
        Subscriber.objects.filter(pk=people["r0"].pk).update(confirmed_at=timezone.now())
        ledger.delivery(old, people["r1"], clicked_at=timezone.now() - timedelta(days=7))
        event = PostFactory(topic=topics["news"])
        Rsvp.objects.create(
            post=event,
            subscriber=people["r2"],
            answer=Rsvp.Answer.YES,
            answered_at=timezone.now() - timedelta(days=14),
        )
        # r3 clicked yesterday, but does not allow tracking: the click is not used.
        ledger.delivery(old, people["r3"], clicked_at=timezone.now())
        Subscriber.objects.filter(pk=people["r3"].pk).update(allow_tracking=False)
        # r4 soft-bounced once: last, whatever else.
        Subscriber.objects.filter(pk=people["r4"].pk).update(
            soft_bounces=1, confirmed_at=timezone.now()
        )
    return people


def tick(capture) -> None:
    with capture(execute=True):
        tasks.tick()


def got(mailoutbox) -> list[str]:
    return [message.to[0].split("@")[0] for message in mailoutbox]


def test_a_new_domain_sends_its_daily_allowance_most_engaged_first_and_everyone_once(
    ramp, readers, topics, mailoutbox, client, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(2), tick=False):
        campaign = CampaignFactory(
            posts=[PostFactory(topic=topics["news"])],
            topics=[topics["news"]],
            status=Campaign.Status.SCHEDULED,
            scheduled_at=timezone.now() - timedelta(seconds=1),
        )
        tick(django_capture_on_commit_callbacks)
        assert sorted(got(mailoutbox)) == ["r0", "r1", "r2"]
        client.force_login(staff_member("sender"))
        page = client.get(f"/admin/newsletter/campaign/{campaign.pk}/change/").content.decode()
        assert "Warming up the sending domain: today 3 of 10, the rest from tomorrow." in page

    with time_machine.travel(at(3, 0) + timedelta(minutes=1), tick=False):
        tick(django_capture_on_commit_callbacks)
        # r3's click is not counted (no tracking allowed); r4 soft-bounced: last.
        assert sorted(got(mailoutbox)[3:]) == ["r3", "r5", "r6", "r7", "r8"]

    with time_machine.travel(at(4, 9), tick=False):
        tick(django_capture_on_commit_callbacks)
        tick(django_capture_on_commit_callbacks)  # nothing left: the campaign is sent
    assert sorted(got(mailoutbox)) == sorted(readers)  # each reader once
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    sent_on = {
        row.subscriber.email.split("@")[0]: timezone.localdate(row.sent_at)
        for row in Delivery.objects.filter(campaign=campaign)
    }
    assert sent_on["r9"].day == 4 and sent_on["r4"].day == 4


def test_a_days_allowance_is_shared_by_every_campaign_that_day(
    ramp, readers, topics, mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(3), tick=False):  # day two: 5 a day
        for _ in range(2):
            CampaignFactory(
                posts=[PostFactory(topic=topics["news"])],
                topics=[topics["news"]],
                status=Campaign.Status.SCHEDULED,
                scheduled_at=timezone.now() - timedelta(seconds=1),
            )
        tick(django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 5


def test_without_a_start_date_nothing_is_held(settings, readers, topics):
    settings.WARM_UP_STARTED_ON = ""
    assert not warmup.holds()
    settings.WARM_UP_STARTED_ON = "2026-03-02"
    settings.WARM_UP_RAMP = [3, 5]
    with time_machine.travel(at(4), tick=False):  # past the ramp's last day
        assert not warmup.holds()


def test_a_welcome_series_honours_the_days_allowance_too(
    ramp, readers, mailoutbox, django_capture_on_commit_callbacks
):
    from newsletter import series
    from tests.series_runs import enrol, welcome_series

    with time_machine.travel(at(2), tick=False):  # day one: 3 a day
        welcome_series({"subject": "Welcome to the charity"})
        enrol([readers[f"r{n}"] for n in range(5)], timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert series.run_due_steps(timezone.now()) == 5
        assert len(mailoutbox) == 3

    with time_machine.travel(at(3, 0) + timedelta(minutes=1), tick=False):
        tick(django_capture_on_commit_callbacks)
    assert sorted(got(mailoutbox)) == ["r0", "r1", "r2", "r3", "r4"]  # each once
