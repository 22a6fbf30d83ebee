"""Warm-up across three frozen days: day one sends exactly its allowance, most engaged first; the
rest go on the following days; every reader gets the campaign once. In-process (eager tasks), the
clock frozen at each day with time-machine; the sending profile's ramp is shortened to 3 then 5 a
day (set up by a superuser in admin, or made directly). Also: the profile's form in admin, who may
see and change it, and which profile applies."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from newsletter import tasks
from newsletter.delivery import warmup
from newsletter.mail.sender_auth import from_domain
from newsletter.models import Campaign, Delivery, Rsvp, SendingProfile, Subscriber
from tests import ledger
from tests.factories import CampaignFactory, PostFactory, staff_member

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=LONDON)


ADD = "/admin/newsletter/sendingprofile/add/"


@pytest.fixture
def london(settings):
    settings.TIME_ZONE = "Europe/London"


@pytest.fixture
def ramp(london):
    """The default profile, new since 2 March, 3 then 5 a day."""
    return SendingProfile.objects.create(
        name="Our relay", warming_up_since=date(2026, 3, 2), ramp="3, 5"
    )


def admin_client() -> Client:
    """A superuser's browser: CSRF checked as in production."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(User.objects.create_superuser("admin", "admin@engage.example.org", "pw"))
    return browser


def post_profile(browser: Client, url: str = ADD, **fields):
    """The profile's form as staff fill it in: its page first (for the CSRF token), then save."""
    page = browser.get(url)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    data = {"name": "", "domain": "", "warming_up_since": "", "ramp": "", "_save": "Save"}
    return browser.post(url, {**data, **fields, "csrfmiddlewaretoken": token.group(1)})


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
    london, readers, topics, mailoutbox, client, django_capture_on_commit_callbacks
):
    with time_machine.travel(at(1), tick=False):  # the day before, a superuser marks it new
        answer = post_profile(
            admin_client(),
            name="Our new domain through the relay",
            domain=from_domain().upper(),
            warming_up_since="2026-03-02",
            ramp="3,5",
        )
        assert answer.status_code == 302
        profile = SendingProfile.objects.get()
        assert (profile.domain, profile.ramp) == (from_domain(), "3, 5")
        assert not warmup.holds()  # not begun yet

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


def test_without_a_new_profile_nothing_is_held(london, readers):
    with time_machine.travel(at(2), tick=False):
        assert not warmup.holds()  # no profile at all
        profile = SendingProfile.objects.create(name="Relay", warming_up_since=None, ramp="3, 5")
        assert not warmup.holds()  # warmed up
        SendingProfile.objects.filter(pk=profile.pk).update(warming_up_since=date(2026, 3, 2))
        assert warmup.holds()
    with time_machine.travel(at(4), tick=False):  # past the ramp's last day
        assert not warmup.holds()


def test_a_warmed_up_profile_sends_to_everyone_on_the_day(
    london, readers, topics, mailoutbox, client, django_capture_on_commit_callbacks
):
    SendingProfile.objects.create(name="Relay", warming_up_since=None, ramp="3, 5")
    with time_machine.travel(at(2), tick=False):
        campaign = CampaignFactory(
            posts=[PostFactory(topic=topics["news"])],
            topics=[topics["news"]],
            status=Campaign.Status.SCHEDULED,
            scheduled_at=timezone.now() - timedelta(seconds=1),
        )
        tick(django_capture_on_commit_callbacks)
        tick(django_capture_on_commit_callbacks)
        assert sorted(got(mailoutbox)) == sorted(readers)
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SENT
        client.force_login(staff_member("sender"))
        page = client.get(f"/admin/newsletter/campaign/{campaign.pk}/change/").content.decode()
        assert "Warming up" not in page


def test_the_from_domains_own_profile_comes_before_the_default(london):
    SendingProfile.objects.create(name="Default", warming_up_since=date(2026, 3, 2), ramp="3")
    SendingProfile.objects.create(
        name="Another domain", domain="other.example.net", warming_up_since=date(2026, 3, 2)
    )
    assert warmup.profile().name == "Default"
    assert warmup.allowance(date(2026, 3, 2)) == 3
    SendingProfile.objects.create(
        name="Ours", domain=from_domain(), warming_up_since=date(2026, 3, 2), ramp="7, 9"
    )
    assert warmup.profile().name == "Ours"
    assert [warmup.allowance(date(2026, 3, day)) for day in (1, 2, 3, 4)] == [None, 7, 9, None]


@pytest.mark.parametrize(
    ("ramp", "error"),
    [
        ("50, 0, 100", "Day 2: “0” is not a whole number of messages above zero."),
        ("50, -5", "Day 2: “-5” is not a whole number of messages above zero."),
        ("50, 2.5", "Day 2: “2.5” is not a whole number of messages above zero."),
        ("fifty", "Day 1: “fifty” is not a whole number of messages above zero."),
        ("100, 500, 200", "Day 3: 200 is fewer than day 2&#x27;s 500. A ramp never goes down."),
        (" , ", "Enter at least one day&#x27;s number of messages, e.g. 50, 100, 500."),
    ],
)
def test_a_ramp_that_is_not_whole_numbers_going_up_is_refused_with_the_reason(ramp, error):
    answer = post_profile(admin_client(), name="Relay", ramp=ramp)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Please correct the error below." in page
    assert error in page
    assert not SendingProfile.objects.exists()


def test_a_new_profiles_form_starts_with_the_documented_ramp():
    page = admin_client().get(ADD).content.decode()
    documented = "50, 100, 500, 1000, 5000, 10000, 20000, 40000, 80000, 150000, 300000"
    assert f"\n{documented}</textarea>" in page
    assert "New: warming up since" in page
    assert "Leave it empty when it is warmed up: then there is no daily limit." in page


def test_senders_see_the_profiles_and_only_superusers_change_them(client, ramp):
    client.force_login(staff_member("sender"))
    listing = client.get("/admin/newsletter/sendingprofile/")
    assert listing.status_code == 200
    with time_machine.travel(at(3), tick=False):
        listing = client.get("/admin/newsletter/sendingprofile/")
    assert "Warming up, day 2: 5 messages today" in listing.content.decode()
    assert client.get(ADD).status_code == 403
    change = f"/admin/newsletter/sendingprofile/{ramp.pk}/change/"
    client.post(change, {"name": "Relay", "warming_up_since": "", "ramp": "3, 5"})
    ramp.refresh_from_db()
    assert ramp.warming_up_since == date(2026, 3, 2)  # unchanged
    client.force_login(staff_member("editor"))
    assert client.get("/admin/newsletter/sendingprofile/").status_code == 403
    # A superuser marks it warmed up.
    answer = post_profile(admin_client(), change, name="Relay", ramp="3, 5")
    assert answer.status_code == 302
    ramp.refresh_from_db()
    assert ramp.warming_up_since is None


def test_a_local_time_campaign_honours_the_days_allowance_at_each_readers_hour(
    ramp, readers, topics, mailoutbox, client, django_capture_on_commit_callbacks
):
    # The three most engaged live in New York (09:00 there is 14:00 UTC), the rest in London.
    Subscriber.objects.filter(pk__in=[readers[n].pk for n in ("r0", "r1", "r2")]).update(
        time_zone="America/New_York"
    )
    with time_machine.travel(at(2, 9) + timedelta(minutes=1), tick=False):
        campaign = CampaignFactory(
            posts=[PostFactory(topic=topics["news"])],
            topics=[topics["news"]],
            status=Campaign.Status.SCHEDULED,
            scheduled_at=at(2, 9),
            local_date=date(2026, 3, 2),
            local_time=time(9, 0),
        )
        tick(django_capture_on_commit_callbacks)
        # Day one's three places went to New York: none in London now.
        assert got(mailoutbox) == []
        client.force_login(staff_member("sender"))
        page = client.get(f"/admin/newsletter/campaign/{campaign.pk}/change/").content.decode()
        assert "Warming up the sending domain: today 3 of 10, the rest from tomorrow." in page

    with time_machine.travel(datetime(2026, 3, 2, 14, 1, tzinfo=UTC), tick=False):
        tick(django_capture_on_commit_callbacks)
        assert sorted(got(mailoutbox)) == ["r0", "r1", "r2"]

    with time_machine.travel(at(3, 9) + timedelta(minutes=1), tick=False):
        tick(django_capture_on_commit_callbacks)
        assert sorted(got(mailoutbox)[3:]) == ["r3", "r5", "r6", "r7", "r8"]

    with time_machine.travel(at(4, 9) + timedelta(minutes=1), tick=False):
        tick(django_capture_on_commit_callbacks)
        tick(django_capture_on_commit_callbacks)
    assert sorted(got(mailoutbox)) == sorted(readers)  # each reader once
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    moments = {
        row.subscriber.email.split("@")[0]: row.send_after
        for row in Delivery.objects.filter(campaign=campaign)
    }
    assert moments["r0"] == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert moments["r3"] == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert moments["r4"] == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


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
