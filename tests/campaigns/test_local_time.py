"""Local-time sending in one process: the waves' moments across clock changes, scheduling in
admin and its confirmation, the waves on the campaign page, digests in each reader's zone, and a
reader's zone from the join form to the preference centre and the data export.
(tests/test_local_time_worker.py sends the waves through real workers.)"""

import csv
import io
import json
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from newsletter import delivery
from newsletter.campaigns import digests, scheduling
from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Delivery, DigestSchedule, SignupRequest, Subscriber
from newsletter.subscribers import signups
from newsletter.subscribers.tokens import make_token
from tests.factories import CampaignFactory, DigestScheduleFactory, PostFactory, SubscriberFactory
from tests.subscribers.test_signup import form_data

pytestmark = pytest.mark.django_db
SUNDAY = date(2026, 3, 29)  # Europe clocks spring forward (01:00 UTC)
NINE = time(9, 0)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- The moments --------------------------------------------------------------------------------


def test_nine_local_follows_each_zone_across_its_clock_change():
    # London: 09:00 GMT on Saturday, 09:00 BST (08:00 UTC) on the Sunday it springs forward.
    assert scheduling.moment(date(2026, 3, 28), NINE, "Europe/London") == utc(2026, 3, 28, 9, 0)
    assert scheduling.moment(SUNDAY, NINE, "Europe/London") == utc(2026, 3, 29, 8, 0)
    # New York springs forward on Sunday 8 March.
    assert scheduling.moment(date(2026, 3, 7), NINE, "America/New_York") == utc(2026, 3, 7, 14, 0)
    assert scheduling.moment(date(2026, 3, 8), NINE, "America/New_York") == utc(2026, 3, 8, 13, 0)
    # Half-hour zones, and a wall time the clocks skip (01:30 London that Sunday: read as GMT).
    assert scheduling.moment(SUNDAY, NINE, "Asia/Kolkata") == utc(2026, 3, 29, 3, 30)
    assert scheduling.moment(SUNDAY, time(1, 30), "Europe/London") == utc(2026, 3, 29, 1, 30)


def test_zones_at_the_same_moment_share_a_wave_and_unknown_zones_are_the_organisations():
    plan = scheduling.plan(
        SUNDAY, NINE, ["Europe/Lisbon", "Europe/London", "", "Mars/Olympus", "UTC"]
    )
    assert plan == {
        utc(2026, 3, 29, 8, 0): ["Europe/Lisbon", "Europe/London"],
        utc(2026, 3, 29, 9, 0): ["UTC"],
    }


# --- Scheduling in admin ------------------------------------------------------------------------


@pytest.fixture
def campaign(topics):
    campaign = CampaignFactory(
        subject="Spring issue",
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
    )
    for zone in ["Asia/Tokyo", "Europe/London", "", "America/New_York", "America/New_York"]:
        SubscriberFactory(active=True, topics=[topics["news"]], time_zone=zone)
    return campaign


LOCAL = {"when": "local", "local_date": "2026-03-29", "local_time": "09:00"}
LOCAL_FORM = {**LOCAL, "timezone": "Europe/London"}


def schedule_url(campaign) -> str:
    return reverse("admin:campaign-schedule", args=[campaign.pk])


@time_machine.travel(utc(2026, 3, 27, 12, 0), tick=False)
def test_staff_choose_each_readers_zone_and_the_confirmation_names_the_span(
    client, sender, campaign
):
    page = client.get(schedule_url(campaign)).content.decode()
    assert "At a time of day in each reader&#x27;s own time zone" in page

    asked = client.post(schedule_url(campaign), LOCAL_FORM).content.decode()
    assert (
        "Send to 5 people at 09:00 on Sunday 29 March 2026 in each reader&#x27;s own time zone, "
        "from 00:00 UTC Sun 29 Mar to 13:00 UTC Sun 29 Mar?"
    ) in asked
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    client.post(schedule_url(campaign), {**LOCAL_FORM, "confirmed": "1"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert (campaign.local_date, campaign.local_time) == (SUNDAY, NINE)
    assert campaign.scheduled_at == utc(2026, 3, 29, 0, 0)  # it starts with Tokyo's wave

    # Back to draft and scheduled for one moment: the local time is forgotten.
    client.post(reverse("admin:campaign-action", args=[campaign.pk, "unschedule"]))
    moment = {"at": "2026-04-01T10:00", "timezone": "Europe/London", "confirmed": "1"}
    client.post(schedule_url(campaign), moment)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert (campaign.local_date, campaign.local_time) == (None, None)
    assert campaign.scheduled_at == utc(2026, 4, 1, 9, 0)


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({**LOCAL_FORM, "local_date": ""}, "local_date", "Needed to send in each reader"),
        ({**LOCAL_FORM, "local_time": "25:99"}, "local_time", "Enter a valid time."),
        ({"timezone": "Europe/London"}, "at", "This field is required."),
    ],
)
def test_a_local_time_without_its_date_or_time_schedules_nothing(
    client, sender, campaign, data, field, error
):
    response = client.post(schedule_url(campaign), {**data, "confirmed": "1"})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert response.context["form"].errors[field]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.local_date is None


def test_the_campaign_page_shows_its_waves(
    client, sender, campaign, django_capture_on_commit_callbacks
):
    with time_machine.travel(utc(2026, 3, 28, 12, 0), tick=False):
        scheduling.campaign_schedule(campaign=campaign, on=SUNDAY, local_time=NINE)
    with time_machine.travel(utc(2026, 3, 29, 0, 0), tick=False):
        with django_capture_on_commit_callbacks(execute=False):  # no worker here: rows stay
            transition(campaign, Campaign.Status.SENDING)
            delivery.prepare(campaign.pk)
        page = client.get(reverse("admin:newsletter_campaign_change", args=[campaign.pk]))
        figures = delivery.progress(campaign)
    html = page.content.decode()
    assert "at 09:00 on Sunday 29 March 2026" in html
    assert "<td>Sun 29 Mar 08:00 UTC</td><td>Europe/London</td><td>2</td><td>0</td>" in html
    assert "<td>Sun 29 Mar 13:00 UTC</td><td>America/New_York</td><td>2</td>" in html
    assert [(w["at"], w["zones"], w["queued"]) for w in figures["waves"]] == [
        (utc(2026, 3, 29, 0, 0), ["Asia/Tokyo"], 1),
        (utc(2026, 3, 29, 8, 0), ["Europe/London"], 2),
        (utc(2026, 3, 29, 13, 0), ["America/New_York"], 2),
    ]
    assert Delivery.objects.filter(campaign=campaign, send_after=None).count() == 0


def test_an_editor_cannot_schedule_for_each_readers_zone(client, campaign):
    editor = User.objects.create_user("editor", "editor@example.org", "pw", is_staff=True)
    editor.user_permissions.add(*_perms("view_campaign", "change_campaign"))
    client.force_login(editor)
    response = client.post(schedule_url(campaign), {**LOCAL_FORM, "confirmed": "1"})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and campaign.local_date is None


def _perms(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename__in=codenames)


# --- Digests ------------------------------------------------------------------------------------


def test_a_digest_in_each_readers_zone_runs_when_its_day_first_comes_and_goes_in_waves(topics):
    SubscriberFactory(active=True, topics=[topics["news"]], time_zone="America/New_York")
    with time_machine.travel(utc(2026, 3, 25, 12, 0), tick=False):
        PostFactory(topic=topics["news"])
        schedule = DigestScheduleFactory(
            weekday=DigestSchedule.Weekday.SUNDAY,
            time_of_day=NINE,
            topics=[topics["news"]],
            in_reader_zones=True,
        )
        digests.digest_schedule_refresh(schedule=schedule)
    schedule.refresh_from_db()
    # 09:00 on Sunday comes first in UTC+14: 19:00 UTC on Saturday.
    assert schedule.next_run_at == utc(2026, 3, 28, 19, 0)

    with time_machine.travel(schedule.next_run_at, tick=False):
        assert digests.run_due_schedules() == 1
    digest = Campaign.objects.get(digest_schedule=schedule)
    assert digest.status == Campaign.Status.SCHEDULED
    assert (digest.local_date, digest.local_time) == (SUNDAY, NINE)
    assert digest.scheduled_at == utc(2026, 3, 29, 13, 0)  # its one reader, in New York
    schedule.refresh_from_db()
    assert schedule.next_run_at == utc(2026, 4, 4, 19, 0)


# --- A reader's zone ----------------------------------------------------------------------------


@pytest.fixture
def join(client, topics, django_capture_on_commit_callbacks):
    """POST the join form, process it and confirm it; the subscriber."""

    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/join/", form_data(**overrides))
        assert response.status_code == 200
        signup = SignupRequest.objects.latest("pk")
        signups.confirm(signup_id=signup.pk)
        return Subscriber.objects.get(email=signup.email)

    return post


def test_the_join_form_carries_the_browsers_zone_through_the_queued_signup(join, mailoutbox):
    assert join(email="tokyo@example.org", time_zone="Asia/Tokyo").time_zone == "Asia/Tokyo"
    # No JavaScript, no zone: the organisation's.
    assert join(email="plain@example.org").time_zone == ""


@pytest.mark.parametrize(
    "hostile",
    ["Mars/Olympus", "../../etc/passwd", "Europe/London\x00", "x" * 5000, "<b>", "localtime"],
)
def test_a_hostile_zone_from_the_join_form_is_dropped_not_an_error(join, mailoutbox, hostile):
    assert join(email="odd@example.org", time_zone=hostile).time_zone == ""


@pytest.mark.parametrize(
    "zone",
    ["Mars/Olympus", 5, ["Europe/London"], None],
)
def test_the_api_answers_a_bad_zone_with_a_field_error(client, topics, zone):
    body = {"email": "api@example.org", "consent": True, "time_zone": zone}
    response = client.post("/api/subscribe/", body, content_type="application/json")
    assert response.status_code == 400
    assert "IANA time zone" in response.json()["errors"]["time_zone"][0]
    assert not SignupRequest.objects.exists()


def test_the_api_takes_a_zone(client, topics):
    body = {"email": "api@example.org", "consent": True, "time_zone": "Pacific/Auckland"}
    response = client.post("/api/subscribe/", body, content_type="application/json")
    assert response.status_code == 202
    assert SignupRequest.objects.get().time_zone == "Pacific/Auckland"


@pytest.fixture
def reader(topics):
    return SubscriberFactory(active=True, topics=[topics["news"]], time_zone="Europe/Paris")


def preferences(reader) -> str:
    return f"/preferences/{make_token('preferences', reader.pk)}/"


def test_the_preference_centre_shows_and_changes_the_zone(client, reader):
    page = client.get(preferences(reader)).content.decode()
    assert '<option value="Europe/Paris" selected>Paris</option>' in page

    saved = {"action": "save", "topics": ["news"], "emails": "all"}
    response = client.post(preferences(reader), {**saved, "time_zone": "America/Chicago"})
    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.time_zone == "America/Chicago"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "x" * 5000, "Europe/London\x00"])
def test_an_unknown_zone_in_the_preference_centre_is_400_and_changes_nothing(client, reader, zone):
    saved = {"action": "save", "topics": ["news"], "first_name": "Changed", "time_zone": zone}
    response = client.post(preferences(reader), saved)
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    reader.refresh_from_db()
    assert reader.time_zone == "Europe/Paris" and reader.first_name != "Changed"


def test_the_zone_is_in_the_readers_data_export_and_the_staff_csv(client, reader):
    response = client.post(preferences(reader), {"action": "export"})
    assert json.loads(response.content)["time_zone"] == "Europe/Paris"

    out = io.StringIO()
    call_command("export_subscribers", stdout=out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["time_zone"] == "Europe/Paris"
